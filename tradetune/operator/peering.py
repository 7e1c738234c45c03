"""High availability: exactly one active replica, chosen by kopf peering with distinct priorities.

kopf's peering pauses an operator that sees a live peer of higher priority, and pauses *every*
operator when live peers share a priority. So each replica starts with its own random priority
(`TRADETUNE_PEERING_PRIORITY`, drawn once per process): the highest one works, the others keep
their watches open but handle nothing. When the active replica stops cleanly it removes its
peering record and the next one resumes at once; when it dies, its record expires after
`TRADETUNE_PEERING_LIFETIME` seconds and the next one resumes then.

kopf keeps its pause flag to itself, so the operator reads the same peering object and applies
the same rule (`is_active`, a pure function) to know whether this replica is the active one: the
`tradetune_operator_active` gauge, the `/healthz` probe and the operator's own periodic resync
follow it.
"""

from __future__ import annotations

import os
import random
import socket
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

IDENTITY_ENV = "POD_ID"  # kopf's own variable for its peering identity
PRIORITY_ENV = "TRADETUNE_PEERING_PRIORITY"


def ensure_identity_and_priority(env: dict[str, str] | os._Environ[str]) -> None:
    """Give this process a peering identity and a random priority unless set (kopf reads both)."""
    if not env.get(IDENTITY_ENV):
        env[IDENTITY_ENV] = f"{socket.gethostname()}-{os.getpid()}"
    if not env.get(PRIORITY_ENV):
        env[PRIORITY_ENV] = str(random.SystemRandom().randint(1, 2**31 - 1))


def _parse(stamp: Any) -> datetime | None:
    if not isinstance(stamp, str):
        return None
    try:
        moment = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def is_active(peers: Mapping[str, Any], identity: str, priority: int, now: datetime) -> bool:
    """Whether kopf lets the operator (`identity`, `priority`) work, given the peering status.

    The rule of kopf's `process_peering_event`: paused while any other live peer has a higher
    or the same priority. A peer is live until `lastseen + lifetime`. This replica must have
    announced itself (before that, kopf has not decided yet).
    """
    if identity not in peers:
        return False
    for other, info in peers.items():
        if other == identity or not isinstance(info, dict):
            continue
        seen = _parse(info.get("lastseen")) or now
        lifetime = timedelta(seconds=int(info.get("lifetime") or 60))
        if seen + lifetime <= now:
            continue  # dead: kopf removes it
        if int(info.get("priority") or 0) >= priority:
            return False
    return True
