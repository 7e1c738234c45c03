"""Shared helpers of the chart tests: the real helm, promtool and kubernetes-validate binaries.

A missing tool is a failure with the command that installs it, never a skip: the chart is only
tested when these run.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[3]
CHART = ROOT / "charts" / "tradetune"
CI_VALUES = sorted((CHART / "ci").glob("*-values.yaml"))
BIN = Path(sys.executable).parent


def find_tool(name: str) -> str:
    """The tool next to this Python (the venv's bin) or on PATH; fail with the fix otherwise."""
    for candidate in (BIN / name, shutil.which(name)):
        if candidate and os.access(candidate, os.X_OK):
            return str(candidate)
    pytest.fail(f"{name} is not installed: `make setup` installs it", pytrace=False)


@dataclass
class Helm:
    """The helm binary with its cache/config/data homes in a temp dir (nothing of the user's)."""

    binary: str
    env: dict[str, str]

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(
            [self.binary, *args], env=self.env, capture_output=True, text=True, timeout=60, check=False
        )
        if check and proc.returncode != 0:
            pytest.fail(f"helm {' '.join(args)} failed ({proc.returncode}):\n{proc.stderr}", pytrace=False)
        return proc

    def template(self, *args: str, release: str = "tt", namespace: str = "tradetune-system") -> str:
        return self.run("template", release, str(CHART), "--namespace", namespace, *args).stdout

    def render(self, *args: str, **kw: Any) -> list[dict[str, Any]]:
        """`helm template` parsed into its objects (empty documents dropped)."""
        return [doc for doc in yaml.safe_load_all(self.template(*args, **kw)) if doc]


def by_kind(objs: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [o for o in objs if o.get("kind") == kind]


def one(objs: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    found = by_kind(objs, kind)
    assert len(found) == 1, f"expected one {kind}, got {len(found)}"
    return found[0]


# The values sets every render test runs: the chart's defaults, each ci/*-values.yaml (the
# chart-testing convention), and namespace-scoped with peering (the one combination whose
# objects differ from both parents).
VALUES_SETS: dict[str, list[str]] = {
    "defaults": [],
    **{p.name.removesuffix("-values.yaml"): ["-f", str(p)] for p in CI_VALUES},
    "namespace-scoped+multi-replica": [
        "-f",
        str(CHART / "ci" / "namespace-scoped-values.yaml"),
        "-f",
        str(CHART / "ci" / "multi-replica-values.yaml"),
    ],
}


def load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))
