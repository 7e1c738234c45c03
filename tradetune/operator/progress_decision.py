"""What live progress does to a FineTuneJob: a pure function of its status and the newest record.

The progress loop (progress_loop.py) reads the last lines of the running trainer pod's
log at most once per interval per job; everything it decides is here, without I/O:

- `due`: whether this job's interval has passed since its last read (the throttle);
- `trainer_pod`: which pod to read - the running pod of the Job this FineTuneJob owns, never
  one that only carries the label;
- `decide_progress`: the status patch (only when `status.progress` or the phase changes) and
  the events - one at each stage change and one at each new evaluation, never one per line.

A missing or unreadable record leaves everything as it was: progress never fails a job.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from tradetune.api import ProgressRecord, ProgressStatus, progress_status, running_phase
from tradetune.errors import require
from tradetune.operator import builders
from tradetune.operator.ftj_status import Event

# Phases in which a trainer pod runs and its progress is worth reading.
TRAINING_PHASES = ("Running", "Evaluating")


@dataclass(frozen=True)
class ProgressSettings:
    """How often and how much of a trainer pod's log the operator reads."""

    interval: float = 15.0  # seconds between two reads of one job's log
    tail_lines: int = 50  # lines read from the end of the log

    @property
    def since_seconds(self) -> int:
        """The log window: wide enough that every line is inside it for at least two reads."""
        return max(60, int(4 * self.interval))


@dataclass(frozen=True)
class JobRef:
    """A trainer Job as the operator observed it."""

    name: str
    uid: str
    owner_uids: tuple[str, ...]


@dataclass(frozen=True)
class PodRef:
    """A trainer pod as the operator observed it."""

    name: str
    owner_uid: str | None  # uid of its controlling Job
    phase: str
    running: bool  # the trainer container has started
    created: str = ""


@dataclass
class ProgressDecision:
    """What to send: a status merge patch (or None), the events, and the block for the gauges."""

    patch: dict[str, Any] | None = None
    events: list[Event] = field(default_factory=list)
    progress: ProgressStatus | None = None
    advanced: bool = False  # stage or step moved since the status the decision started from


def due(last_read: float | None, now: float, settings: ProgressSettings) -> bool:
    """Whether a job's log may be read now: never more than once per interval."""
    return last_read is None or now - last_read >= settings.interval


def reading(status: dict[str, Any] | None) -> bool:
    """Whether a job is in a phase whose trainer pod is worth reading (no result recorded yet)."""
    status = status or {}
    return status.get("phase") in TRAINING_PHASES and not status.get("metrics")


def trainer_pod(ftj_name: str, ftj_uid: str, jobs: Iterable[JobRef], pods: Iterable[PodRef]) -> PodRef | None:
    """The running trainer pod of the Job this FineTuneJob owns (by uid), or None."""
    wanted = builders.job_name(ftj_name)
    job = next((j for j in jobs if j.name == wanted and ftj_uid in j.owner_uids), None)
    if job is None:
        return None
    running = [p for p in pods if p.owner_uid == job.uid and p.phase == "Running" and p.running]
    return max(running, key=lambda p: (p.created, p.name)) if running else None


def _eval_message(progress: ProgressStatus) -> str:
    ev = require(progress.eval_loss, "the evaluation loss of a new evaluation")
    latest = require(ev.latest, "the latest evaluation loss")
    where = f" at step {ev.step}" if ev.step is not None else ""
    if ev.best is None or latest <= ev.best:
        return f"eval loss {latest:.4g}{where}, best so far"
    return f"eval loss {latest:.4g}{where} (best {ev.best:.4g})"


def _stage_message(progress: ProgressStatus) -> str:
    text = f"stage {progress.stage}"
    if progress.stage == "training" and progress.total_steps:
        text += f": step {progress.step or 0} of {progress.total_steps}"
    return text


def _old_progress(status: dict[str, Any]) -> ProgressStatus | None:
    raw = status.get("progress")
    if not isinstance(raw, dict):
        return None
    try:
        return ProgressStatus.model_validate(raw)
    except ValueError:
        return None  # unreadable: replaced by the next record


def decide_progress(status: dict[str, Any] | None, record: ProgressRecord | None) -> ProgressDecision:
    """The patch and events that bring `status` up to `record` (see the module docstring)."""
    status = status or {}
    if record is None or not reading(status):
        return ProgressDecision()
    old = _old_progress(status)
    new = progress_status(record)
    decision = ProgressDecision(progress=new)
    new_doc = new.model_dump(by_alias=True, exclude_none=True, mode="json")
    old_doc = old.model_dump(by_alias=True, exclude_none=True, mode="json") if old is not None else None
    patch: dict[str, Any] = {}
    if new_doc != old_doc:
        patch["progress"] = new_doc
    phase = running_phase(new)
    if status.get("phase") != phase:
        patch["phase"] = phase
    decision.advanced = old is None or (old.stage, old.step, old.detail) != (new.stage, new.step, new.detail)
    if not patch:
        return decision
    decision.patch = {"status": patch}
    if old is None or old.stage != new.stage:
        decision.events.append(Event("Normal", "StageChanged", _stage_message(new)))
    ev, old_ev = new.eval_loss, old.eval_loss if old is not None else None
    if (
        ev is not None
        and ev.latest is not None
        and (old_ev is None or (old_ev.step, old_ev.latest) != (ev.step, ev.latest))
    ):
        decision.events.append(Event("Normal", "EvalLoss", _eval_message(new)))
    return decision
