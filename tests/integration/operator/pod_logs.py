"""Container logs for the emulator: what the kubelet would serve at `pods/{name}/log`.

The test plays the kubelet: it appends lines to a pod's container log (each stamped with the
time it was written) and the emulator answers `GET .../pods/{name}/log` as the API server does,
honouring `container`, `tailLines` and `sinceSeconds`: 400 when the container is not in the
pod, 404 when the pod does not exist, plain text otherwise.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


class LogRequestError(Exception):
    """What the API server answers a bad log request with."""

    def __init__(self, status: int, reason: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.reason = reason
        self.message = message


@dataclass
class PodLogs:
    """Lines by (namespace, pod, container), each with the time it was written."""

    clock: Callable[[], float] = time.time
    lines: dict[tuple[str, str, str], list[tuple[float, str]]] = field(default_factory=dict)
    reads: int = 0

    def append(self, namespace: str, pod: str, container: str, text: str) -> None:
        now = self.clock()
        bucket = self.lines.setdefault((namespace, pod, container), [])
        bucket.extend((now, line) for line in text.splitlines())

    def serve(self, namespace: str, pod: dict[str, Any], params: dict[str, str]) -> str:
        """The log text a GET with `params` gets (raises LogRequestError for a bad request)."""
        name = pod["metadata"]["name"]
        containers = [c.get("name") for c in (pod.get("spec") or {}).get("containers") or []]
        container = params.get("container")
        if container is None:
            if len(containers) != 1:
                raise LogRequestError(400, "BadRequest", f"a container name must be specified for pod {name}")
            container = str(containers[0])
        if container not in containers:
            raise LogRequestError(400, "BadRequest", f"container {container} is not valid for pod {name}")
        entries = list(self.lines.get((namespace, name, container), []))
        since = params.get("sinceSeconds")
        if since is not None:
            floor = self.clock() - _positive(since, "sinceSeconds")
            entries = [(t, line) for t, line in entries if t >= floor]
        tail = params.get("tailLines")
        if tail is not None:
            count = _positive(tail, "tailLines", allow_zero=True)
            entries = entries[-count:] if count else []
        self.reads += 1
        return "".join(line + "\n" for _, line in entries)


def _positive(raw: str, name: str, *, allow_zero: bool = False) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise LogRequestError(400, "BadRequest", f"{name}: invalid value {raw!r}") from None
    if value < 0 or (value == 0 and not allow_zero):
        raise LogRequestError(400, "BadRequest", f"{name}: must be positive, got {value}")
    return value
