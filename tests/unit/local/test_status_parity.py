"""One rule for TrainResult -> FineTuneJob status: the operator's `decide` and `tradetune run` agree.

Every TrainResult fixture goes through the operator (a trainer pod that ended with it as its
termination message, reconciled until settled) and through the local path
(`finetunejob_status`, what `tradetune run` writes): same phase, same condition types with the
same status and reason, same metrics, base metrics and gate.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.unit.operator.fixtures import COMPLETE, SETTINGS, ftj_body, job, pod
from tradetune.api import Artifacts, EvalMetrics, FineTuneJobStatus, TrainResult, parse_finetunejob
from tradetune.errors import InvalidInput
from tradetune.jobstatus import Promotion, finetunejob_status
from tradetune.local._runner import _failed_result
from tradetune.operator.reconcile_finetunejob import Observed, decide

GOOD = EvalMetrics(perplexity=8.0, eval_loss=2.0, task_accuracy=0.8, pine_parse_rate=0.9)
BASE = EvalMetrics(perplexity=30.0, eval_loss=3.0, task_accuracy=0.1, pine_parse_rate=0.2)
ARTIFACTS = Artifacts(adapter="/output/adapter", merged="/output/merged")


def succeeded(metrics: EvalMetrics, base: EvalMetrics | None = BASE) -> TrainResult:
    return TrainResult(
        outcome="Succeeded",
        reason="Completed",
        message="trained 30 steps (1 epoch)",
        metrics=metrics,
        base_metrics=base,
        artifacts=ARTIFACTS,
        timings={"train": 12.5, "evaluate": 3.0, "total": 16.0},
    )


def failed(reason: str, message: str) -> TrainResult:
    return TrainResult(outcome="Failed", reason=reason, message=message)


# (id, what the trainer pod's termination message holds, extra spec)
FIXTURES: list[tuple[str, str, dict[str, Any]]] = [
    ("succeeded", succeeded(GOOD).to_termination_message(), {}),
    (
        "succeeded-promoted",
        succeeded(GOOD).to_termination_message(),
        {"promote": {"modelServe": "llm", "create": True, "auth": "none"}},
    ),
    (
        "gate-failed-threshold",
        succeeded(GOOD.model_copy(update={"perplexity": 25.0})).to_termination_message(),
        {},
    ),
    (
        "gate-failed-vs-base",
        succeeded(GOOD.model_copy(update={"task_accuracy": 0.05})).to_termination_message(),
        {"promote": {"modelServe": "llm", "create": True, "auth": "none"}},
    ),
    ("gate-failed-not-measured", succeeded(EvalMetrics(perplexity=5.0)).to_termination_message(), {}),
    ("out-of-memory", failed("OutOfMemory", "CUDA out of memory at batch 1").to_termination_message(), {}),
    ("diverged", failed("Diverged", "loss is NaN at step 12").to_termination_message(), {}),
    ("invalid-dataset", failed("InvalidInput", "train.jsonl line 3: not JSON").to_termination_message(), {}),
    ("model-not-found", failed("ModelNotFound", "no such model").to_termination_message(), {}),
    ("bad-result", "{not json", {}),
    ("bad-result-shape", '{"outcome": "Maybe", "reason": "Completed"}', {}),
]
EVALUATION = {"thresholds": {"perplexity": {"max": 20}, "taskAccuracy": {"min": 0.5}}, "compareToBase": True}


def operator_status(message: str, spec: dict[str, Any]) -> FineTuneJobStatus:
    """Reconcile a FineTuneJob whose only trainer pod ended with `message` until nothing changes."""
    if message.startswith('{"outcome":"Failed"'):  # the trainer exits 1 after writing its result
        pods = [pod("p1", "Failed", terminated={"exitCode": 1, "message": message})]
        gave_up = [{"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded"}]
        observed = Observed(job=job(failed=1, conditions=gave_up), pods=pods)
    else:
        pods = [pod("p1", "Succeeded", terminated={"exitCode": 0, "message": message})]
        observed = Observed(job=job(succeeded=1, conditions=COMPLETE), pods=pods)
    body = ftj_body(backoffLimit=0, evaluation=EVALUATION, **spec)
    for _ in range(6):
        decision = decide(body, observed, SETTINGS)
        if decision.status is None:
            break
        body = {**body, "status": decision.status}
        if decision.model_serve_create is not None:  # the ModelServe now exists, pointing here
            observed = Observed(job=observed.job, pods=observed.pods, model_serve=decision.model_serve_create)
    return FineTuneJobStatus.model_validate(body["status"])


def local_status(
    message: str, spec: dict[str, Any], promotion: Promotion | None, tmp: Path
) -> FineTuneJobStatus:
    """What `tradetune run` makes of the same result (a bad one is an InvalidInput it reports)."""
    body = ftj_body(backoffLimit=0, evaluation=EVALUATION, **spec)["spec"]
    job_spec = parse_finetunejob(body).spec
    try:
        result = TrainResult.from_termination_message(message)
    except InvalidInput as exc:
        result = _failed_result(tmp, exc)
    return finetunejob_status(result, job_spec, promotion=promotion)


def shape(status: FineTuneJobStatus) -> dict[str, Any]:
    return {
        "phase": status.phase,
        "conditions": sorted((c.type, c.status, c.reason) for c in status.conditions),
        "metrics": status.metrics,
        "baseMetrics": status.base_metrics,
        "gate": status.gate,
        "timings": status.timings,
    }


@pytest.mark.parametrize(("message", "spec"), [(f[1], f[2]) for f in FIXTURES], ids=[f[0] for f in FIXTURES])
def test_operator_and_local_run_give_the_same_status(
    message: str, spec: dict[str, Any], tmp_path: Path
) -> None:
    on_cluster = operator_status(message, spec)
    promoted = next((c for c in on_cluster.conditions if c.type == "Promoted" and c.status == "True"), None)
    # The promotion itself is each driver's own (a ModelServe vs a local vLLM): pass the operator's on.
    promotion = Promotion(True, promoted.reason, promoted.message) if promoted is not None else None
    here = local_status(message, spec, promotion, tmp_path)
    assert shape(on_cluster) == shape(here)
    assert on_cluster.phase in ("Succeeded", "Failed")


def test_the_fixtures_cover_every_kind_of_outcome(tmp_path: Path) -> None:
    reasons = {
        next(c.reason for c in local_status(f[1], f[2], None, tmp_path).conditions if c.type == "Ready")
        for f in FIXTURES
    }
    assert {"Succeeded", "GateFailed", "OutOfMemory", "Diverged", "BadTrainerResult"} <= reasons
