"""`python -m tradetune.operator` as the image runs it: liveness, metrics, bad settings."""

from __future__ import annotations

import os
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
import yaml

from tests.integration.operator.conftest import FTJ, NS, finetunejob, free_port, wait_for
from tests.integration.operator.running_emulator import RunningEmulator

ROOT = Path(__file__).resolve().parents[3]
pytestmark = pytest.mark.timeout(120)


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=2) as resp:
            return resp.status, resp.read().decode()
    except OSError:
        return 0, ""


def test_module_entry_point_serves_liveness_and_metrics(emulator: RunningEmulator, tmp_path: Path) -> None:
    kubeconfig = tmp_path / "kubeconfig.yaml"
    kubeconfig.write_text(yaml.safe_dump(emulator.kubeconfig()))
    metrics, liveness = free_port(), free_port()
    env = {
        **os.environ,
        "KUBECONFIG": str(kubeconfig),
        "TRADETUNE_NAMESPACES": NS,
        "TRADETUNE_METRICS_PORT": str(metrics),
        "TRADETUNE_LIVENESS_PORT": str(liveness),
        "PYTHONPATH": str(ROOT),
    }
    log = tmp_path / "operator.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "tradetune.operator"], cwd=ROOT, env=env, stdout=out, stderr=out
        )
        try:
            status, body = wait_for(
                "/healthz", lambda: (r := _get(f"http://127.0.0.1:{liveness}/healthz"))[0] == 200 and r
            )
            assert "reconciles" in body  # our probe is part of kopf's liveness answer
            emulator.create(FTJ, finetunejob("entry"))
            wait_for("the Job", lambda: emulator.get("batch/v1/jobs", NS, "entry-train"))
            status, text = _get(f"http://127.0.0.1:{metrics}/metrics")
            assert status == 200 and "tradetune_finetunejobs" in text
        finally:
            proc.terminate()
            code = proc.wait(30)
    assert code == 0, log.read_text()[-3000:]


def test_bad_settings_exit_2_with_one_line() -> None:
    env = {**os.environ, "TRADETUNE_WATCH_SERVER_TIMEOUT": "soon", "PYTHONPATH": str(ROOT)}
    result = subprocess.run(
        [sys.executable, "-m", "tradetune.operator"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert result.stderr.strip() == "error: TRADETUNE_WATCH_SERVER_TIMEOUT: expected an integer, got 'soon'"
