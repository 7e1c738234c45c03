"""`tradetune run` writes live progress into status.yaml while it trains (a real tiny QLoRA run)."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from tradetune.training import build_tiny_model

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[3]


def job_file(root: Path) -> Path:
    body = {
        "apiVersion": "tradetune.dev/v1alpha1",
        "kind": "FineTuneJob",
        "metadata": {"name": "live"},
        "spec": {
            "baseModel": {"path": str(root / "tiny-base")},
            "dataset": {"generate": {"train": 64, "validation": 8, "test": 8, "seed": 3}},
            "method": "qlora",
            "lora": {"r": 8, "alpha": 16, "targetModules": ["q_proj", "v_proj"]},
            "training": {
                "maxSteps": 12,
                "perDeviceBatchSize": 8,
                "gradientAccumulationSteps": 1,
                "maxSeqLength": 128,
                "precision": "fp32",
                "gradientCheckpointing": False,
                "evalSteps": 6,
                "saveSteps": 12,
                "loggingSteps": 2,
            },
            "evaluation": {"compareToBase": False, "samples": 1, "maxItems": 4, "maxNewTokens": 8},
        },
    }
    path = root / "live.yaml"
    path.write_text(yaml.safe_dump(body))
    return path


def test_status_yaml_shows_progress_moving_while_training(tmp_path: Path) -> None:
    build_tiny_model(tmp_path / "tiny-base", seed=0, pretrain_steps=0)
    output = tmp_path / "out"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tradetune",
            "run",
            str(job_file(tmp_path)),
            "--output",
            str(output),
            "--no-serve",
        ],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    seen: list[tuple[Any, ...]] = []
    status_file = output / "status.yaml"
    deadline = time.monotonic() + 600
    while proc.poll() is None and time.monotonic() < deadline:
        try:
            status = yaml.safe_load(status_file.read_text()) or {}
        except (OSError, yaml.YAMLError):
            status = {}
        progress = status.get("progress") or {}
        snapshot = (
            status.get("phase"),
            progress.get("stage"),
            progress.get("step"),
            progress.get("trainLoss"),
        )
        if progress and (not seen or seen[-1] != snapshot):
            seen.append(snapshot)
        time.sleep(0.02)
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0, out[-3000:]

    training_steps = [
        step for phase, stage, step, _ in seen if phase == "Running" and stage == "training" and step
    ]
    assert len(set(training_steps)) >= 2, seen  # the step moved while the run was going
    assert training_steps == sorted(training_steps), seen
    assert ("Evaluating", "evaluating") in {(phase, stage) for phase, stage, _, _ in seen}, seen
    final = yaml.safe_load(status_file.read_text())
    assert final["phase"] == "Succeeded"
    assert final["progress"]["step"] == 12 and final["progress"]["totalSteps"] == 12
    assert final["progress"]["progressPercentage"] == 100
    assert final["progress"]["evalLoss"]["step"] == 12 and final["progress"]["trainLoss"] > 0
