"""The progress contract: the trainer's event lines, and the `status.progress` block built from them.

The trainer pod has no Kubernetes API rights, so it reports progress the only way it can: one
line on stdout per event, `TRADETUNE {json}`. The operator reads the last lines of the pod's
log and keeps the newest record; `tradetune run` gets the same records in-process. Both turn a
record into `status.progress` with the one function `progress_status`, so a cluster run and a
local run read the same (docs/contracts.md, "Progress records").

A record is a full snapshot (stage, step, losses, rates), so the newest line alone is enough
and a lost line costs nothing. Lines without the prefix, lines cut short, records of another
contract version and records that fail validation are skipped, never raised: progress is a
courtesy and must never fail a job.
"""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic.alias_generators import to_camel

from tradetune.api._common import DATE_TIME, StatusModel, rfc3339

PREFIX = "TRADETUNE "
CONTRACT_VERSION = 1
Stage = Literal["dataset", "loading", "training", "exporting", "merging", "evaluating"]
STAGES: tuple[Stage, ...] = ("dataset", "loading", "training", "exporting", "merging", "evaluating")
# Longest line the operator considers (a record is a few hundred bytes).
MAX_LINE = 8192


class ProgressRecord(BaseModel):
    """One `progress` event line of the trainer (contract version 1)."""

    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="ignore", allow_inf_nan=False
    )

    v: Literal[1] = Field(1, description="Contract version (major).")
    event: Literal["progress"] = Field("progress", description="Record kind.")
    ts: float = Field(description="Unix time the trainer wrote the record.", ge=0)
    stage: Stage = Field(description="What the trainer is doing.")
    step: int | None = Field(None, ge=0, description="Optimizer steps done (training).")
    total_steps: int | None = Field(None, ge=0, description="Optimizer steps planned.")
    epoch: float | None = Field(None, ge=0, description="Epochs done, fractional.")
    train_loss: float | None = Field(None, description="Training loss of the latest logging step.")
    eval_loss: float | None = Field(None, description="Validation loss of the latest evaluation.")
    eval_step: int | None = Field(None, ge=0, description="Step of the latest evaluation.")
    best_eval_loss: float | None = Field(None, description="Lowest validation loss so far.")
    tokens_per_second: float | None = Field(None, ge=0, description="Training tokens per second.")
    steps_per_second: float | None = Field(None, ge=0, description="Optimizer steps per second.")
    stage_done: int | None = Field(None, ge=0, description="Items done in a stage that is not training.")
    stage_total: int | None = Field(None, ge=0, description="Items of that stage.")
    detail: str | None = Field(None, max_length=128, description="The stage's own name, e.g. perplexity.")
    metrics: dict[str, float] = Field(default_factory=dict, description="Other numbers of the step.")

    def line(self) -> str:
        """The record as the trainer prints it (one line, with the prefix)."""
        return PREFIX + json.dumps(
            self.model_dump(by_alias=True, exclude_none=True, exclude_defaults=False), separators=(",", ":")
        )


class Metric(StatusModel):
    """One named value, as Kubeflow Trainer's `trainerStatus.metrics` (value as a string)."""

    name: str = Field(description="Metric name, e.g. loss, eval_loss, learning_rate.")
    value: str = Field(description="Value, as a string.")


class EvalLossStatus(StatusModel):
    """The validation loss: latest and best, with the step of the latest evaluation."""

    latest: float | None = Field(None, description="Validation loss of the latest evaluation.")
    best: float | None = Field(None, description="Lowest validation loss so far.")
    step: int | None = Field(None, description="Step of the latest evaluation.")


class ProgressStatus(StatusModel):
    """Live progress of the trainer (field names follow Kubeflow Trainer's trainerStatus)."""

    stage: Stage | None = Field(
        None, description="dataset, loading, training, exporting, merging or evaluating."
    )
    detail: str | None = Field(None, description="Sub-step of the stage (e.g. perplexity (tuned)).")
    step: int | None = Field(None, description="Optimizer steps done.")
    total_steps: int | None = Field(None, description="Optimizer steps planned.")
    epoch: float | None = Field(None, description="Epochs done, fractional.")
    progress_percentage: int | None = Field(
        None, ge=0, le=100, description="Share of the training steps done (0-100); 100 once training ends."
    )
    train_loss: float | None = Field(None, description="Training loss of the latest logging step.")
    eval_loss: EvalLossStatus | None = Field(None, description="Validation loss, latest and best.")
    tokens_per_second: float | None = Field(None, description="Training throughput in tokens per second.")
    estimated_remaining_seconds: int | None = Field(
        None, ge=0, description="Estimated seconds until training ends (from the step rate)."
    )
    estimated_completion_time: str | None = Field(
        None, description="When training should end (RFC 3339).", json_schema_extra=DATE_TIME
    )
    eta: str | None = Field(None, description="Estimated time left, for people (e.g. 1h05m).")
    metrics: list[Metric] = Field(
        default_factory=list, description="The latest numbers reported by the trainer, by name."
    )
    last_updated_time: str | None = Field(
        None, description="When the trainer wrote this progress (RFC 3339).", json_schema_extra=DATE_TIME
    )


def parse_line(line: str) -> ProgressRecord | None:
    """The record on one log line, or None for anything else (foreign, cut short, other version)."""
    line = line.strip()
    if not line.startswith(PREFIX) or len(line) > MAX_LINE:
        return None
    try:
        raw = json.loads(line[len(PREFIX) :])
    except ValueError:
        return None
    if not isinstance(raw, dict) or raw.get("event") != "progress" or raw.get("v") != CONTRACT_VERSION:
        return None
    try:
        return ProgressRecord.model_validate(raw)
    except ValidationError:
        return None


def latest_record(text: str) -> ProgressRecord | None:
    """The newest valid record in a piece of log (the last one that parses)."""
    for line in reversed(text.splitlines()):
        record = parse_line(line)
        if record is not None:
            return record
    return None


def format_duration(seconds: float) -> str:
    """`45s`, `12m30s`, `3h05m`, `2d04h`: short enough for a printer column."""
    total = max(0, round(seconds))
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d{hours:02d}h"
    if hours:
        return f"{hours}h{minutes:02d}m"
    if minutes:
        return f"{minutes}m{secs:02d}s"
    return f"{secs}s"


def remaining_seconds(record: ProgressRecord) -> float | None:
    """Training time left from the step rate: (total - done) / steps per second; None if unknown."""
    if record.stage != "training":
        return None
    rate = record.steps_per_second
    if record.step is None or not record.total_steps or rate is None or rate <= 0:
        return None
    return max(0, record.total_steps - record.step) / rate


def _training_over(record: ProgressRecord) -> bool:
    return STAGES.index(record.stage) > STAGES.index("training")


def _percent(record: ProgressRecord) -> int | None:
    if _training_over(record):
        return 100
    if record.stage != "training" or record.step is None or not record.total_steps:
        return 0 if record.stage in ("dataset", "loading") else None
    return max(0, min(100, math.floor(100 * record.step / record.total_steps)))


def _number(value: float) -> str:
    return f"{value:.6g}"


def progress_status(record: ProgressRecord) -> ProgressStatus:
    """`status.progress` for a record: the one mapping both drivers (operator, `tradetune run`) use.

    Pure: the times come from the record, so the same record always gives the same block and
    an unchanged log gives no status patch.
    """
    at = datetime.fromtimestamp(record.ts, tz=UTC)
    left = remaining_seconds(record)
    metrics: list[Metric] = []
    if record.train_loss is not None:
        metrics.append(Metric(name="loss", value=_number(record.train_loss)))
    if record.eval_loss is not None:
        metrics.append(Metric(name="eval_loss", value=_number(record.eval_loss)))
    if record.epoch is not None:
        metrics.append(Metric(name="currentEpoch", value=_number(record.epoch)))
    metrics.extend(Metric(name=k, value=_number(v)) for k, v in sorted(record.metrics.items()))
    has_eval = record.eval_loss is not None or record.best_eval_loss is not None
    return ProgressStatus(
        stage=record.stage,
        detail=record.detail,
        step=record.step,
        total_steps=record.total_steps,
        epoch=round(record.epoch, 4) if record.epoch is not None else None,
        progress_percentage=_percent(record),
        train_loss=record.train_loss,
        eval_loss=(
            EvalLossStatus(latest=record.eval_loss, best=record.best_eval_loss, step=record.eval_step)
            if has_eval
            else None
        ),
        tokens_per_second=(
            round(record.tokens_per_second, 1) if record.tokens_per_second is not None else None
        ),
        estimated_remaining_seconds=round(left) if left is not None else None,
        estimated_completion_time=rfc3339(at + timedelta(seconds=left)) if left is not None else None,
        eta=format_duration(left) if left is not None else None,
        metrics=metrics,
        last_updated_time=rfc3339(at),
    )


def running_phase(progress: ProgressStatus | dict[str, Any] | None) -> Literal["Running", "Evaluating"]:
    """The phase of a job whose trainer pod runs: Evaluating while its progress says so."""
    stage = progress.get("stage") if isinstance(progress, dict) else getattr(progress, "stage", None)
    return "Evaluating" if stage == "evaluating" else "Running"
