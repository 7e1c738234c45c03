"""Why a ModelServe's server pods cannot serve, read from their container statuses.

A vLLM container that exits (a bad model, an OOM kill, wrong arguments) is restarted by the
kubelet with a growing back-off; its Deployment only shows "not available" until the
progress deadline, an hour later. The pods say it at once: a waiting reason of
CrashLoopBackOff with the last termination (reason, exit code and the termination message,
which is the log tail under `FallbackToLogsOnError`). This module turns that into the one
(reason, message) the ModelServe's Degraded condition shows. Pure: pods in, verdict out.
"""

from __future__ import annotations

from typing import Any

from tradetune.operator.builders import SERVER_CONTAINER

# Waiting reasons that will not resolve by themselves (a missing Secret key, a bad image, ...).
STUCK_WAITING = {
    "CrashLoopBackOff",
    "ImagePullBackOff",
    "ErrImagePull",
    "InvalidImageName",
    "CreateContainerConfigError",
    "CreateContainerError",
}
MESSAGE_LIMIT = 1024


def _last_lines(text: str, limit: int = MESSAGE_LIMIT) -> str:
    text = text.strip()
    return text if len(text) <= limit else "..." + text[-(limit - 3) :]


def _termination(terminated: dict[str, Any]) -> str:
    reason = terminated.get("reason") or "Error"
    code = terminated.get("exitCode")
    said = _last_lines(str(terminated.get("message") or ""))
    head = f"{reason}, exit code {code}" if code is not None else str(reason)
    return f"{head}: {said}" if said else head


def container_failure(status: dict[str, Any]) -> tuple[str, str] | None:
    """(reason, message) for one container status that cannot serve, else None."""
    state = status.get("state") or {}
    last = (status.get("lastState") or {}).get("terminated") or {}
    waiting = state.get("waiting") or {}
    terminated = state.get("terminated") or {}
    if terminated.get("reason") == "OOMKilled":
        return "OOMKilled", f"the server ran out of memory ({_termination(terminated)})"
    reason = waiting.get("reason")
    if reason == "CrashLoopBackOff":
        if last.get("reason") == "OOMKilled":
            return "OOMKilled", f"the server ran out of memory and is restarted ({_termination(last)})"
        said = _termination(last) if last else str(waiting.get("message") or "")
        restarts = int(status.get("restartCount") or 0)
        return "CrashLoopBackOff", f"the server exited {restarts} time(s); last: {said}"
    if reason in STUCK_WAITING:
        return str(reason), _last_lines(str(waiting.get("message") or reason))
    return None


def server_failure(pods: list[dict[str, Any]]) -> tuple[str, str] | None:
    """The first failing server container among `pods` (named after its pod), else None."""
    for pod in sorted(pods, key=lambda p: str((p.get("metadata") or {}).get("name"))):
        if (pod.get("metadata") or {}).get("deletionTimestamp"):
            continue
        for status in (pod.get("status") or {}).get("containerStatuses") or []:
            if status.get("name") != SERVER_CONTAINER:
                continue
            failure = container_failure(status)
            if failure is not None:
                name = (pod.get("metadata") or {}).get("name")
                return failure[0], f"pod {name}: {failure[1]}"
    return None
