"""`kubectl get ftj,mserve` through a job's life, rendered from the CRDs' printer columns.

The statuses come from the reconcilers' own `decide`; the table is rendered from the generated
CRD files the way the API server does (see kubectl_table). docs/operator.md shows the same
sessions: the test keeps them in step.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.unit.api.k8s_schema import apply_defaults, openapi
from tests.unit.operator.fixtures import COMPLETE, SETTINGS, ftj_body, job, pod
from tests.unit.operator.kubectl_table import get_ftj_mserve, jsonpath, rows
from tradetune.api import Artifacts, EvalMetrics, TrainResult, parse_finetunejob
from tradetune.operator import builders
from tradetune.operator import reconcile_finetunejob as rf
from tradetune.operator import reconcile_modelserve as rm
from tradetune.operator.bodies import api_object

T0 = datetime(2026, 1, 1, 0, 0, tzinfo=UTC)
DOC = Path(__file__).resolve().parents[3] / "docs" / "operator.md"
PROMOTE = {"modelServe": "pine-llm", "create": True, "auth": "none"}


def result_message(perplexity: float = 5.2) -> str:
    return TrainResult(
        outcome="Succeeded",
        reason="Completed",
        message="trained 1875 steps (3 epochs)",
        metrics=EvalMetrics(
            perplexity=perplexity, eval_loss=1.65, pine_syntax_score=0.91, task_accuracy=0.62
        ),
        artifacts=Artifacts(adapter="/output/adapter", merged="/output/merged"),
        timings={"data": 41.0, "train": 5123.0, "evaluate": 310.0},
    ).to_termination_message()


def applied(kind: str, body: dict[str, Any]) -> dict[str, Any]:
    """The object as the API server stores it: CRD defaults filled in."""
    defaulted: dict[str, Any] = apply_defaults(openapi(kind), body)
    return defaulted


def _ftj(body: dict[str, Any], observed: rf.Observed, minutes: float) -> tuple[dict[str, Any], rf.Decision]:
    """Reconcile until settled at T0 + minutes, as the operator does."""
    decision = rf.decide(body, observed, SETTINGS, T0 + timedelta(minutes=minutes))
    for _ in range(5):
        if decision.status is None:
            break
        body = {**body, "status": decision.status}
        if decision.requeue_after != 0:
            break
        decision = rf.decide(body, observed, SETTINGS, T0 + timedelta(minutes=minutes))
    return body, decision


def _mserve(
    body: dict[str, Any], observed: rm.ServeObserved, minutes: float
) -> tuple[dict[str, Any], rm.ServeDecision]:
    decision = rm.decide(body, observed, SETTINGS, T0 + timedelta(minutes=minutes))
    return ({**body, "status": decision.status} if decision.status is not None else body), decision


def _available(deployment: dict[str, Any]) -> dict[str, Any]:
    n = deployment["spec"]["replicas"]
    return {
        **deployment,
        "metadata": {**deployment["metadata"], "generation": 1},
        "status": {
            "observedGeneration": 1,
            "replicas": n,
            "updatedReplicas": n,
            "readyReplicas": n,
            "availableReplicas": n,
        },
    }


def success_session() -> list[tuple[float, str]]:
    """(minutes after creation, `kubectl get ftj,mserve` output) from creation to serving."""
    out = []
    gate = {"thresholds": {"perplexity": {"max": 8}, "pineSyntaxScore": {"min": 0.8}}}
    body = applied("FineTuneJob", ftj_body(promote=PROMOTE, evaluation=gate))
    body["metadata"]["creationTimestamp"] = "2026-01-01T00:00:00Z"
    body, _ = _ftj(body, rf.Observed(), 0)
    out.append((0.5, get_ftj_mserve([body], [], T0 + timedelta(seconds=30))))
    running = rf.Observed(job=job(active=1), pods=[pod("pine-train-x7k2p", "Running", running=True)])
    body, _ = _ftj(body, running, 2)
    out.append((5, get_ftj_mserve([body], [], T0 + timedelta(minutes=5))))
    done = [pod("pine-train-x7k2p", "Succeeded", terminated={"exitCode": 0, "message": result_message()})]
    body, _ = _ftj(body, rf.Observed(job=job(succeeded=1, conditions=COMPLETE), pods=done), 12)
    assert body["status"]["phase"] == "Succeeded"
    ftj = parse_finetunejob(api_object(body, "FineTuneJob"))
    created = builders.model_serve_for_promotion(ftj, existing=None)  # what the operator created
    assert created is not None
    created = applied("ModelServe", created)
    created["metadata"].update(
        {"uid": "ms-uid", "generation": 1, "creationTimestamp": "2026-01-01T00:12:00Z"}
    )
    ms, msd = _mserve(created, rm.ServeObserved(fine_tune_job=body), 12)
    out.append((12.5, get_ftj_mserve([body], [ms], T0 + timedelta(minutes=12, seconds=30))))
    deployment = next(m for m in msd.create if m["kind"] == "Deployment")
    service = next(m for m in msd.create if m["kind"] == "Service")
    ms, _ = _mserve(
        ms, rm.ServeObserved(deployment=_available(deployment), service=service, fine_tune_job=body), 14
    )
    out.append((15, get_ftj_mserve([body], [ms], T0 + timedelta(minutes=15))))
    return out


def failure_session() -> list[tuple[float, str]]:
    """Three jobs that went wrong: an image that cannot be pulled, an OOM retry, a failed gate."""

    def fresh(name: str) -> dict[str, Any]:
        body = applied("FineTuneJob", ftj_body(name=name))
        body["metadata"]["creationTimestamp"] = "2026-01-01T00:00:00Z"
        return body

    pull, _ = _ftj(
        fresh("pull"),
        rf.Observed(
            job=job("pull", active=1), pods=[pod("pull-train-5d9vq", "Pending", waiting="ImagePullBackOff")]
        ),
        3,
    )
    oom_pods = [pod("oom-train-q8w4n", "Failed", terminated={"exitCode": 137, "reason": "OOMKilled"})]
    oom, _ = _ftj(
        {**fresh("oom"), "status": {"phase": "Running", "attempts": 1}},
        rf.Observed(job=job("oom", failed=1), pods=oom_pods),
        20,
    )
    weak_pods = [
        pod(
            "weak-train-m3t6z",
            "Succeeded",
            terminated={"exitCode": 0, "message": result_message(perplexity=35.0)},
        )
    ]
    weak, _ = _ftj(
        fresh("weak"), rf.Observed(job=job("weak", succeeded=1, conditions=COMPLETE), pods=weak_pods), 30
    )
    now = T0 + timedelta(minutes=31)
    FAILED.extend([oom, pull, weak])
    return [(31, get_ftj_mserve([oom, pull, weak], [], now))]


FAILED: list[dict[str, Any]] = []  # the objects of the last failure_session()


def test_the_reason_column_says_why_and_messages_fit_a_column() -> None:
    ((_, text),) = failure_session()
    lines = text.splitlines()
    header = lines[0].split()
    assert header[:3] == ["NAME", "PHASE", "REASON"]
    reasons = {line.split()[0].split("/")[-1]: line.split()[2] for line in lines[1:]}
    assert reasons == {"oom": "OOMKilled", "pull": "ImagePullBackOff", "weak": "GateFailed"}
    # The MESSAGE column (-o wide) is at most 80 characters, whatever the condition says.
    grid = rows(FAILED, "finetunejobs", T0, wide=True)
    messages = [row[grid[0].index("MESSAGE")] for row in grid[1:]]
    assert all(0 < len(m) <= 80 for m in messages), messages


def test_wide_messages_are_short() -> None:
    pods = [pod("p1", "Pending", waiting="ImagePullBackOff")]
    body, _ = _ftj(ftj_body(), rf.Observed(job=job(active=1), pods=pods), 1)
    grid = rows([body], "finetunejobs", T0 + timedelta(minutes=2), wide=True)
    message = grid[1][grid[0].index("MESSAGE")]
    assert message == "the trainer pod cannot start; see condition Stalled"
    stalled = next(c for c in body["status"]["conditions"] if c["type"] == "Stalled")
    assert "registry.test" not in message and "image x" in stalled["message"]  # the detail stays


def test_model_serve_columns_show_what_serves_and_what_rolls_out() -> None:
    steps = success_session()
    rollout = steps[2][1].split("\n\n")[1].splitlines()
    header, row = rollout[0].split(), rollout[1].split()
    assert header[:4] == ["NAME", "STATUS", "SERVING", "ROLLING-OUT"]
    assert row[1] == "RollingOut" and row[2] == "<none>"  # nothing served before the first rollout
    assert " ".join(row[3:5]) == "FineTuneJob pine"
    serving = steps[3][1].split("\n\n")[1].splitlines()[1]
    assert "Serving" in serving and "FineTuneJob pine" in serving and "<none>" in serving


def test_jsonpath_filter_matches_the_api_servers_reading() -> None:
    obj = {"status": {"conditions": [{"type": "Stalled", "reason": "X"}, {"type": "Ready", "reason": "Y"}]}}
    assert jsonpath(obj, '.status.conditions[?(@.type=="Ready")].reason') == ["Y"]
    assert jsonpath(obj, ".status.missing") == []
    with pytest.raises(ValueError):
        jsonpath(obj, "{.status}")


def render_sessions() -> str:
    blocks = []
    for title, session in (
        ("From creation to serving", success_session()),
        ("When things go wrong", failure_session()),
    ):
        lines = [f"{title}:", "", "```"]
        for minutes, text in session:
            lines += [f"$ kubectl get ftj,mserve        # {minutes:g} min after kubectl apply", text, ""]
        lines[-1] = "```"
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks) + "\n"


def test_docs_show_the_sessions_as_rendered() -> None:
    text = DOC.read_text(encoding="utf-8")
    start, end = "<!-- kubectl-get-session:start -->\n", "<!-- kubectl-get-session:end -->"
    assert start in text and end in text, "docs/operator.md lost its kubectl session markers"
    shown = text.split(start, 1)[1].split(end, 1)[0]
    assert shown == render_sessions(), (
        "docs/operator.md is stale: paste render_sessions() between the markers"
    )
