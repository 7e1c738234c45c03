"""The operator image: pinned slim base, only the operator extra, non-root, our entry point."""

from __future__ import annotations

import json
import re
from pathlib import Path

DOCKERFILE = Path(__file__).resolve().parents[3] / "operator" / "Dockerfile"


def instructions() -> list[tuple[str, str]]:
    text = DOCKERFILE.read_text().replace("\\\n", " ")
    out = []
    for raw in text.splitlines():
        line = raw.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


def test_base_images_are_pinned_slim_python() -> None:
    bases = [rest.split()[0] for word, rest in instructions() if word == "FROM"]
    assert bases, "no FROM"
    for base in bases:
        assert re.fullmatch(r"python:3\.1[12]\.\d+-slim(-\w+)?", base), base


def test_installs_the_operator_extra_only() -> None:
    runs = " ".join(rest for word, rest in instructions() if word == "RUN")
    assert '".[operator]"' in runs
    assert "trainer" not in runs and "server" not in runs


def test_runs_as_a_numeric_non_root_user() -> None:
    users = [rest for word, rest in instructions() if word == "USER"]
    assert users, "no USER"
    uid, _, gid = users[-1].partition(":")
    assert uid.isdigit() and int(uid) != 0
    assert not gid or (gid.isdigit() and int(gid) != 0)


def test_entrypoint_is_the_package_module() -> None:
    entry = [rest for word, rest in instructions() if word in ("ENTRYPOINT", "CMD")]
    assert json.loads(entry[-1]) == ["python", "-m", "tradetune.operator"]
    exposed = {p for word, rest in instructions() if word == "EXPOSE" for p in rest.split()}
    assert {"8080", "8081"} <= exposed
