"""The FineTuneJob status a reconcile writes, and the Events that announce its changes.

`StatusBuilder` starts from the status the API server returned and changes it one condition at a
time; what a finished trainer run earns comes from `tradetune.jobstatus` (the rule `tradetune
run` uses too) through `apply`. `events` turns the conditions that changed into Events, in the
order things happen (gate, promotion, then the overall Ready) and one per reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from pydantic import ValidationError

from tradetune.api import FineTuneJobStatus, get_condition, rfc3339, set_condition
from tradetune.jobstatus import Outcome, apply_outcome, failure, short
from tradetune.operator.ownership import NAME_CONFLICT
from tradetune.operator.trainer_pod import STALLED_WAITING

# Ready reasons that deserve a Warning event.
WARNING_REASONS = frozenset(
    {
        "InvalidSpec",
        "OOMKilled",
        "DeadlineExceeded",
        "BackoffLimitExceeded",
        "TrainerFailed",
        "JobDeleted",
        "JobConflict",
        "ResultUnavailable",
        "BadTrainerResult",
        "GateFailed",
        "Evicted",
        "SecretNotFound",
        "ModelServeDeleted",
        NAME_CONFLICT,
        "Forbidden",
        "Unschedulable",
        "Diverged",
        "ResultTooLarge",
        *STALLED_WAITING,
    }
)
# Conditions that get an Event when they change, in the order they happen in a job's life.
EVENT_CONDITIONS = ("GatePassed", "Promoted", "Ready")


@dataclass(frozen=True)
class Event:
    type: Literal["Normal", "Warning"]
    reason: str
    message: str


def old_status(body: dict[str, Any]) -> FineTuneJobStatus:
    """The status as stored; an unreadable one counts as empty (it is recomputed from the children)."""
    raw = body.get("status")
    if not isinstance(raw, dict):
        return FineTuneJobStatus()
    try:
        return FineTuneJobStatus.model_validate(raw)
    except ValidationError:
        return FineTuneJobStatus()


def dump(status: FineTuneJobStatus) -> dict[str, Any]:
    return status.model_dump(by_alias=True, exclude_none=True, mode="json")


class StatusBuilder:
    """Accumulates the new status and its events from the old one."""

    def __init__(self, old: FineTuneJobStatus, generation: int | None, now: datetime) -> None:
        self.old = old
        self.new = old.model_copy(deep=True)
        self.new.observed_generation = generation
        self.generation = generation
        self.now = now
        self.stamp = rfc3339(now)

    def cond(self, type_: str, status: bool | Literal["Unknown"], reason: str, message: str = "") -> None:
        self.new.conditions = set_condition(
            self.new.conditions, type_, status, reason, message, self.generation, self.stamp
        )

    def ready(self, ok: bool, reason: str, message: str, *, column: str | None = None) -> None:
        """Ready (the whole message) and status.message: `column`, or the message cut for the column."""
        self.cond("Ready", ok, reason, message)
        self.new.message = short(column or message)

    def apply(self, outcome: Outcome) -> None:
        self.new = apply_outcome(self.new, outcome, self.generation, self.stamp)

    def fail(self, reason: str, message: str, *, trained: bool | None = False) -> None:
        self.apply(failure(reason, message, trained=trained))

    def stalled(self, reason: str, message: str) -> None:
        self.cond("Stalled", True, reason, message)

    def clear_stalled(self) -> None:
        """Stalled holds only while the cause lasts (kstatus)."""
        stalled = get_condition(self.new.conditions, "Stalled")
        if stalled is not None and stalled.status == "True":
            self.cond("Stalled", False, "Progressing", "")

    def events(self) -> list[Event]:
        """One event per changed GatePassed/Promoted/Ready condition, in that order, one per reason."""
        out: list[Event] = []
        for type_ in EVENT_CONDITIONS:
            new = get_condition(self.new.conditions, type_)
            old = get_condition(self.old.conditions, type_)
            if new is None or (
                old is not None
                and (old.status, old.reason, old.message) == (new.status, new.reason, new.message)
            ):
                continue
            warn = new.reason in WARNING_REASONS or (type_ != "Ready" and new.status == "False")
            event = Event("Warning" if warn else "Normal", new.reason, new.message or new.reason)
            if any(e.reason == event.reason for e in out):
                continue  # e.g. Promoted=False/GateFailed and Ready=False/GateFailed: one event
            out.append(event)
        return out
