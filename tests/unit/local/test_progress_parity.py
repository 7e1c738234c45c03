"""`tradetune run` and the operator show the same status.progress for the same trainer record."""

from __future__ import annotations

from pathlib import Path

import yaml

from tradetune.api import FineTuneJobStatus, ProgressRecord
from tradetune.local._progress import StatusFileProgress
from tradetune.operator.progress_decision import decide_progress

TS = 1_767_225_600.0


def rec(stage: str = "training", **fields: object) -> ProgressRecord:
    return ProgressRecord.model_validate({"ts": TS, "stage": stage, **fields})


class Clock:
    now = 0.0

    def __call__(self) -> float:
        return self.now


def status_yaml(output: Path) -> dict[str, object]:
    data: dict[str, object] = yaml.safe_load((output / "status.yaml").read_text())
    return data


def test_local_status_file_and_operator_patch_agree(tmp_path: Path) -> None:
    running = FineTuneJobStatus(phase="Running", start_time="2026-01-01T00:00:00Z")
    writer = StatusFileProgress(tmp_path, running, min_interval=0)
    for record in (
        rec(step=10, total_steps=40, steps_per_second=2.0, train_loss=2.5, tokens_per_second=6400.0),
        rec(step=20, total_steps=40, steps_per_second=2.0, eval_loss=1.8, eval_step=20, best_eval_loss=1.8),
        rec("evaluating", step=40, total_steps=40, detail="generation (tuned)", stage_done=3, stage_total=8),
    ):
        writer(record)
        local = status_yaml(tmp_path)
        decision = decide_progress({"phase": "Running"}, record)
        assert decision.patch is not None
        assert local["progress"] == decision.patch["status"]["progress"]
        assert local["phase"] == decision.patch["status"].get("phase", "Running")
    assert status_yaml(tmp_path)["phase"] == "Evaluating"
    assert status_yaml(tmp_path)["startTime"] == "2026-01-01T00:00:00Z"


def test_local_writes_are_throttled_except_at_milestones(tmp_path: Path) -> None:
    clock = Clock()
    writer = StatusFileProgress(tmp_path, FineTuneJobStatus(phase="Running"), min_interval=1.0, clock=clock)
    writer(rec(step=1))  # first record: written
    clock.now = 0.5
    writer(rec(step=2))  # too soon: kept, not written
    assert writer.writes == 1 and status_yaml(tmp_path)["progress"]["step"] == 1  # type: ignore[index]
    writer(rec(step=3, eval_loss=2.0, eval_step=3))  # a new evaluation: written at once
    clock.now = 0.7
    writer(rec("evaluating", step=3))  # a stage change: written at once
    clock.now = 0.9
    writer(rec("evaluating", step=3, stage_done=1))
    assert writer.writes == 3
    clock.now = 2.0
    writer(rec("evaluating", step=3, stage_done=2))
    assert writer.writes == 4
    final = writer.finish(FineTuneJobStatus(phase="Succeeded"))
    assert final.phase == "Succeeded" and final.progress is not None and final.progress.stage == "evaluating"
