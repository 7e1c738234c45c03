"""A hub id as --model: found in the hub cache layout, or a clear message, or left to vLLM."""

from __future__ import annotations

from pathlib import Path

import pytest

from tradetune.errors import InvalidInput
from tradetune.serving import ServeOptions, prepare, vllm_args


def hub_cache(home: Path, repo: str, commit: str = "0123abcd", ref: str = "main") -> Path:
    """The layout huggingface_hub writes: models--org--name/{refs/<ref>, snapshots/<commit>/}."""
    root = home / "hub" / ("models--" + repo.replace("/", "--"))
    snapshot = root / "snapshots" / commit
    snapshot.mkdir(parents=True)
    (snapshot / "config.json").write_text("{}")
    (root / "refs").mkdir()
    (root / "refs" / ref).write_text(commit)
    return snapshot


def test_a_cached_hub_id_resolves_to_its_snapshot_and_keeps_its_name(tmp_path: Path) -> None:
    snapshot = hub_cache(tmp_path, "acme/tiny-llama")
    env = {"HF_HOME": str(tmp_path)}
    ready = prepare(ServeOptions(model="acme/tiny-llama", revision="main"), check_port=False, env=env)
    assert ready.model == str(snapshot)
    assert ready.name == "tiny-llama"
    assert "--revision" not in vllm_args(ready)
    by_commit = prepare(ServeOptions(model="acme/tiny-llama", revision="0123abcd"), check_port=False, env=env)
    assert by_commit.model == str(snapshot)


def test_a_missing_hub_id_offline_names_the_flag_and_the_cache(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput) as info:
        prepare(ServeOptions(model="acme/absent"), check_port=False, env={"HF_HOME": str(tmp_path)})
    message = str(info.value)
    assert message.startswith("--model acme/absent")
    assert str(tmp_path / "hub") in message and "HF_HUB_OFFLINE=0" in message


def test_a_missing_hub_id_with_downloads_on_goes_to_vllm(tmp_path: Path) -> None:
    env = {"HF_HOME": str(tmp_path), "HF_HUB_OFFLINE": "0"}
    ready = prepare(ServeOptions(model="acme/absent", revision="v2"), check_port=False, env=env)
    args = vllm_args(ready)
    assert args[args.index("--model") + 1] == "acme/absent"
    assert args[args.index("--revision") + 1] == "v2"


def test_bad_numbers_are_clear_failures(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text("{}")
    for options, flag in (
        (ServeOptions(model=str(tmp_path), max_body_bytes=0), "--max-body-bytes"),
        (ServeOptions(model=str(tmp_path), ready_timeout=float("nan")), "--ready-timeout"),
        (ServeOptions(model=str(tmp_path), ready_timeout=-1), "--ready-timeout"),
    ):
        with pytest.raises(InvalidInput, match=flag):
            prepare(options, check_port=False)
