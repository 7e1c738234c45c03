"""A ModelServe whose vLLM cannot start says so within seconds, with the container's last words.

The test plays the ReplicaSet controller and the kubelet: it creates the server pod from the
Deployment's template and patches its container status as a kubelet does when vLLM exits
(CrashLoopBackOff with the last termination, then an OOM kill). The operator must turn each
into `Degraded` with that reason and message from the pod event alone, well before the
periodic resync (30 s in these tests) or the Deployment's hour-long progress deadline.
It also owns a NetworkPolicy that admits only its namespace.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.operator.conftest import (
    DEPLOYMENTS,
    MSERVE,
    NETWORKPOLICIES,
    NOW,
    NS,
    PODS,
    Cluster,
    OperatorHarness,
    wait_for,
)
from tests.integration.operator.running_emulator import RunningEmulator

pytestmark = pytest.mark.timeout(120)
NAME = "desk"
CHILD = f"{NAME}-vllm"
# What vLLM prints last when the model directory is wrong (FallbackToLogsOnError puts the log
# tail in the termination message).
CRASH = "ValueError: Invalid repository ID or local directory specified: '/models/missing'"


def modelserve() -> dict[str, Any]:
    return {
        "apiVersion": "tradetune.dev/v1alpha1",
        "kind": "ModelServe",
        "metadata": {"name": NAME, "namespace": NS},
        "spec": {
            "model": {"path": "missing"},
            "volume": {"claimName": "models"},
            "apiKeySecretRef": {"name": "desk-key"},
            "resources": {"gpus": 0},
        },
    }


def server_pod(emulator: RunningEmulator) -> str:
    """The ReplicaSet controller creates a pod from the Deployment's template."""
    deployment = wait_for("Deployment", lambda: emulator.get(DEPLOYMENTS, NS, CHILD))
    template = deployment["spec"]["template"]
    pod = emulator.create(
        PODS,
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {
                "name": f"{CHILD}-7d9f-abcde",
                "namespace": NS,
                "labels": template["metadata"]["labels"],
            },
            "spec": template["spec"],
        },
    )
    return str(pod["metadata"]["name"])


def kubelet(emulator: RunningEmulator, pod: str, container: dict[str, Any], phase: str = "Running") -> None:
    status = {"name": "vllm", "image": "server", "imageID": "", "containerID": "", **container}
    emulator.patch(PODS, NS, pod, {"status": {"phase": phase, "containerStatuses": [status]}}, status=True)


def degraded(emulator: RunningEmulator, reason: str) -> dict[str, Any]:
    def seen() -> dict[str, Any] | None:
        status = (emulator.get(MSERVE, NS, NAME) or {}).get("status") or {}
        cond = next((c for c in status.get("conditions") or [] if c["type"] == "Degraded"), None)
        return cond if cond and cond["status"] == "True" and cond["reason"] == reason else None

    # Well under the 30 s resync: only the pod event can have triggered it.
    result: dict[str, Any] = wait_for(f"Degraded {reason}", seen, timeout=15)
    return result


def test_crash_loop_and_oom_show_as_degraded_with_the_last_message(
    emulator: RunningEmulator, operator: OperatorHarness, cluster: Cluster
) -> None:
    with operator.running():
        emulator.create(MSERVE, modelserve())
        policy = wait_for("NetworkPolicy", lambda: emulator.get(NETWORKPOLICIES, NS, CHILD))
        assert policy["metadata"]["ownerReferences"][0]["name"] == NAME
        assert policy["spec"]["ingress"][0]["from"] == [{"podSelector": {}}]
        pod = server_pod(emulator)
        kubelet(emulator, pod, {"ready": False, "restartCount": 0, "state": {"running": {"startedAt": NOW}}})

        kubelet(
            emulator,
            pod,
            {
                "ready": False,
                "restartCount": 2,
                "state": {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 20s restarting"}},
                "lastState": {"terminated": {"exitCode": 1, "reason": "Error", "message": CRASH}},
            },
        )
        cond = degraded(emulator, "CrashLoopBackOff")
        assert CRASH in cond["message"] and "exit code 1" in cond["message"]
        status = emulator.get(MSERVE, NS, NAME)["status"]  # type: ignore[index]
        ready = next(c for c in status["conditions"] if c["type"] == "Ready")
        assert (ready["status"], ready["reason"]) == ("False", "CrashLoopBackOff")
        cluster.wait_events(NAME, ("Warning", "CrashLoopBackOff"))

        kubelet(
            emulator,
            pod,
            {
                "ready": False,
                "restartCount": 3,
                "state": {"waiting": {"reason": "CrashLoopBackOff"}},
                "lastState": {
                    "terminated": {"exitCode": 137, "reason": "OOMKilled", "message": "loading weights"}
                },
            },
        )
        cond = degraded(emulator, "OOMKilled")
        assert "exit code 137" in cond["message"] and "out of memory" in cond["message"]

        # Fixed (more memory): the pod runs and the Deployment is available again.
        kubelet(emulator, pod, {"ready": True, "restartCount": 3, "state": {"running": {"startedAt": NOW}}})
        cluster.deployment_available(CHILD)
        wait_for(
            "Ready and no longer Degraded",
            lambda: (
                {
                    (c["type"], c["status"])
                    for c in (emulator.get(MSERVE, NS, NAME) or {}).get("status", {}).get("conditions", [])
                }
                >= {("Ready", "True"), ("Degraded", "False")}
            ),
        )
