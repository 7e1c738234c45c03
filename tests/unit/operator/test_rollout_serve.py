"""The pure mappings around the rollout state machine: observations in, status and operations out."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from tests.unit.operator.fixtures import NS, SETTINGS, UID, ftj_body
from tradetune.api import ModelServeStatus, ServedModel, TrainResult
from tradetune.api._rollout import CandidateStatus, RolloutState
from tradetune.operator import patches, rollout_observe, rollout_serve, rollout_status
from tradetune.operator.builders import verify as vb
from tradetune.operator.rollout import (
    DeploymentObs,
    PointService,
    RolloutDecision,
    RolloutObserved,
    RolloutStatus,
    Verified,
    revision_slug,
)

NOW = datetime(2026, 1, 1, tzinfo=UTC)
STAMP = "2026-01-01T00:00:00Z"
R1, R2 = "uid-a/1", "uid-b/1"


def deployment(revision: str, replicas: int = 1, available: int = 1) -> dict[str, Any]:
    return {
        "metadata": {
            "name": vb.revision_deployment_name("desk", revision),
            "uid": f"d-{revision}",
            "generation": 1,
            "labels": {vb.REVISION_LABEL: revision_slug(revision)},
            "annotations": {vb.MODEL_REVISION_ANNOTATION: revision},
        },
        "spec": {"replicas": replicas},
        "status": {
            "observedGeneration": 1,
            "replicas": replicas,
            "updatedReplicas": replicas,
            "readyReplicas": available,
            "availableReplicas": available,
        },
    }


def crashing_pod(revision: str) -> dict[str, Any]:
    return {
        "metadata": {"name": "p1", "labels": {vb.REVISION_LABEL: revision_slug(revision)}},
        "status": {
            "containerStatuses": [
                {
                    "name": "vllm",
                    "restartCount": 3,
                    "state": {"waiting": {"reason": "CrashLoopBackOff"}},
                    "lastState": {"terminated": {"exitCode": 1, "reason": "Error", "message": "boom"}},
                }
            ]
        },
    }


def served(revision: str) -> ServedModel:
    return ServedModel(source="FineTuneJob pine", name="desk", fine_tune_job="pine", revision=revision)


# --- observations -----------------------------------------------------------------------------


def test_a_revision_is_crash_looping_only_from_its_own_pods() -> None:
    d1, d2 = deployment(R1), deployment(R2)
    pods = [crashing_pod(R2)]
    assert rollout_observe.deployment_obs(d2, rollout_observe.revision_pods(pods, d2)) == DeploymentObs(
        1, ready=True, crash_looping=True
    )
    assert rollout_observe.deployment_obs(d1, rollout_observe.revision_pods(pods, d1)).crash_looping is False


def test_a_deployment_scaled_to_zero_is_not_ready_and_one_still_starting_neither() -> None:
    assert rollout_observe.deployment_obs(deployment(R1, replicas=0, available=0), []).ready is False
    assert rollout_observe.deployment_obs(deployment(R1, available=0), []).ready is False


def test_the_service_selects_a_revision_by_its_slug() -> None:
    service = {"spec": {"selector": vb.revision_selector("desk", R2)}}
    assert rollout_observe.selected_revision(service, [R1, R2]) == R2
    assert rollout_observe.selected_revision(service, [R1]) is None
    assert rollout_observe.selected_revision({"spec": {"selector": {"a": "b"}}}, [R1]) is None
    assert rollout_observe.selected_revision(None, [R1]) is None


def _job(*conditions: str) -> dict[str, Any]:
    return {
        "metadata": {"name": "desk-verify-x", "uid": "job-1"},
        "status": {"conditions": [{"type": c, "status": "True", "reason": "R"} for c in conditions]},
    }


def _pod(owner: str, message: str, phase: str = "Succeeded") -> dict[str, Any]:
    return {
        "metadata": {"name": "v", "creationTimestamp": STAMP, "ownerReferences": [{"uid": owner}]},
        "status": {
            "phase": phase,
            "containerStatuses": [
                {"name": "trainer", "state": {"terminated": {"exitCode": 0, "message": message}}}
            ],
        },
    }


def test_a_verification_job_reports_the_result_of_its_own_pod_only() -> None:
    result = TrainResult(outcome="Succeeded", reason="Evaluated", message="8 items")
    message = result.to_termination_message()
    obs = rollout_observe.job_obs(_job("Complete"), [_pod("job-1", message)])
    assert obs.finished and obs.result == result
    # A pod of another Job, even with the right name, says nothing about this one.
    assert rollout_observe.job_obs(_job("Complete"), [_pod("job-2", message)]).result is None
    assert rollout_observe.job_obs(_job(), [_pod("job-1", message)]).finished is False


def test_a_failed_verification_job_without_a_result_says_why() -> None:
    obs = rollout_observe.job_obs(_job("Failed"), [])
    assert obs.finished and obs.result is None and "failed" in obs.message


# --- status -------------------------------------------------------------------------------------


def _apply(
    decision: RolloutDecision, observed: RolloutObserved, **view: Any
) -> tuple[ModelServeStatus, bool]:
    new = ModelServeStatus()
    degraded = rollout_status.apply(
        ModelServeStatus(), new, decision, rollout_status.StepView(observed=observed, **view), 1, STAMP
    )
    return new, degraded


def _observed(service: str | None) -> RolloutObserved:
    return RolloutObserved(
        name="desk",
        desired=served(R2),
        recorded=None,
        from_fine_tune_job=True,
        replicas=1,
        service_revision=service,
    )


def _conditions(status: ModelServeStatus) -> dict[str, tuple[str, str]]:
    return {c.type: (c.status, c.reason) for c in status.conditions}


def test_served_model_is_what_the_service_selects_after_the_step() -> None:
    decision = RolloutDecision(
        actions=[PointService(R2)],
        status=RolloutStatus(state=RolloutState(phase="Stable", served_revision=R2), served_model=served(R2)),
        verified=Verified(True, "Passed", "Passed 4/4"),
    )
    status, degraded = _apply(decision, _observed(R1), serving=deployment(R2), serving_pods=[])
    assert status.served_model == served(R2) and not degraded
    conditions = _conditions(status)
    assert conditions["Ready"] == ("True", "Available") and conditions["Verified"] == ("True", "Passed")
    assert status.state == "Serving" and status.ready_replicas == 1


def test_a_rollback_shows_as_ready_with_reason_rolled_back() -> None:
    decision = RolloutDecision(
        status=RolloutStatus(
            state=RolloutState(phase="Stable", served_revision=R1, rollbacks=1),
            served_model=served(R1),
            candidate=CandidateStatus(revision=R2, phase="Failed", message="revision crash-looping"),
        ),
        verified=Verified(False, "RolledBack", "revision uid-b/1 is crash-looping after the switch"),
        rolled_back=True,
        actions=[PointService(R1)],
    )
    status, _ = _apply(decision, _observed(R2), serving=deployment(R1), serving_pods=[])
    ready = next(c for c in status.conditions if c.type == "Ready")
    assert (ready.status, ready.reason) == ("True", "RolledBack") and "crash-looping" in ready.message
    assert _conditions(status)["Verified"] == ("False", "RolledBack")


def test_while_a_candidate_is_verified_the_served_model_keeps_answering() -> None:
    decision = RolloutDecision(
        status=RolloutStatus(
            state=RolloutState(phase="Verifying", served_revision=R1),
            served_model=served(R1),
            candidate=CandidateStatus(revision=R2, phase="Verifying", message="verification Job x runs"),
        )
    )
    status, _ = _apply(decision, _observed(R1), serving=deployment(R1), serving_pods=[])
    conditions = _conditions(status)
    assert conditions["Ready"] == ("True", "Available") and conditions["Progressing"] == ("True", "Verifying")
    assert status.rolling_out == served(R2) and status.state == "RollingOut"


def test_the_served_revision_crash_looping_is_degraded() -> None:
    decision = RolloutDecision(
        status=RolloutStatus(state=RolloutState(phase="Stable", served_revision=R1), served_model=served(R1))
    )
    failing = deployment(R1, available=0)
    status, degraded = _apply(decision, _observed(R1), serving=failing, serving_pods=[crashing_pod(R1)])
    assert degraded and _conditions(status)["Degraded"] == ("True", "CrashLoopBackOff")


# --- which ModelServes, and patches -----------------------------------------------------------------


def test_the_rollout_drives_every_fine_tune_job_model_and_no_plain_path() -> None:
    assert rollout_serve.drives({"spec": {"model": {"fromFineTuneJob": "pine"}, "rollout": {}}})
    assert rollout_serve.drives({"spec": {"model": {"fromFineTuneJob": "pine"}}})
    assert not rollout_serve.drives({"spec": {"model": {"path": "/models/x"}, "rollout": {}}})


def test_a_status_patch_nulls_keys_removed_inside_nested_objects() -> None:
    old = {"rollout": {"phase": "Watching", "previousRevision": R1}, "message": "x"}
    new = {"rollout": {"phase": "Stable"}}
    assert patches.status_patch(old, new) == {
        "status": {"message": None, "rollout": {"phase": "Stable", "previousRevision": None}}
    }


# --- decide: operations on owned objects only ---------------------------------------------------


def _mserve(status: dict[str, Any] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "apiVersion": "tradetune.dev/v1alpha1",
        "kind": "ModelServe",
        "metadata": {"name": "desk", "namespace": NS, "uid": "ms-uid", "generation": 1},
        "spec": {"model": {"fromFineTuneJob": "pine"}, "apiKeySecretRef": {"name": "llm-key"}},
    }
    if status is not None:
        body["status"] = status
    return body


def _ftj() -> dict[str, Any]:
    return ftj_body(status={"phase": "Succeeded", "artifacts": {"merged": "/output/merged"}})


def test_a_new_revision_creates_its_deployment_owned_by_the_model_serve() -> None:
    out = rollout_serve.decide(
        _mserve(), rollout_observe.RolloutChildren(fine_tune_job=_ftj()), SETTINGS, NOW
    )
    created = [op.manifest for op in out.ops if isinstance(op, rollout_serve.Create)]
    assert [m["kind"] for m in created] == ["NetworkPolicy", "Deployment"]
    deployment = created[1]
    assert deployment["metadata"]["name"] == vb.revision_deployment_name("desk", f"{UID}/1")
    assert all(m["metadata"]["ownerReferences"][0]["uid"] == "ms-uid" for m in created)
    assert out.serve.status is not None and out.serve.status["rollout"]["phase"] == "Verifying"
    assert [e.reason for e in out.serve.events] == ["Verifying", "CandidateStarted"]


def test_deletes_name_the_observed_uid_and_leave_unannotated_deployments_alone() -> None:
    rev = f"{UID}/1"
    stale = deployment("old/1")
    stranger = {"metadata": {"name": "desk-vllm-zzz", "uid": "x", "labels": {}}, "spec": {"replicas": 1}}
    status = {"rollout": {"phase": "Stable", "servedRevision": rev}}
    children = rollout_observe.RolloutChildren(
        fine_tune_job=_ftj(), deployments=[deployment(rev), stale, stranger], network_policy=None
    )
    out = rollout_serve.decide(_mserve(status), children, SETTINGS, NOW)
    deletes = [op for op in out.ops if isinstance(op, rollout_serve.Delete)]
    assert deletes == [rollout_serve.Delete("Deployment", stale["metadata"]["name"], "d-old/1")]
