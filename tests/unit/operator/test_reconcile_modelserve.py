"""ModelServe transitions: waiting for a model, rolling out, ready, degraded."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from tests.unit.operator.fixtures import NS, SETTINGS, UID, ftj_body
from tradetune.operator import builders
from tradetune.operator.reconcile_modelserve import ServeDecision, ServeObserved, decide

NOW = datetime(2026, 1, 1, 2, 0, tzinfo=UTC)


def mserve(status: dict[str, Any] | None = None, **spec: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "apiVersion": "tradetune.dev/v1alpha1",
        "kind": "ModelServe",
        "metadata": {"name": "llm", "namespace": NS, "uid": "ms-uid", "generation": 1},
        "spec": {"model": {"fromFineTuneJob": "pine"}, "apiKeySecretRef": {"name": "llm-key"}, **spec},
    }
    if status is not None:
        body["status"] = status
    return body


def succeeded_job() -> dict[str, Any]:
    return ftj_body(
        status={"phase": "Succeeded", "artifacts": {"merged": "/output/merged", "adapter": "/output/adapter"}}
    )


def run(body: dict[str, Any], observed: ServeObserved) -> ServeDecision:
    return decide(body, observed, SETTINGS, NOW)


def conds(status: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["type"]: c for c in status.get("conditions") or []}


def available(deployment: dict[str, Any], generation: int = 1) -> dict[str, Any]:
    replicas = deployment["spec"]["replicas"]
    return {
        **deployment,
        "metadata": {**deployment["metadata"], "generation": generation},
        "status": {
            "observedGeneration": generation,
            "replicas": replicas,
            "updatedReplicas": replicas,
            "readyReplicas": replicas,
            "availableReplicas": replicas,
        },
    }


def test_waits_for_the_finetunejob_without_a_deployment() -> None:
    pending = ftj_body(status={"phase": "Running"})
    d = run(mserve(), ServeObserved(fine_tune_job=pending))
    assert [m["kind"] for m in d.create] == ["Service", "NetworkPolicy"]
    assert d.status is not None
    c = conds(d.status)
    assert (c["Ready"]["status"], c["Ready"]["reason"]) == ("False", "FineTuneJobNotSucceeded")
    assert (c["Progressing"]["status"], c["Progressing"]["reason"]) == ("True", "WaitingForModel")
    assert c["Degraded"]["status"] == "False"
    assert d.status["endpoint"] == "http://llm-vllm.ml.svc:8000/v1"


def test_missing_finetunejob_is_degraded() -> None:
    d = run(mserve(), ServeObserved())
    assert d.status is not None and d.degraded
    assert conds(d.status)["Degraded"]["reason"] == "FineTuneJobNotFound"
    assert ("Warning", "FineTuneJobNotFound") in [(e.type, e.reason) for e in d.events]


def test_rollout_then_ready() -> None:
    d = run(mserve(), ServeObserved(fine_tune_job=succeeded_job()))
    kinds = [m["kind"] for m in d.create]
    assert kinds == ["Deployment", "Service", "NetworkPolicy"]
    assert d.status is not None and conds(d.status)["Progressing"]["reason"] == "RolloutStarted"
    deployment, service, policy = d.create
    observed = ServeObserved(
        deployment=available(deployment),
        service=service,
        network_policy=policy,
        fine_tune_job=succeeded_job(),
    )
    ready = run(mserve(status=d.status), observed)
    assert ready.create == [] and ready.patch == []
    assert ready.status is not None
    c = conds(ready.status)
    assert (c["Ready"]["status"], c["Ready"]["reason"]) == ("True", "Available")
    assert c["Progressing"]["status"] == "False"
    assert ready.status["readyReplicas"] == 1
    assert ready.status["state"] == "Serving" and "rollingOut" not in ready.status
    assert ready.status["message"] == "1/1 replicas serve FineTuneJob pine"
    assert ready.status["servedModel"] == {
        "source": "FineTuneJob pine",
        "name": "llm",
        "fineTuneJob": "pine",
        "path": "/output/merged",
        "revision": f"{UID}/1",
    }
    assert ready.ready_replicas == 1 and ready.desired_replicas == 1 and not ready.degraded


def test_a_new_model_patches_the_deployment_and_waits_for_it() -> None:
    first = run(mserve(), ServeObserved(fine_tune_job=succeeded_job()))
    deployment, service, policy = first.create
    newer = succeeded_job()
    newer["metadata"]["generation"] = 2
    d = run(
        mserve(),
        ServeObserved(
            deployment=available(deployment), service=service, network_policy=policy, fine_tune_job=newer
        ),
    )
    assert [m["kind"] for m in d.patch] == ["Deployment"]
    annotations = d.patch[0]["spec"]["template"]["metadata"]["annotations"]
    assert annotations["tradetune.dev/model-revision"] == f"{UID}/2"
    assert d.status is not None and conds(d.status)["Ready"]["reason"] == "RolloutStarted"
    # Mid-rollout: one new pod surging, the old one still serving.
    rolling = available(d.patch[0], generation=2)
    rolling["status"].update(
        {"replicas": 2, "updatedReplicas": 1, "availableReplicas": 1, "readyReplicas": 1}
    )
    mid = run(
        mserve(status=d.status),
        ServeObserved(deployment=rolling, service=service, network_policy=policy, fine_tune_job=newer),
    )
    assert mid.status is not None and conds(mid.status)["Ready"]["reason"] == "RolloutInProgress"
    message = conds(mid.status)["Ready"]["message"]
    assert (
        message == "rolling out: the new model is starting; 1 old replica(s) keep answering until it is ready"
    )
    assert "available" not in message  # no "1 available" beside Ready=False
    assert mid.status["state"] == "RollingOut"
    assert mid.status["rollingOut"]["revision"] == f"{UID}/2"


def test_the_status_shows_what_is_served_and_what_rolls_out() -> None:
    first = run(mserve(), ServeObserved(fine_tune_job=succeeded_job()))
    deployment, service, _policy = first.create
    ready = run(
        mserve(status=first.status),
        ServeObserved(deployment=available(deployment), service=service, fine_tune_job=succeeded_job()),
    )
    assert ready.status is not None
    newer = succeeded_job()
    newer["metadata"]["generation"] = 2
    rolling = run(
        mserve(status=ready.status),
        ServeObserved(deployment=available(deployment), service=service, fine_tune_job=newer),
    )
    assert rolling.status is not None and rolling.status["state"] == "RollingOut"
    assert rolling.status["servedModel"]["revision"] == f"{UID}/1"  # still answering
    assert rolling.status["rollingOut"]["revision"] == f"{UID}/2"
    # The job disappears while serving: still Ready (it answers), and STATUS says Degraded.
    gone = run(mserve(status=ready.status), ServeObserved(deployment=available(deployment), service=service))
    assert gone.status is not None and gone.status["state"] == "Degraded"
    assert conds(gone.status)["Degraded"]["status"] == "True"


def test_progress_deadline_is_degraded() -> None:
    first = run(mserve(), ServeObserved(fine_tune_job=succeeded_job()))
    deployment, service, policy = first.create
    stuck = available(deployment)
    stuck["status"] = {
        "observedGeneration": 1,
        "conditions": [
            {"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded", "message": "x"}
        ],
    }
    d = run(
        mserve(),
        ServeObserved(
            deployment=stuck, service=service, network_policy=policy, fine_tune_job=succeeded_job()
        ),
    )
    assert d.status is not None and d.degraded
    assert conds(d.status)["Degraded"]["reason"] == "ProgressDeadlineExceeded"


def test_deleted_finetunejob_keeps_the_running_deployment() -> None:
    first = run(mserve(), ServeObserved(fine_tune_job=succeeded_job()))
    deployment, service, policy = first.create
    d = run(
        mserve(),
        ServeObserved(
            deployment=available(deployment), service=service, network_policy=policy, fine_tune_job=None
        ),
    )
    assert d.create == [] and d.patch == []
    assert d.status is not None
    c = conds(d.status)
    assert c["Ready"]["status"] == "True"
    assert c["Degraded"]["reason"] == "FineTuneJobNotFound"
    assert c["Degraded"]["message"].startswith("keeping the current model")


def test_invalid_spec() -> None:
    d = run(mserve(replicas=-1), ServeObserved())
    assert d.status is not None
    assert conds(d.status)["Degraded"]["reason"] == "InvalidSpec"
    assert "spec.replicas" in conds(d.status)["Ready"]["message"]
    assert d.create == []


def test_model_path_needs_no_finetunejob() -> None:
    d = run(mserve(model={"path": "/models/base"}, volume={"claimName": "models"}), ServeObserved())
    deployment = next(m for m in d.create if m["kind"] == "Deployment")
    assert deployment["spec"]["template"]["spec"]["containers"][0]["args"][2] == "/models/base"
    assert builders.SPEC_HASH_ANNOTATION in deployment["metadata"]["annotations"]


def test_finetunejob_being_deleted_counts_as_gone() -> None:
    first = run(mserve(), ServeObserved(fine_tune_job=succeeded_job()))
    deployment, service, policy = first.create
    going = succeeded_job()
    going["metadata"]["deletionTimestamp"] = "2026-01-01T01:00:00Z"
    d = run(
        mserve(),
        ServeObserved(
            deployment=available(deployment), service=service, network_policy=policy, fine_tune_job=going
        ),
    )
    assert d.status is not None and conds(d.status)["Degraded"]["reason"] == "FineTuneJobNotFound"


def test_model_serve_column_messages_stay_within_80_characters() -> None:
    first = run(mserve(), ServeObserved(fine_tune_job=succeeded_job()))
    deployment, service, _policy = first.create
    stuck = available(deployment)
    stuck["status"] = {
        "observedGeneration": 1,
        "conditions": [
            {"type": "ReplicaFailure", "status": "True", "message": "pods are forbidden: " + "quota " * 40}
        ],
    }
    d = run(mserve(status=first.status), ServeObserved(deployment=stuck, service=service))
    assert d.status is not None and d.status["state"] == "Degraded"
    assert len(d.status["message"]) <= 80
    assert max(len(c["message"]) for c in d.status["conditions"]) > 80  # the detail stays in a condition


def _server_pod(waiting: dict[str, str]) -> dict[str, Any]:
    return {
        "metadata": {"name": "llm-vllm-abc", "labels": {"tradetune.dev/modelserve": "llm"}},
        "status": {
            "phase": "Pending",
            "containerStatuses": [{"name": "server", "state": {"waiting": waiting}}],
        },
    }


def test_a_missing_api_key_secret_stalls_instead_of_rolling_out_forever() -> None:
    body = mserve(apiKeySecretRef={"name": "llm-key", "key": "key"})
    first = run(body, ServeObserved(fine_tune_job=succeeded_job()))
    deployment, service, _policy = first.create
    waiting = {"reason": "CreateContainerConfigError", "message": 'secret "llm-key" not found'}
    rolling = {
        **deployment,
        "metadata": {**deployment["metadata"], "generation": 1},
        "status": {"observedGeneration": 1, "replicas": 1, "updatedReplicas": 1},
    }
    d = run(
        mserve(status=first.status, apiKeySecretRef={"name": "llm-key", "key": "key"}),
        ServeObserved(
            deployment=rolling, service=service, fine_tune_job=succeeded_job(), pods=[_server_pod(waiting)]
        ),
    )
    assert d.status is not None and d.status["state"] == "Degraded"
    c = conds(d.status)
    assert (c["Stalled"]["status"], c["Stalled"]["reason"]) == ("True", "SecretNotFound")
    assert c["Ready"]["reason"] == "SecretNotFound" and "llm-key" in c["Degraded"]["message"]
    assert ("Warning", "SecretNotFound") in [(e.type, e.reason) for e in d.events]
    # The Secret is created, the pod starts: Stalled clears.
    fine = run(
        mserve(status=d.status, apiKeySecretRef={"name": "llm-key", "key": "key"}),
        ServeObserved(deployment=available(deployment), service=service, fine_tune_job=succeeded_job()),
    )
    assert fine.status is not None and conds(fine.status)["Stalled"]["status"] == "False"
    assert fine.status["state"] == "Serving"


def server_pod(container: dict[str, Any], name: str = "llm-vllm-abc") -> dict[str, Any]:
    return {"metadata": {"name": name}, "status": {"containerStatuses": [{"name": "vllm", **container}]}}


@pytest.mark.parametrize(
    ("container", "reason", "said"),
    [
        (
            {
                "restartCount": 2,
                "state": {"waiting": {"reason": "CrashLoopBackOff"}},
                "lastState": {"terminated": {"exitCode": 2, "reason": "Error", "message": "--model x: bad"}},
            },
            "CrashLoopBackOff",
            "exit code 2: --model x: bad",
        ),
        (
            {
                "state": {"waiting": {"reason": "CrashLoopBackOff"}},
                "lastState": {"terminated": {"exitCode": 137, "reason": "OOMKilled"}},
            },
            "OOMKilled",
            "out of memory",
        ),
        ({"state": {"terminated": {"exitCode": 137, "reason": "OOMKilled"}}}, "OOMKilled", "exit code 137"),
        (
            {
                "state": {
                    "waiting": {"reason": "CreateContainerConfigError", "message": 'configmap "c" not found'}
                }
            },
            "CreateContainerConfigError",
            'configmap "c" not found',
        ),
    ],
)
def test_failing_server_pods_make_the_modelserve_degraded(
    container: dict[str, Any], reason: str, said: str
) -> None:
    first = run(mserve(), ServeObserved(fine_tune_job=succeeded_job()))
    deployment, service, policy = first.create
    starting = {**deployment, "status": {"replicas": 1, "updatedReplicas": 1}}
    observed = ServeObserved(
        deployment=starting,
        service=service,
        network_policy=policy,
        fine_tune_job=succeeded_job(),
        pods=[server_pod({"name": "other", "state": {}}), server_pod(container)],
    )
    d = run(mserve(status=first.status), observed)
    assert d.status is not None and d.degraded
    c = conds(d.status)
    assert (c["Degraded"]["status"], c["Degraded"]["reason"]) == ("True", reason)
    assert said in c["Degraded"]["message"] and "llm-vllm-abc" in c["Degraded"]["message"]
    assert (c["Ready"]["reason"], c["Progressing"]["status"]) == (reason, "False")
    assert ("Warning", reason) in [(e.type, e.reason) for e in d.events]
    # A pod that is only starting is not a failure.
    calm = run(
        mserve(status=first.status),
        ServeObserved(**{**observed.__dict__, "pods": [server_pod({"state": {"running": {}}})]}),
    )
    assert calm.status is not None and conds(calm.status)["Degraded"]["status"] == "False"
