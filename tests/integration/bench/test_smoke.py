"""Every bench runs in its smoke mode (tiny sizes): a refactor that breaks a bench fails CI.

The numbers a smoke run prints mean nothing; the full runs stay outside CI (`make bench`).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
BENCHES = sorted(p.name for p in (REPO / "bench").glob("*.py") if not p.name.startswith("_"))

pytestmark = pytest.mark.slow


def test_every_bench_is_listed_here() -> None:
    assert BENCHES == [
        "datagen_throughput.py",
        "eval_throughput.py",
        "operator_scale.py",
        "pine_check.py",
        "serve_throughput.py",
        "train_throughput.py",
    ]


@pytest.mark.parametrize("bench", BENCHES)
def test_bench_smoke(bench: str, vllm_env: dict[str, str]) -> None:
    proc = subprocess.run(
        [sys.executable, f"bench/{bench}", "--smoke"],
        cwd=REPO,
        env=vllm_env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.startswith("cpu: "), proc.stdout[:500]  # the machine the numbers are for
