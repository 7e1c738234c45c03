"""Bad input to `tradetune serve`: one clear message, the right exit code, nothing left running."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import psutil
import pytest

from tests.integration.serving.conftest import cli
from tradetune.serving import free_port


def _vllm_processes(marker: str) -> list[psutil.Process]:
    found = []
    for proc in psutil.process_iter(["cmdline"]):
        cmdline = " ".join(proc.info["cmdline"] or [])
        if marker in cmdline:
            found.append(proc)
    return found


def test_missing_model_dir_exits_2(tmp_path: Path, vllm_env: dict[str, str]) -> None:
    result = cli(
        "serve", "--model", str(tmp_path / "nope"), "--port", str(free_port()), env=vllm_env, timeout=60
    )
    assert result.returncode == 2
    assert "--model" in result.stderr and "no such directory" in result.stderr
    assert "Traceback" not in result.stderr


def test_port_in_use_exits_2(tiny_model: Path, vllm_env: dict[str, str]) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = cli("serve", "--model", str(tiny_model), "--port", str(port), env=vllm_env, timeout=60)
    assert result.returncode == 2
    assert f"--port {port}: already in use" in result.stderr
    assert not _vllm_processes(str(tiny_model))


@pytest.mark.slow
def test_vllm_start_failure_shows_log_tail_and_leaves_no_process(
    tiny_model: Path, tmp_path: Path, vllm_env: dict[str, str]
) -> None:
    broken = tmp_path / "broken-model"
    broken.mkdir()
    for item in tiny_model.iterdir():
        (broken / item.name).write_bytes(item.read_bytes())
    config = json.loads((broken / "config.json").read_text())
    config["num_attention_heads"] = 3  # hidden 128 is not divisible by 3 heads
    (broken / "config.json").write_text(json.dumps(config))
    result = cli(
        "serve", "--model", str(broken), "--port", str(free_port()), "--quiet", env=vllm_env, timeout=300
    )
    assert result.returncode == 1, result.stderr
    assert "vLLM exited with code" in result.stderr
    assert "Last lines of the vLLM log" in result.stderr
    assert "Traceback" not in result.stderr.split("Last lines of the vLLM log")[0]
    assert not _vllm_processes(str(broken))
