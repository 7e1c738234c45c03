"""Every failure lands in status: refused creates, unschedulable pods, diverged runs.

Nothing here may retry forever in silence: a create the API server refuses for good is Failed
once (with the API server's message) and tried again only when the spec changes.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.operator.conftest import (
    DEPLOYMENTS,
    FTJ,
    JOBS,
    MSERVE,
    NS,
    PODS,
    Cluster,
    OperatorHarness,
    finetunejob,
    modelserve,
    wait_for,
)
from tests.integration.operator.running_emulator import RunningEmulator

pytestmark = pytest.mark.timeout(120)

BAD_TOLERATION = {"key": "gpu", "operator": "Matches", "value": "a100", "effect": "NoSchedule"}


def _creates(emulator: RunningEmulator, plural: str) -> int:
    return int(emulator.call(lambda emu: emu.create_attempts.get(plural, 0)))


def _fetches(emulator: RunningEmulator) -> int:
    return int(emulator.call(lambda emu: emu.fetches.get("finetunejobs", 0)))


def _handled(emulator: RunningEmulator, name: str) -> str:
    annotations = (emulator.get(FTJ, NS, name) or {})["metadata"].get("annotations") or {}
    return str(annotations.get("tradetune.dev/last-handled-configuration", ""))


def _failed(cluster: Cluster, name: str) -> dict[str, Any]:
    cluster.wait_phase(name, "Failed")
    failed = cluster.condition(name, "Failed")
    assert failed is not None
    return failed


def test_a_job_the_api_server_refuses_fails_once_with_its_message(
    emulator: RunningEmulator, operator: OperatorHarness, cluster: Cluster
) -> None:
    with operator.running():
        spec = finetunejob("tol", resources={"gpus": 0, "cpu": "1", "tolerations": [BAD_TOLERATION]})
        emulator.create(FTJ, spec)
        failed = _failed(cluster, "tol")
        assert failed["reason"] == "InvalidSpec"
        assert failed["message"].startswith("the API server refused to create Job tol-train: ")
        assert 'tolerations[0].operator: Unsupported value: "Matches"' in failed["message"]
        cluster.wait_events("tol", ("Warning", "InvalidSpec"))
        assert _creates(emulator, "jobs") == 1

        # A reconcile at the same generation (a label changed) does not try again.
        seen = _fetches(emulator)
        emulator.patch(FTJ, NS, "tol", {"metadata": {"labels": {"touched": "yes"}}})
        wait_for("a reconcile", lambda: _fetches(emulator) > seen)
        wait_for("kopf recorded the handled change", lambda: "touched" in _handled(emulator, "tol"))
        assert _creates(emulator, "jobs") == 1
        assert cluster.status("tol")["phase"] == "Failed"

        # Fixing the spec creates the Job.
        emulator.patch(FTJ, NS, "tol", {"spec": {"resources": {"tolerations": None}}})
        cluster.job("tol")
        cluster.wait_phase("tol", "Pending")
        # A fixed spec starts a new run whose conditions describe it alone (docs/operator.md).
        assert cluster.condition("tol", "Failed") is None


def test_forbidden_is_reported_not_retried(
    emulator: RunningEmulator, operator: OperatorHarness, cluster: Cluster
) -> None:
    with operator.running():
        forbidden = emulator.inject(403, 100, actions={"create"}, resource="jobs")
        emulator.create(FTJ, finetunejob("rbac"))
        failed = _failed(cluster, "rbac")
        assert failed["reason"] == "Forbidden"
        assert 'cannot create resource "jobs" in API group "batch"' in failed["message"]
        cluster.wait_events("rbac", ("Warning", "Forbidden"))
        assert emulator.call(lambda emu: forbidden.served) == 1


def test_an_unschedulable_pod_is_stalled_with_the_schedulers_message(
    emulator: RunningEmulator, operator: OperatorHarness, cluster: Cluster
) -> None:
    with operator.running():
        emulator.create(FTJ, finetunejob("nogpu"))
        pod = cluster.start_pod("nogpu", running=False)
        message = (
            "0/3 nodes are available: 3 Insufficient nvidia.com/gpu. preemption: 0/3 nodes are available"
        )
        emulator.patch(
            PODS,
            NS,
            pod["metadata"]["name"],
            {
                "status": {
                    "phase": "Pending",
                    "conditions": [
                        {
                            "type": "PodScheduled",
                            "status": "False",
                            "reason": "Unschedulable",
                            "message": message,
                        }
                    ],
                }
            },
            status=True,
        )
        stalled = wait_for(
            "Stalled", lambda: (c := cluster.condition("nogpu", "Stalled")) and c["status"] == "True" and c
        )
        assert stalled["reason"] == "Unschedulable"
        assert message in stalled["message"]
        assert cluster.status("nogpu")["phase"] == "Pending"  # FineTuneJobStuck watches Pending
        cluster.wait_events("nogpu", ("Warning", "Unschedulable"))
        operator.wait_metrics('tradetune_finetunejob_phase{name="nogpu",namespace="tt",phase="Pending"} 1.0')


def test_a_diverged_run_fails_instead_of_freezing_the_job(
    emulator: RunningEmulator, operator: OperatorHarness, cluster: Cluster
) -> None:
    with operator.running():
        emulator.create(FTJ, finetunejob("nan"))
        pod = cluster.start_pod("nan")
        cluster.wait_phase("nan", "Running")
        # What an old trainer wrote with json.dumps: literal NaN, which no API server stores.
        raw = '{"outcome":"Succeeded","reason":"Completed","metrics":{"perplexity":NaN,"trainLoss":NaN}}'
        cluster.finish_pod("nan", pod, message=raw)
        failed = _failed(cluster, "nan")
        assert failed["reason"] == "Diverged"
        assert "metrics.trainLoss=nan" in failed["message"]
        assert "metrics" not in cluster.status("nan")


def test_a_deployment_the_api_server_refuses_degrades_the_model_serve(
    emulator: RunningEmulator, operator: OperatorHarness, cluster: Cluster
) -> None:
    with operator.running():
        emulator.create(
            MSERVE,
            modelserve(
                "tolms",
                model={"path": "/models/tiny"},
                auth="none",
                resources={"tolerations": [BAD_TOLERATION]},
            ),
        )

        def degraded() -> dict[str, Any] | None:
            status = (emulator.get(MSERVE, NS, "tolms") or {}).get("status") or {}
            conds = {c["type"]: c for c in status.get("conditions") or []}
            return conds.get("Degraded") if conds.get("Degraded", {}).get("status") == "True" else None

        cond = wait_for("Degraded", degraded)
        assert cond["reason"] == "InvalidSpec"
        assert "the API server refused to create Deployment tolms-vllm" in cond["message"]
        assert emulator.get(DEPLOYMENTS, NS, "tolms-vllm") is None
        assert emulator.get(JOBS, NS, "tolms-train") is None
