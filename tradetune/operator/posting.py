"""Posting Kubernetes events from anywhere in the operator, kopf handler or loop of our own.

kopf's event poster is reachable only from the context of a kopf handler. The operator's own
loops (resync and live progress in runtime.py, which replace kopf timers so that no finalizer
holds FineTuneJobs) run outside one, so they post through a copy of a handler's context.
"""

from __future__ import annotations

import contextvars
import logging
from dataclasses import dataclass
from typing import Any, cast

import kopf

from tradetune.operator.ftj_status import Event

logger = logging.getLogger("tradetune.operator")


@dataclass
class EventPoster:
    """Posts events for one operator run, from kopf handlers and from the operator's own loops."""

    context: contextvars.Context | None = None  # a kopf handler's, for posting from our loops

    def remember_context(self) -> None:
        """Called from kopf handlers: keep their context so our own loops can post events too."""
        if self.context is None:
            self.context = contextvars.copy_context()

    def post(self, body: dict[str, Any], events: list[Event]) -> None:
        """Post `events` about `body` (messages cut to what the API server accepts)."""
        for event in events:

            def send(event: Event = event) -> None:
                kopf.event(
                    cast(Any, body), type=event.type, reason=event.reason, message=event.message[:1024]
                )

            try:
                send()
            except LookupError:  # outside any kopf handler: post through a handler's context
                if self.context is None:
                    logger.info("event %s not posted: the operator is still starting", event.reason)
                    continue
                self.context.run(send)
