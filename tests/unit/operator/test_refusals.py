"""Refused creates and unschedulable pods: failures in status, retried only when the spec changes."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.unit.operator.fixtures import SETTINGS, ftj_body, job, pod
from tradetune.operator import kube, refusals
from tradetune.operator.reconcile_finetunejob import Observed, decide
from tradetune.operator.trainer_pod import view_pod

NOW = datetime(2026, 1, 1, 2, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("status", "reason"),
    [(400, "InvalidSpec"), (422, "InvalidSpec"), (403, "Forbidden"), (413, "InvalidSpec")],
)
def test_refusals_for_good(status: int, reason: str) -> None:
    refused = refusals.refusal("Job", "pine-train", status, "quota exceeded ")
    assert refused is not None and refused.reason == reason
    assert refused.message.startswith("the API server refused to create Job pine-train: quota exceeded (")


@pytest.mark.parametrize("status", [404, 408, 409, 429, 500, 503])
def test_retryable_answers_are_no_refusal(status: int) -> None:
    assert refusals.refusal("Job", "pine-train", status, "x") is None


def test_a_refused_create_fails_and_is_not_tried_again_at_the_same_generation() -> None:
    refused = refusals.refusal("Job", "pine-train", 422, "spec.template.spec.tolerations[0].operator: bad")
    d = decide(ftj_body(), Observed(refused=refused), SETTINGS, NOW)
    assert d.status is not None and d.status["phase"] == "Failed" and d.create == []
    failed = {c["type"]: c for c in d.status["conditions"]}["Failed"]
    assert failed["reason"] == "InvalidSpec" and "tolerations[0].operator" in failed["message"]
    assert ("Warning", "InvalidSpec") in [(e.type, e.reason) for e in d.events]

    again = decide(ftj_body(status=d.status), Observed(), SETTINGS, NOW)
    assert again.create == [] and again.status is None  # same generation: nothing to try

    changed = decide(ftj_body(generation=2, status=d.status), Observed(), SETTINGS, NOW)
    assert [m["kind"] for m in changed.create] == ["ConfigMap", "Job"]
    assert changed.status is not None and changed.status["phase"] == "Pending"


def test_an_invalid_spec_found_by_our_own_validation_is_rechecked() -> None:
    bad = decide(ftj_body(training={"learningRate": 0}), Observed(), SETTINGS, NOW)
    assert bad.status is not None
    assert not refusals.still_refused(None, 1)
    fixed = decide(ftj_body(status=bad.status), Observed(), SETTINGS, NOW)  # e.g. new operator settings
    assert [m["kind"] for m in fixed.create] == ["ConfigMap", "Job"]


def test_an_unschedulable_pod_is_stalled_with_the_schedulers_message() -> None:
    p = pod("p1", "Pending")
    message = "0/3 nodes are available: 3 Insufficient nvidia.com/gpu."
    p["status"]["conditions"] = [
        {"type": "PodScheduled", "status": "False", "reason": "Unschedulable", "message": message}
    ]
    view = view_pod(p)
    assert (view.state, view.reason, view.message) == ("stalled", "Unschedulable", message)
    d = decide(ftj_body(), Observed(job=job(active=1), pods=[p]), SETTINGS, NOW)
    assert d.status is not None and d.status["phase"] == "Pending"
    stalled = {c["type"]: c for c in d.status["conditions"]}["Stalled"]
    assert stalled["reason"] == "Unschedulable" and message in stalled["message"]
    assert ("Warning", "Unschedulable") in [(e.type, e.reason) for e in d.events]


def test_the_client_refuses_non_finite_numbers() -> None:
    with pytest.raises(ValueError, match="Out of range float"):
        kube.strict_json({"status": {"metrics": {"perplexity": float("nan")}}})
