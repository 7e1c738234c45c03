"""The cluster roles a rollout test plays, and the ModelServe it rolls out.

Beside conftest.py's Cluster (trainer Job, kubelet, Deployment controller): the Job controller
and kubelet of a verification Job, whose pod reports what `tradetune evaluate --endpoint`
measured through its termination message, exactly like the training pod.
"""

from __future__ import annotations

import secrets
from typing import Any

from tests.integration.operator.conftest import (
    DEPLOYMENTS,
    FTJ,
    JOBS,
    MSERVE,
    NS,
    PODS,
    SERVICES,
    Cluster,
    finetunejob,
    modelserve,
    train_result,
    wait_for,
)
from tests.integration.operator.running_emulator import RunningEmulator
from tradetune.api import EvalMetrics, TrainResult
from tradetune.operator.builders import verify as vb
from tradetune.operator.rollout import verify_job_name

NAME = "desk"
MAIN = f"{NAME}-vllm"
CANDIDATE = f"{NAME}-vllm-candidate"
SECRET = {"name": "llm-key", "key": "api-key"}


def live_result(perplexity: float = 8.6, task_accuracy: float = 0.8) -> str:
    """What `tradetune evaluate --endpoint` writes to the termination message."""
    return TrainResult(
        outcome="Succeeded",
        reason="Evaluated",
        message="16 items",
        metrics=EvalMetrics(
            perplexity=perplexity, pine_syntax_score=0.9, pine_parse_rate=0.85, task_accuracy=task_accuracy
        ),
    ).to_termination_message()


def model_revision(emu: RunningEmulator, ftj: str) -> str:
    """The model revision a FineTuneJob's artifacts are served as (uid/generation)."""
    meta = (emu.get(FTJ, NS, ftj) or {})["metadata"]
    return f"{meta['uid']}/{meta['generation']}"


def finish_verification(emu: RunningEmulator, job_name: str, message: str) -> None:
    """The Job controller runs the verification pod; the kubelet records its termination message."""
    job = wait_for(f"Job {job_name}", lambda: emu.get(JOBS, NS, job_name))
    template = job["spec"]["template"]
    pod_name = f"{job_name}-{secrets.token_hex(3)[:5]}"
    owner = {"apiVersion": "batch/v1", "kind": "Job", "name": job_name, "uid": job["metadata"]["uid"]}
    emu.create(
        PODS,
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {
                "name": pod_name,
                "namespace": NS,
                "labels": {**template["metadata"]["labels"], "batch.kubernetes.io/job-name": job_name},
                "ownerReferences": [{**owner, "controller": True}],
            },
            "spec": template["spec"],
        },
    )
    terminated = {"exitCode": 0, "reason": "Completed", "message": message}
    container = {"name": "trainer", "ready": False, "state": {"terminated": terminated}}
    emu.patch(
        PODS, NS, pod_name, {"status": {"phase": "Succeeded", "containerStatuses": [container]}}, status=True
    )
    complete = [{"type": "Complete", "status": "True", "reason": "CompletionsReached"}]
    emu.patch(JOBS, NS, job_name, {"status": {"succeeded": 1, "conditions": complete}}, status=True)


def verified(cluster: Cluster, mserve: str, rev: str, message: str | None = None) -> None:
    """A ModelServe's revision becomes available and its live verification passes."""
    cluster.deployment_available(vb.revision_deployment_name(mserve, rev))
    finish_verification(cluster.emu, verify_job_name(mserve, rev, "verify"), message or live_result())


class Rollout:
    """The cluster roles around one ModelServe's rollout."""

    def __init__(self, emu: RunningEmulator, cluster: Cluster) -> None:
        self.emu, self.cluster = emu, cluster

    def trained(self, ftj: str) -> str:
        """A FineTuneJob that trained and passed its gate; returns its model revision."""
        self.emu.create(FTJ, finetunejob(ftj))
        pod = self.cluster.start_pod(ftj)
        self.cluster.finish_pod(ftj, pod, message=train_result())
        self.cluster.wait_phase(ftj, "Succeeded")
        body = self.emu.get(FTJ, NS, ftj) or {}
        return f"{body['metadata']['uid']}/{body['metadata']['generation']}"

    def status(self) -> dict[str, Any]:
        return (self.emu.get(MSERVE, NS, NAME) or {}).get("status") or {}

    def condition(self, type_: str) -> dict[str, Any]:
        return next((c for c in self.status().get("conditions") or [] if c["type"] == type_), {})

    def deployment(self, revision: str) -> dict[str, Any]:
        name = vb.revision_deployment_name(NAME, revision)
        return wait_for(f"Deployment {name}", lambda: self.emu.get(DEPLOYMENTS, NS, name))  # type: ignore[no-any-return]

    def available(self, revision: str) -> None:
        self.cluster.deployment_available(vb.revision_deployment_name(NAME, revision))

    def selects(self, revision: str) -> dict[str, Any]:
        """Wait until the main Service selects exactly `revision`'s pods; return it."""

        def pointed() -> dict[str, Any] | None:
            svc = self.emu.get(SERVICES, NS, MAIN) or {}
            return svc if svc["spec"]["selector"] == vb.revision_selector(NAME, revision) else None

        return wait_for(f"{MAIN} selecting {revision}", pointed)  # type: ignore[no-any-return]

    def finish_job(self, job_name: str, message: str) -> None:
        finish_verification(self.emu, job_name, message)

    def crash_loop(self, revision: str) -> None:
        """The kubelet restarts the revision's server container over and over."""
        deployment = self.deployment(revision)
        template = deployment["spec"]["template"]
        pod_name = f"{deployment['metadata']['name']}-7f9c-{secrets.token_hex(2)}"
        self.emu.create(
            PODS,
            {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {"name": pod_name, "namespace": NS, "labels": template["metadata"]["labels"]},
                "spec": template["spec"],
            },
        )
        waiting = {"reason": "CrashLoopBackOff", "message": "back-off 40s restarting failed container"}
        last = {"terminated": {"exitCode": 1, "reason": "Error", "message": "CUDA error: out of memory"}}
        self.emu.patch(
            PODS,
            NS,
            pod_name,
            {
                "status": {
                    "phase": "Running",
                    "containerStatuses": [
                        {
                            "name": "vllm",
                            "ready": False,
                            "restartCount": 4,
                            "state": {"waiting": waiting},
                            "lastState": last,
                        }
                    ],
                }
            },
            status=True,
        )

    def verified_first(self, revision: str) -> None:
        """The first revision: candidate up, verification passes, the Service selects it."""
        self.deployment(revision)
        self.available(revision)
        self.finish_job(verify_job_name(NAME, revision, "verify"), live_result())
        self.selects(revision)
        wait_for("Stable", lambda: self.status()["rollout"]["phase"] == "Stable")

    def second_switched(self, **rollout: Any) -> tuple[str, str]:
        """A ModelServe (with `rollout` as spec.rollout) serving r1, then r2 verified and switched to.

        Returns (r1, r2); the window that follows the switch is what each test goes on with.
        """
        r1 = self.trained("pine")
        self.emu.create(MSERVE, serve("pine", **rollout))
        self.verified_first(r1)
        r2 = self.trained("pine2")
        switch_to(self.emu, "pine2")
        self.available(r2)
        self.finish_job(verify_job_name(NAME, r2, "verify"), live_result())
        self.selects(r2)
        return r1, r2


def serve(source: str, **rollout: Any) -> dict[str, Any]:
    return modelserve(NAME, model={"fromFineTuneJob": source}, apiKeySecretRef=SECRET, rollout=rollout)


def switch_to(emulator: RunningEmulator, source: str) -> None:
    emulator.patch(MSERVE, NS, NAME, {"spec": {"model": {"fromFineTuneJob": source}}})


def names(emulator: RunningEmulator, resource: str) -> list[str]:
    return sorted(o["metadata"]["name"] for o in emulator.list(resource, NS))
