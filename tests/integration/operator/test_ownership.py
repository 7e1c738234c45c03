"""The operator touches only what it owns: foreign objects in the way are reported, never taken over.

Also the uninstall path: no finalizer holds a FineTuneJob or ModelServe, so deleting them with
no operator running completes at once and the garbage collector takes their children.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.operator.conftest import (
    CONFIGMAPS,
    DEPLOYMENTS,
    FTJ,
    JOBS,
    MSERVE,
    NS,
    SERVICES,
    Cluster,
    OperatorHarness,
    finetunejob,
    train_result,
    wait_for,
)
from tests.integration.operator.running_emulator import RunningEmulator

pytestmark = pytest.mark.timeout(120)


def _conditions(emulator: RunningEmulator, resource: str, name: str) -> dict[str, dict[str, Any]]:
    status = (emulator.get(resource, NS, name) or {}).get("status") or {}
    return {c["type"]: c for c in status.get("conditions") or []}


def _model_serve(name: str, **extra: Any) -> dict[str, Any]:
    return {
        "apiVersion": "tradetune.dev/v1alpha1",
        "kind": "ModelServe",
        "metadata": {"name": name, "namespace": NS},
        "spec": {"model": {"path": "/models/tiny"}, "auth": "none", **extra},
    }


def test_a_foreign_config_map_is_reported_not_adopted(
    emulator: RunningEmulator, operator: OperatorHarness, cluster: Cluster
) -> None:
    foreign = emulator.create(
        CONFIGMAPS,
        {"metadata": {"name": "taken-config", "namespace": NS}, "data": {"job.yaml": "someone else's"}},
    )
    with operator.running():
        emulator.create(FTJ, finetunejob("taken"))
        stalled = wait_for(
            "Stalled NameConflict",
            lambda: (c := _conditions(emulator, FTJ, "taken").get("Stalled")) and c["status"] == "True" and c,
        )
        assert stalled["reason"] == "NameConflict"
        assert "ConfigMap taken-config exists but is not owned by FineTuneJob taken" in stalled["message"]
        cluster.wait_events("taken", ("Warning", "NameConflict"))
        assert emulator.get(JOBS, NS, "taken-train") is None
        kept = emulator.get(CONFIGMAPS, NS, "taken-config")
        assert kept is not None and kept["data"] == foreign["data"]

        # The owner of the ConfigMap removes it: the job starts, and the conflict is over.
        emulator.delete(CONFIGMAPS, NS, "taken-config")
        emulator.patch(FTJ, NS, "taken", {"metadata": {"labels": {"touch": "1"}}})
        cluster.job("taken")
        wait_for(
            "Stalled cleared", lambda: _conditions(emulator, FTJ, "taken")["Stalled"]["status"] == "False"
        )
        ftj = emulator.get(FTJ, NS, "taken")
        config = emulator.get(CONFIGMAPS, NS, "taken-config")
        assert (
            config is not None and config["metadata"]["ownerReferences"][0]["uid"] == ftj["metadata"]["uid"]
        )


def test_a_foreign_deployment_and_service_are_left_alone(
    emulator: RunningEmulator, operator: OperatorHarness, cluster: Cluster
) -> None:
    other_team = {
        "metadata": {"name": "desk-vllm", "namespace": NS, "labels": {"team": "other"}},
        "spec": {"replicas": 3, "selector": {"matchLabels": {"team": "other"}}, "template": {"spec": {}}},
    }
    emulator.create(DEPLOYMENTS, {"apiVersion": "apps/v1", "kind": "Deployment", **other_team})
    with operator.running():
        emulator.create(MSERVE, _model_serve("desk"))
        degraded = wait_for(
            "Degraded NameConflict",
            lambda: (
                (c := _conditions(emulator, MSERVE, "desk").get("Degraded")) and c["status"] == "True" and c
            ),
        )
        assert degraded["reason"] == "NameConflict"
        assert degraded["message"].startswith(
            "Deployment desk-vllm exists but is not owned by ModelServe desk"
        )
        assert _conditions(emulator, MSERVE, "desk")["Ready"]["reason"] == "NameConflict"
        deployment = emulator.get(DEPLOYMENTS, NS, "desk-vllm")
        assert deployment is not None
        assert deployment["spec"]["replicas"] == 3 and deployment["metadata"]["generation"] == 1
        assert "ownerReferences" not in deployment["metadata"]
        assert emulator.get(SERVICES, NS, "desk-vllm") is None
        cluster.wait_events("desk", ("Warning", "NameConflict"))


def test_promotion_only_into_a_model_serve_that_opted_in(
    emulator: RunningEmulator, operator: OperatorHarness, cluster: Cluster
) -> None:
    emulator.create(MSERVE, _model_serve("prod"))
    with operator.running():
        emulator.create(FTJ, finetunejob("rogue", promote={"modelServe": "prod"}))
        pod = cluster.start_pod("rogue")
        cluster.finish_pod("rogue", pod, message=train_result())
        status = cluster.wait_phase("rogue", "Succeeded")
        promoted = {c["type"]: c for c in status["conditions"]}["Promoted"]
        assert promoted["status"] == "False" and promoted["reason"] == "NameConflict"
        assert "did not opt in to promotions from rogue" in promoted["message"]
        served = emulator.get(MSERVE, NS, "prod")
        assert served is not None and served["spec"]["model"] == {"path": "/models/tiny"}
        assert "tradetune.dev/promoted-from" not in (served["metadata"].get("annotations") or {})

        # The ModelServe's owner opts in: the next resync promotes.
        emulator.patch(
            MSERVE,
            NS,
            "prod",
            {"metadata": {"annotations": {"tradetune.dev/accept-promotion-from": "rogue"}}},
        )
        emulator.patch(FTJ, NS, "rogue", {"metadata": {"labels": {"touch": "1"}}})
        wait_for(
            "promoted after opting in",
            lambda: (emulator.get(MSERVE, NS, "prod") or {})["spec"]["model"] == {"fromFineTuneJob": "rogue"},
        )


def test_uninstalled_operator_blocks_no_deletion(
    emulator: RunningEmulator, operator: OperatorHarness, cluster: Cluster
) -> None:
    with operator.running():
        emulator.create(FTJ, finetunejob("left"))
        emulator.create(MSERVE, _model_serve("left-llm"))
        cluster.job("left")
        wait_for("Deployment", lambda: emulator.get(DEPLOYMENTS, NS, "left-llm-vllm"))
        wait_for("status", lambda: cluster.status("left").get("phase") == "Pending")
    # helm uninstall: the operator is gone. Nothing may wait for it.
    for resource, name in ((FTJ, "left"), (MSERVE, "left-llm")):
        assert not (emulator.get(resource, NS, name) or {})["metadata"].get("finalizers")
        emulator.delete(resource, NS, name)
        assert emulator.get(resource, NS, name) is None
    # The garbage collector takes the children by their ownerReferences.
    assert emulator.get(JOBS, NS, "left-train") is None
    assert emulator.get(CONFIGMAPS, NS, "left-config") is None
    assert emulator.get(DEPLOYMENTS, NS, "left-llm-vllm") is None
    assert emulator.get(SERVICES, NS, "left-llm-vllm") is None
