"""The vLLM command line and the server pod's args are built from one options object."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tradetune.errors import InvalidInput
from tradetune.serving import (
    GENERATE_MIDDLEWARE,
    ServeOptions,
    check_model_dir,
    check_port_free,
    default_served_name,
    prepare,
    tradetune_serve_args,
    vllm_args,
    vllm_command,
    vllm_env,
)
from tradetune.serving._process import last_error_line


def test_merged_mode_serves_one_name_and_loads_generate_middleware() -> None:
    args = vllm_args(ServeOptions(model="/out/job-a/merged", port=8123))
    assert args[:6] == ["--model", "/out/job-a/merged", "--host", "127.0.0.1", "--port", "8123"]
    assert args[args.index("--served-model-name") + 1] == "job-a"
    assert "--enable-lora" not in args
    assert args[args.index("--middleware") + 1] == GENERATE_MIDDLEWARE


def test_adapter_mode_serves_adapter_under_the_name_and_base_beside_it() -> None:
    opts = ServeOptions(model="/m/base", adapter="/out/adapter", served_model_name="pine", lora_rank=24)
    args = vllm_args(opts)
    assert args[args.index("--served-model-name") + 1] == "pine-base"
    assert "--enable-lora" in args
    assert args[args.index("--lora-modules") + 1] == "pine=/out/adapter"
    assert args[args.index("--max-lora-rank") + 1] == "32"  # vLLM's allowed ranks: next bucket up


def test_engine_flags_and_extra_args_pass_through_in_order() -> None:
    opts = ServeOptions(
        model="m",
        max_model_len=1024,
        gpu_memory_utilization=0.85,
        tensor_parallel_size=2,
        dtype="bfloat16",
        extra_args=("--enforce-eager",),
    )
    args = vllm_args(opts)
    assert args[args.index("--max-model-len") + 1] == "1024"
    assert args[args.index("--gpu-memory-utilization") + 1] == "0.85"
    assert args[args.index("--tensor-parallel-size") + 1] == "2"
    assert args[args.index("--dtype") + 1] == "bfloat16"
    assert args[-1] == "--enforce-eager"
    assert vllm_command(opts)[:3] == [sys.executable, "-m", "vllm.entrypoints.openai.api_server"]


def test_pod_args_follow_the_server_pod_contract() -> None:
    opts = ServeOptions(
        model="/models/merged",
        adapter=None,
        served_model_name="pine",
        host="0.0.0.0",
        port=8000,
        max_model_len=4096,
        gpu_memory_utilization=0.9,
        tensor_parallel_size=1,
        dtype="auto",
        extra_args=("--enforce-eager", "--seed", "1"),
    )
    assert tradetune_serve_args(opts) == [
        "--model", "/models/merged",
        "--served-model-name", "pine",
        "--host", "0.0.0.0",
        "--port", "8000",
        "--max-model-len", "4096",
        "--gpu-memory-utilization", "0.9",
        "--tensor-parallel-size", "1",
        "--dtype", "auto",
        "--", "--enforce-eager", "--seed", "1",
    ]  # fmt: skip
    with_adapter = tradetune_serve_args(ServeOptions(model="/b", adapter="/a", served_model_name="x"))
    assert with_adapter[:4] == ["--model", "/b", "--adapter", "/a"]


def test_pod_args_round_trip_through_the_cli() -> None:
    """What the operator puts in the pod is accepted by `tradetune serve` itself."""
    import typer.main

    from tradetune.cli import app

    opts = ServeOptions(
        model="/m", served_model_name="x", host="0.0.0.0", dtype="auto", extra_args=("--seed", "3")
    )
    command = typer.main.get_command(app)
    ctx = command.make_context("tradetune", ["serve", *tradetune_serve_args(opts)], resilient_parsing=True)
    sub = command.get_command(ctx, "serve")  # type: ignore[attr-defined]
    sub_ctx = sub.make_context("serve", tradetune_serve_args(opts))
    assert sub_ctx.params["model"] == Path("/m")
    assert sub_ctx.params["served_model_name"] == "x"
    assert sub_ctx.params["host"] == "0.0.0.0"
    assert sub_ctx.args == ["--seed", "3"]


@pytest.mark.parametrize(
    ("model", "name"),
    [("/runs/demo/merged", "demo"), ("/models/tiny-base", "tiny-base"), ("merged", "merged"), ("/a/b/", "b")],
)
def test_default_served_name(model: str, name: str) -> None:
    assert default_served_name(model) == name


def test_env_defaults_do_not_override_the_user(monkeypatch: pytest.MonkeyPatch) -> None:
    env = vllm_env({"VLLM_CPU_KVCACHE_SPACE": "4", "PYTHONPATH": "/x"})
    assert env["VLLM_CPU_KVCACHE_SPACE"] == "4"
    assert env["HF_HUB_OFFLINE"] == "1"
    first, rest = env["PYTHONPATH"].split(":", 1)
    assert (Path(first) / "tradetune" / "serving").is_dir()
    assert rest == "/x"


def test_checks_name_the_flag(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match=r"--model .*no such directory"):
        check_model_dir(tmp_path / "missing")
    with pytest.raises(InvalidInput, match=r"no config\.json"):
        check_model_dir(tmp_path)
    (tmp_path / "config.json").write_text("{}")
    check_model_dir(tmp_path)
    with pytest.raises(InvalidInput, match=r"--adapter .*no such directory"):
        prepare(ServeOptions(model=str(tmp_path), adapter=str(tmp_path / "a")), check_port=False)
    adapter = tmp_path / "adapter"
    adapter.mkdir()
    (adapter / "adapter_config.json").write_text('{"r": 8}')
    ready = prepare(ServeOptions(model=str(tmp_path), adapter=str(adapter)), check_port=False)
    assert ready.lora_rank == 8
    with pytest.raises(InvalidInput, match="--port 0"):
        check_port_free("127.0.0.1", 0)


def test_last_error_line_finds_the_cause() -> None:
    lines = [
        "INFO starting",
        "Traceback (most recent call last):",
        '  File "x.py", line 1',
        "(EngineCore pid=12) RuntimeError: Engine core initialization failed. See root cause above.",
        "INFO bye",
    ]
    assert last_error_line(lines) == lines[3]
    assert last_error_line(["INFO fine"]) is None
