"""The progress loop's decision: throttle, which pod to read, when to patch, which events."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from tests.unit.operator.fixtures import SETTINGS, ftj_body, job, pod
from tradetune.api import ProgressRecord, progress_status
from tradetune.operator.progress_decision import (
    JobRef,
    PodRef,
    ProgressSettings,
    decide_progress,
    due,
    trainer_pod,
)
from tradetune.operator.reconcile_finetunejob import Observed, decide

TS = 1_767_225_600.0


def rec(**fields: Any) -> ProgressRecord:
    return ProgressRecord.model_validate({"ts": TS, "stage": "training", **fields})


def running(progress: ProgressRecord | None = None, phase: str = "Running") -> dict[str, Any]:
    status: dict[str, Any] = {"phase": phase}
    if progress is not None:
        status["progress"] = progress_status(progress).model_dump(
            by_alias=True, exclude_none=True, mode="json"
        )
    return status


def test_throttle_once_per_interval_per_job() -> None:
    settings = ProgressSettings(interval=15.0)
    assert due(None, 100.0, settings)
    assert not due(100.0, 114.9, settings)
    assert due(100.0, 115.0, settings)
    assert ProgressSettings(interval=15.0).since_seconds == 60
    assert ProgressSettings(interval=60.0).since_seconds == 240


def test_first_record_patches_progress_and_posts_a_stage_event() -> None:
    d = decide_progress(running(), rec(step=10, total_steps=40))
    assert d.patch is not None and set(d.patch["status"]) == {"progress"}
    assert d.patch["status"]["progress"]["step"] == 10
    assert [(e.reason, e.message) for e in d.events] == [("StageChanged", "stage training: step 10 of 40")]
    assert d.advanced


def test_an_unchanged_record_sends_nothing() -> None:
    r = rec(step=10, total_steps=40, train_loss=2.0)
    d = decide_progress(running(r), r)
    assert d.patch is None and d.events == [] and not d.advanced
    assert d.progress is not None  # the gauges still get the values


def test_a_new_step_patches_without_an_event() -> None:
    d = decide_progress(running(rec(step=10, total_steps=40)), rec(step=20, total_steps=40))
    assert d.patch is not None and d.events == [] and d.advanced


def test_a_new_evaluation_posts_one_event_and_says_whether_it_is_the_best() -> None:
    before = rec(step=10, eval_loss=1.9, eval_step=10, best_eval_loss=1.9)
    better = rec(step=20, eval_loss=1.82, eval_step=20, best_eval_loss=1.82)
    d = decide_progress(running(before), better)
    assert [(e.reason, e.message) for e in d.events] == [
        ("EvalLoss", "eval loss 1.82 at step 20, best so far")
    ]
    worse = rec(step=30, eval_loss=2.05, eval_step=30, best_eval_loss=1.82)
    d = decide_progress(running(better), worse)
    assert [e.message for e in d.events] == ["eval loss 2.05 at step 30 (best 1.82)"]
    # The same evaluation on a later line: no second event.
    d = decide_progress(running(worse), rec(step=31, eval_loss=2.05, eval_step=30, best_eval_loss=1.82))
    assert d.patch is not None and d.events == []


def test_evaluating_stage_moves_the_phase_and_back() -> None:
    d = decide_progress(running(rec(step=40)), rec(stage="evaluating", step=40, detail="perplexity (tuned)"))
    assert d.patch is not None and d.patch["status"]["phase"] == "Evaluating"
    assert [e.message for e in d.events] == ["stage evaluating"]
    # A trainer that goes back to training (not ours today, but the phase follows the stage).
    evaluating = running(rec(stage="evaluating", step=40), phase="Evaluating")
    d = decide_progress(evaluating, rec(step=41))
    assert d.patch is not None and d.patch["status"]["phase"] == "Running"


def test_missing_record_or_finished_job_changes_nothing() -> None:
    assert decide_progress(running(rec(step=1)), None).patch is None
    for status in (
        {"phase": "Succeeded"},
        {"phase": "Pending"},
        {"phase": "Evaluating", "metrics": {"perplexity": 3}},
    ):
        d = decide_progress(status, rec(step=5))
        assert d.patch is None and d.events == []


def test_unreadable_old_progress_is_replaced() -> None:
    d = decide_progress({"phase": "Running", "progress": {"step": "many"}}, rec(step=5))
    assert d.patch is not None and d.patch["status"]["progress"]["step"] == 5


def test_only_the_running_pod_of_the_owned_job_is_read() -> None:
    job = JobRef("live-train", "job-uid", ("ftj-uid",))
    stranger = JobRef("live-train", "other-job", ("someone-else",))
    pods = [
        PodRef("live-train-old", "job-uid", "Failed", False, "2026-01-01T00:00:00Z"),
        PodRef("live-train-new", "job-uid", "Running", True, "2026-01-01T00:05:00Z"),
        PodRef("impostor", "other-job", "Running", True, "2026-01-01T00:06:00Z"),
        PodRef("starting", "job-uid", "Running", False, "2026-01-01T00:07:00Z"),
    ]
    found = trainer_pod("live", "ftj-uid", [stranger, job], pods)
    assert found is not None and found.name == "live-train-new"
    assert trainer_pod("live", "ftj-uid", [stranger], pods) is None
    assert trainer_pod("other", "ftj-uid", [job], pods) is None
    assert trainer_pod("live", "ftj-uid", [job], pods[:1]) is None


def test_the_reconciler_keeps_evaluating_and_the_progress_while_the_pod_runs() -> None:
    """A reconcile (pod event, resync) must not undo what the progress loop set."""
    block = running(rec(stage="evaluating", step=40, total_steps=40), phase="Evaluating")
    observed = Observed(job=job(active=1), pods=[pod("p1", "Running", running=True)])
    now = datetime(2026, 1, 1, 1, 0, tzinfo=UTC)
    d = decide(ftj_body(status={**block, "attempts": 1}), observed, SETTINGS, now)
    status = d.status if d.status is not None else block
    assert status["phase"] == "Evaluating"
    assert status["progress"] == block["progress"]
    d = decide(ftj_body(status={"phase": "Evaluating", "attempts": 1}), observed, SETTINGS, now)
    assert d.status is not None and d.status["phase"] == "Running"  # no progress says so: Running
