"""TrainResult + gate -> FineTuneJobStatus: one pure mapping for `tradetune run` and the operator."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml

from tradetune.api import (
    Artifacts,
    EvalMetrics,
    FineTuneJobSpec,
    FineTuneJobStatus,
    TrainResult,
    get_condition,
    parse_finetunejob,
)
from tradetune.jobstatus import Promotion, finetunejob_status
from tradetune.local import metric_rows, read_status, write_status

NOW = "2026-01-02T03:04:05Z"


def spec(promote: bool = True, ppl_max: float = 50.0) -> FineTuneJobSpec:
    body: dict[str, object] = {
        "baseModel": {"path": "runs/tiny-base"},
        "dataset": {"generate": {"train": 10, "validation": 2, "test": 2}},
        "evaluation": {
            "thresholds": {"perplexity": {"max": ppl_max}, "taskAccuracy": {"min": 0.1}},
            "compareToBase": True,
        },
    }
    if promote:
        body["promote"] = {"modelServe": "tiny-local", "create": True, "auth": "none"}
    return parse_finetunejob(body, source="job.yaml").spec


def result(ppl: float = 10.0, base_ppl: float = 30.0, acc: float = 0.4) -> TrainResult:
    return TrainResult(
        outcome="Succeeded",
        reason="Completed",
        metrics=EvalMetrics(perplexity=ppl, task_accuracy=acc, eval_loss=2.0, train_loss=1.9),
        base_metrics=EvalMetrics(perplexity=base_ppl, task_accuracy=0.05, eval_loss=3.0),
        artifacts=Artifacts(adapter="adapter", merged="merged", metrics_file="metrics.json"),
        attempts=1,
    )


def conds(status: FineTuneJobStatus) -> dict[str, tuple[str, str]]:
    return {c.type: (c.status, c.reason) for c in status.conditions}


def test_gate_passed_and_promotion_pending_then_served() -> None:
    pending = finetunejob_status(result(), spec(), generation=3, start_time=NOW, now=NOW)
    assert pending.phase == "Succeeded"
    assert pending.observed_generation == 3
    assert pending.gate is not None and pending.gate.passed
    assert conds(pending) == {
        "Trained": ("True", "TrainingSucceeded"),
        "Evaluated": ("True", "MetricsRecorded"),
        "GatePassed": ("True", "ThresholdsMet"),
        "Failed": ("False", "GatePassed"),
        "Succeeded": ("True", "GatePassed"),
        "Promoted": ("Unknown", "Promoting"),
        "Ready": ("True", "Succeeded"),
    }
    assert all(c.observed_generation == 3 for c in pending.conditions)
    served = finetunejob_status(
        result(),
        spec(),
        generation=3,
        promotion=Promotion(True, "ServedLocally", "served at http://127.0.0.1:8000/v1"),
        previous=pending,
        now="2026-01-02T03:09:00Z",
    )
    promoted = get_condition(served.conditions, "Promoted")
    assert promoted is not None and (promoted.status, promoted.reason) == ("True", "ServedLocally")
    assert promoted.last_transition_time == "2026-01-02T03:09:00Z"
    # Unchanged conditions keep their transition time; the start time carries over.
    trained = get_condition(served.conditions, "Trained")
    assert trained is not None and trained.last_transition_time == NOW
    assert served.start_time == NOW
    assert served.artifacts is not None and served.artifacts.merged == "merged"


def test_gate_failure_fails_the_job_and_says_why() -> None:
    status = finetunejob_status(result(ppl=80.0, base_ppl=30.0), spec(), now=NOW)
    assert status.phase == "Failed"
    assert conds(status)["GatePassed"] == ("False", "ThresholdsNotMet")
    assert conds(status)["Promoted"] == ("False", "GateFailed")
    assert conds(status)["Failed"] == ("True", "GateFailed")
    assert conds(status)["Ready"] == ("False", "GateFailed")
    gate_cond = get_condition(status.conditions, "GatePassed")
    assert gate_cond is not None and "perplexity 80 > max 50" in gate_cond.message
    assert "not better than base" in gate_cond.message
    rows = {row[0]: row for row in metric_rows(status)}
    assert rows["perplexity"][1:4] == ("30", "80", "<= 50, vs base")
    assert rows["perplexity"][4] == "FAIL: 80 > max 50; 80 >= base 30 (not better than base)"
    assert rows["taskAccuracy"][4] == "pass"
    assert rows["trainLoss"] == ("trainLoss", "-", "1.9", "", "-")


def test_trainer_failure_maps_to_failed_with_its_reason() -> None:
    failed = TrainResult(outcome="Failed", reason="OutOfMemory", message="no memory left", attempts=3)
    status = finetunejob_status(failed, spec(), now=NOW)
    assert status.phase == "Failed"
    assert status.attempts == 3
    assert status.gate is None and status.metrics is None
    assert conds(status) == {
        "Trained": ("False", "OutOfMemory"),
        "Failed": ("True", "OutOfMemory"),
        "Succeeded": ("False", "OutOfMemory"),
        "Ready": ("False", "OutOfMemory"),
    }


def test_no_promote_means_no_promoted_condition() -> None:
    status = finetunejob_status(result(), spec(promote=False), now=NOW)
    assert status.phase == "Succeeded"
    assert "Promoted" not in conds(status)


@pytest.mark.parametrize("promote", [True, False])
def test_status_file_round_trips_in_the_status_shape(tmp_path: Path, promote: bool) -> None:
    status = finetunejob_status(result(), spec(promote=promote), now=NOW)
    path = write_status(tmp_path, status)
    data = yaml.safe_load(path.read_text())
    assert set(data) <= set(FineTuneJobStatus.model_json_schema(by_alias=True)["properties"])
    assert {
        "phase",
        "conditions",
        "metrics",
        "baseMetrics",
        "gate",
        "artifacts",
        "observedGeneration",
    } <= set(data)
    assert data["conditions"][0]["lastTransitionTime"] == NOW
    assert read_status(tmp_path) == status
    assert [p.name for p in tmp_path.iterdir()] == ["status.yaml"]  # no temp file left behind
    umask = os.umask(0)
    os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask  # not the temporary file's 0600
    (tmp_path / "status.yaml").write_text("phase: [broken")
    assert read_status(tmp_path) is None
