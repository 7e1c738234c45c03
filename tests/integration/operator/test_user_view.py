"""What a cluster user sees: objects that stay deleted, conditions that stay true, events in order."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.integration.operator.conftest import (
    DEPLOYMENTS,
    FTJ,
    MSERVE,
    NS,
    PODS,
    Cluster,
    OperatorHarness,
    finetunejob,
    modelserve,
    train_result,
    wait_for,
)
from tests.integration.operator.running_emulator import RunningEmulator

pytestmark = pytest.mark.timeout(120)

HANDLED = "tradetune.dev/last-handled-configuration"


def _handled(emulator: RunningEmulator, name: str, label: str) -> bool:
    """kopf stores the spec and labels it last handled: the update with `label` was reconciled."""
    meta = (emulator.get(FTJ, NS, name) or {}).get("metadata") or {}
    handled = json.loads((meta.get("annotations") or {}).get(HANDLED) or "{}")
    return label in ((handled.get("metadata") or {}).get("labels") or {})


def _serve(emulator: RunningEmulator, cluster: Cluster, name: str, **spec: Any) -> None:
    emulator.create(
        FTJ, finetunejob(name, promote={"modelServe": f"{name}-llm", "create": True, "auth": "none"}, **spec)
    )
    pod = cluster.start_pod(name)
    cluster.finish_pod(name, pod, message=train_result())
    cluster.wait_phase(name, "Succeeded")
    wait_for("ModelServe", lambda: emulator.get(MSERVE, NS, f"{name}-llm"))


def test_a_deleted_model_serve_is_not_created_again(
    emulator: RunningEmulator, operator: OperatorHarness, cluster: Cluster
) -> None:
    with operator.running():
        _serve(emulator, cluster, "keep")
        assert cluster.status("keep")["createdModelServe"]["name"] == "keep-llm"

        emulator.delete(MSERVE, NS, "keep-llm")
        promoted = wait_for(
            "Promoted=False",
            lambda: (c := cluster.condition("keep", "Promoted")) and c["status"] == "False" and c,
        )
        assert promoted["reason"] == "ModelServeDeleted"
        cluster.wait_events("keep", ("Warning", "ModelServeDeleted"))
        wait_for("the ModelServe gone", lambda: emulator.get(MSERVE, NS, "keep-llm") is None)

        # Another reconcile for an unrelated reason (a label) must not bring it back.
        emulator.patch(FTJ, NS, "keep", {"metadata": {"labels": {"team": "desk"}}})
        wait_for("the label change handled", lambda: _handled(emulator, "keep", "team"))
        assert emulator.get(MSERVE, NS, "keep-llm") is None
        assert emulator.list(DEPLOYMENTS, NS, "app.kubernetes.io/instance=keep-llm") == []
        assert cluster.status("keep")["phase"] == "Succeeded"

        # A change of spec.promote asks for it again.
        emulator.patch(FTJ, NS, "keep", {"spec": {"promote": {"modelServeTemplate": {"replicas": 2}}}})
        again = wait_for("ModelServe again", lambda: emulator.get(MSERVE, NS, "keep-llm"))
        assert again["spec"]["replicas"] == 2
        wait_for(
            "Promoted=True", lambda: (cluster.condition("keep", "Promoted") or {}).get("status") == "True"
        )


def test_stalled_is_cleared_when_its_cause_is_gone(
    emulator: RunningEmulator, operator: OperatorHarness, cluster: Cluster
) -> None:
    with operator.running():
        emulator.create(FTJ, finetunejob("pull", backoffLimit=0))
        pod = cluster.start_pod("pull", running=False)
        cluster.image_pull_backoff(pod)
        wait_for("Stalled", lambda: (cluster.condition("pull", "Stalled") or {}).get("status") == "True")
        cluster.finish_pod("pull", pod, message="", exit_code=1, reason="Error")
        cluster.fail_job("pull", "BackoffLimitExceeded", "Job has reached the specified backoff limit")
        status = cluster.wait_phase("pull", "Failed")
        conditions = {c["type"]: c for c in status["conditions"]}
        assert conditions["Failed"]["reason"] == "TrainerFailed"
        assert conditions["Stalled"]["status"] == "False"


def test_a_missing_secret_stalls_with_secret_not_found(
    emulator: RunningEmulator, operator: OperatorHarness, cluster: Cluster
) -> None:
    with operator.running():
        emulator.create(FTJ, finetunejob("nokey"))
        pod = cluster.start_pod("nokey", running=False)
        waiting = {"reason": "CreateContainerConfigError", "message": 'secret "hf-token" not found'}
        emulator.patch(
            PODS,
            NS,
            pod["metadata"]["name"],
            {
                "status": {
                    "containerStatuses": [{"name": "trainer", "ready": False, "state": {"waiting": waiting}}]
                }
            },
            status=True,
        )
        stalled = wait_for(
            "Stalled", lambda: (c := cluster.condition("nokey", "Stalled")) and c["status"] == "True" and c
        )
        assert stalled["reason"] == "SecretNotFound"
        assert "Secret hf-token does not exist" in stalled["message"]
        status = cluster.status("nokey")
        assert {c["type"]: c["reason"] for c in status["conditions"]}["Ready"] == "SecretNotFound"
        assert len(status["message"]) <= 80
        cluster.wait_events("nokey", ("Warning", "SecretNotFound"))


def test_events_come_in_the_order_things_happened_once_each(
    emulator: RunningEmulator, operator: OperatorHarness, cluster: Cluster
) -> None:
    with operator.running():
        _serve(emulator, cluster, "order")
        events = cluster.wait_events("order", ("Normal", "Succeeded"))
        reasons = [r for _, r, _ in events]
        assert reasons.index("ThresholdsMet") < reasons.index("Promoted") < reasons.index("Succeeded")
        trained = cluster.condition("order", "Trained")
        assert trained is not None
        assert trained["message"] == "trainer: trained 20 steps; took train 12 s, evaluate 3 s."
        assert cluster.status("order")["timings"] == {"train": 12.5, "evaluate": 3.0}

        emulator.create(
            FTJ, finetunejob("weak", promote={"modelServe": "weak-llm", "create": True, "auth": "none"})
        )
        pod = cluster.start_pod("weak")
        cluster.finish_pod("weak", pod, message=train_result(perplexity=35.0))
        cluster.wait_phase("weak", "Failed")
        events = cluster.wait_events("weak", ("Warning", "ThresholdsNotMet"), ("Warning", "GateFailed"))
        assert [r for _, r, _ in events].count("GateFailed") == 1


def test_a_model_serve_whose_api_key_secret_is_missing_says_so(
    emulator: RunningEmulator, operator: OperatorHarness, cluster: Cluster
) -> None:
    with operator.running():
        emulator.create(
            MSERVE,
            modelserve(
                "keyed",
                model={"path": "models/base"},
                volume={"claimName": "models"},
                resources={"gpus": 0},
                apiKeySecretRef={"name": "llm-key", "key": "key"},
            ),
        )
        wait_for("Deployment", lambda: emulator.get(DEPLOYMENTS, NS, "keyed-vllm"))
        # The ReplicaSet makes a pod; the kubelet cannot start it without the Secret.
        waiting = {"reason": "CreateContainerConfigError", "message": 'secret "llm-key" not found'}
        emulator.create(
            PODS,
            {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {
                    "name": "keyed-vllm-7f9c-x2",
                    "namespace": NS,
                    "labels": {"tradetune.dev/modelserve": "keyed", "app.kubernetes.io/component": "server"},
                },
                "spec": {"containers": [{"name": "server", "image": "registry.test/tradetune/server:test"}]},
            },
        )
        emulator.patch(
            PODS,
            NS,
            "keyed-vllm-7f9c-x2",
            {
                "status": {
                    "phase": "Pending",
                    "containerStatuses": [{"name": "server", "state": {"waiting": waiting}}],
                }
            },
            status=True,
        )
        emulator.patch(MSERVE, NS, "keyed", {"metadata": {"labels": {"poke": "1"}}})  # any reconcile sees it

        def stalled() -> dict[str, Any] | None:
            status = (emulator.get(MSERVE, NS, "keyed") or {}).get("status") or {}
            conds = {c["type"]: c for c in status.get("conditions") or []}
            return status if conds.get("Stalled", {}).get("reason") == "SecretNotFound" else None

        status = wait_for("Stalled SecretNotFound", stalled)
        assert status["state"] == "Degraded" and "llm-key" in status["message"]
        cluster.wait_events("keyed", ("Warning", "SecretNotFound"))
