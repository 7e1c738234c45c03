"""The trainer's Job and pods as the FineTuneJob lifecycle reads them.

A pod is reduced to a `PodView`: pending, stalled (a waiting reason that will not fix itself,
such as an image pull back-off, or `PodScheduled=False` from the scheduler), running,
succeeded or failed, with the failure reason and the
TrainResult the trainer wrote to its termination message. Pure functions of the objects the
API server returned.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

from tradetune.api import TrainResult
from tradetune.errors import InvalidInput
from tradetune.operator import builders

# Waiting reasons of a container that will not fix themselves quickly: the job is Stalled.
STALLED_WAITING = frozenset(
    {
        "ImagePullBackOff",
        "ErrImagePull",
        "InvalidImageName",
        "CreateContainerConfigError",
        "CreateContainerError",
        "CrashLoopBackOff",
    }
)


# The kubelet's CreateContainerConfigError message for a secretKeyRef whose Secret is missing.
MISSING_SECRET = re.compile(r'secret "(?P<name>[^"]+)" not found', re.IGNORECASE)


def missing_secret(pod: dict[str, Any]) -> str | None:
    """The name of a Secret a container of `pod` waits for because it does not exist, if any."""
    for status in (pod.get("status") or {}).get("containerStatuses") or []:
        waiting = (status.get("state") or {}).get("waiting") or {}
        if waiting.get("reason") == "CreateContainerConfigError":
            found = MISSING_SECRET.search(str(waiting.get("message") or ""))
            if found is not None:
                return found["name"]
    return None


@dataclass(frozen=True)
class PodView:
    """One trainer pod, reduced to what the lifecycle needs."""

    name: str
    created: str
    state: Literal["pending", "stalled", "running", "succeeded", "failed"]
    reason: str = ""
    message: str = ""
    started: str | None = None
    finished: str | None = None
    result: TrainResult | None = None
    result_error: str | None = None
    result_error_reason: str = "BadTrainerResult"  # or Diverged: non-finite training loss


def _trainer_status(pod: dict[str, Any]) -> dict[str, Any]:
    statuses = (pod.get("status") or {}).get("containerStatuses") or []
    for status in statuses:
        if status.get("name") == builders.TRAINER_CONTAINER:
            return dict(status)
    return dict(statuses[0]) if statuses else {}


def view_pod(pod: dict[str, Any]) -> PodView:
    """Classify a trainer pod and pull out its failure reason and TrainResult."""
    meta = pod.get("metadata") or {}
    status = pod.get("status") or {}
    phase = status.get("phase", "Pending")
    container = _trainer_status(pod)
    state = container.get("state") or {}
    name, created = str(meta.get("name", "")), str(meta.get("creationTimestamp", ""))
    terminated = state.get("terminated") or {}
    message = str(terminated.get("message") or "")
    result: TrainResult | None = None
    result_error: str | None = None
    error_reason = "BadTrainerResult"
    if message.strip().startswith("{"):
        try:
            result = TrainResult.from_termination_message(message)
        except InvalidInput as exc:
            result_error, error_reason = exc.message, exc.reason
    if phase == "Succeeded":
        return PodView(
            name,
            created,
            "succeeded",
            started=terminated.get("startedAt") or status.get("startTime"),
            finished=terminated.get("finishedAt"),
            result=result,
            result_error=result_error if message else "the trainer wrote no termination message",
            result_error_reason=error_reason,
        )
    if phase == "Failed":
        exit_code = terminated.get("exitCode")
        if terminated.get("reason") == "OOMKilled":
            reason = "OOMKilled"
            text = f"the trainer was killed for exceeding its memory limit (exit code {exit_code})"
        elif result is not None and result.outcome == "Failed":
            reason, text = result.reason, result.message or result.reason
        elif status.get("reason"):
            reason, text = str(status["reason"]), str(status.get("message") or status["reason"])
        else:
            reason = "TrainerFailed"
            tail = message.strip().splitlines()[-1][:300] if message.strip() else ""
            text = f"the trainer exited with code {exit_code}" + (f": {tail}" if tail else "")
        return PodView(
            name,
            created,
            "failed",
            reason,
            text,
            started=terminated.get("startedAt") or status.get("startTime"),
            finished=terminated.get("finishedAt"),
            result=result,
        )
    waiting = state.get("waiting") or {}
    unscheduled = _unschedulable(status)
    if phase == "Pending" and unscheduled is not None:
        return PodView(name, created, "stalled", "Unschedulable", unscheduled)
    if waiting.get("reason") in STALLED_WAITING:
        text = str(waiting.get("message") or "")
        secret = missing_secret(pod)
        if secret is not None:
            return PodView(
                name,
                created,
                "stalled",
                "SecretNotFound",
                f"Secret {secret} does not exist: create it, or fix the secret reference in the spec",
            )
        return PodView(name, created, "stalled", str(waiting["reason"]), text)
    if phase == "Running" and "running" in state:
        return PodView(
            name, created, "running", started=state["running"].get("startedAt") or status.get("startTime")
        )
    return PodView(
        name, created, "pending", str(waiting.get("reason") or ""), str(waiting.get("message") or "")
    )


def _unschedulable(status: dict[str, Any]) -> str | None:
    """The scheduler's message when it cannot place the pod (no GPU node, missing PVC, quota)."""
    for cond in status.get("conditions") or []:
        unscheduled = cond.get("type") == "PodScheduled" and cond.get("status") == "False"
        if unscheduled and cond.get("reason", "Unschedulable") == "Unschedulable":
            return str(cond.get("message") or "the scheduler found no node for the pod")
    return None


def job_condition(job: dict[str, Any], kind: str) -> dict[str, Any] | None:
    for cond in (job.get("status") or {}).get("conditions") or []:
        if cond.get("type") == kind and cond.get("status") == "True":
            return dict(cond)
    return None
