"""What the trainer reports: evaluation metrics, artifact locations and the whole TrainResult.

The trainer pod has no Kubernetes API rights; it hands its result to the operator through the
container's termination message, which Kubernetes caps at 4096 bytes. `to_termination_message`
therefore drops detail in a fixed order until the JSON fits, keeping the numbers the gate needs.
"""

from __future__ import annotations

import json
import math
from typing import Any, Literal

from pydantic import Field, ValidationError, model_validator

from tradetune.api._common import CONDITION_REASON, StatusModel
from tradetune.errors import InvalidInput, RuntimeFailure

TERMINATION_MESSAGE_LIMIT = 4096
RESULT_TOO_LARGE = "ResultTooLarge"

# Metric names as they appear in YAML/JSON, with the direction that counts as better.
LOWER_IS_BETTER = frozenset({"perplexity", "fullTextPerplexity", "evalLoss", "trainLoss"})


class EvalMetrics(StatusModel):
    """Evaluation results of one model on the test split. Unset means not measured."""

    perplexity: float | None = Field(
        None, description="Perplexity on the response tokens of the test split (lower is better)."
    )
    full_text_perplexity: float | None = Field(
        None, description="Perplexity on prompt and response tokens (lower is better)."
    )
    eval_loss: float | None = Field(
        None, description="Mean cross-entropy on the validation split (lower is better)."
    )
    train_loss: float | None = Field(None, description="Final training loss (lower is better).")
    pine_syntax_score: float | None = Field(
        None, description="Share of PineScript checks passed by generated code, 0-1 (higher is better)."
    )
    pine_parse_rate: float | None = Field(
        None, description="Share of generated PineScript programs that parse, 0-1 (higher is better)."
    )
    pine_valid_rate: float | None = Field(
        None,
        description="Share of generated PineScript programs that parse and pass the v5 semantic check "
        "(names, arity, declarations, version rules), 0-1 (higher is better).",
    )
    task_accuracy: float | None = Field(
        None, description="Share of computed-answer tasks answered correctly, 0-1 (higher is better)."
    )
    task_accuracy_by_task: dict[str, float] = Field(
        default_factory=dict, description="Task accuracy per task id (higher is better)."
    )

    def value(self, metric: str) -> float | None:
        """The value of a metric by its camelCase name (as used in thresholds and verdicts)."""
        for name, info in type(self).model_fields.items():
            if metric in (info.alias, name):
                got = getattr(self, name)
                return got if isinstance(got, float | int) and not isinstance(got, bool) else None
        raise KeyError(metric)


class Artifacts(StatusModel):
    """Where the outputs of a training run live (paths inside the output volume)."""

    adapter: str | None = Field(None, description="Directory of the PEFT adapter (absent for method full).")
    merged: str | None = Field(None, description="Directory of the merged model, ready for vLLM.")
    dataset_fingerprint: str | None = Field(
        None, description="sha256 of the materialised training split: the data's identity."
    )
    samples: str | None = Field(
        None, description="File of generations kept for human review (samples.jsonl)."
    )
    metrics_file: str | None = Field(None, description="The full TrainResult (metrics.json).")
    output_claim_name: str | None = Field(
        None,
        description="The PersistentVolumeClaim the outputs were written to (set by the operator); "
        "ModelServe serves from here, not from the job's current spec.output.",
    )
    output_sub_path: str | None = Field(
        None, description="The sub-directory of that claim (spec.output.subPath, or else the job's name)."
    )


class TrainResult(StatusModel):
    """The outcome of one trainer run: written to metrics.json and, compacted, to the termination message."""

    outcome: Literal["Succeeded", "Failed"] = Field(description="Whether the run finished its work.")
    reason: str = Field(
        description="CamelCase reason, e.g. Completed, OutOfMemory, InvalidSpec.",
        min_length=1,
        max_length=128,
        pattern=CONDITION_REASON,
    )
    message: str = Field("", description="Human-readable details.")
    metrics: EvalMetrics | None = Field(None, description="Metrics of the tuned model.")
    base_metrics: EvalMetrics | None = Field(None, description="Metrics of the base model, when measured.")
    artifacts: Artifacts | None = Field(None, description="Where the outputs were written.")
    timings: dict[str, float] = Field(default_factory=dict, description="Seconds spent per phase.")
    attempts: int = Field(1, description="Training attempts made (OOM recovery retries count).", ge=0)
    oom_recoveries: list[str] = Field(
        default_factory=list, description="What was changed to recover from out-of-memory errors."
    )

    @model_validator(mode="after")
    def _metrics_are_finite(self) -> TrainResult:
        """NaN or Inf is no measurement: a gate must never judge it, JSON cannot carry it.

        Raises RuntimeFailure (not a ValueError, so pydantic passes it through unwrapped) with
        reason Diverged when the training loss went non-finite, BadTrainerResult otherwise: the
        trainer turns it into a Failed result, the operator into a Failed FineTuneJob.
        """
        bad = [
            f"{prefix}.{name}={value}"
            for prefix, metrics in (("metrics", self.metrics), ("baseMetrics", self.base_metrics))
            if metrics is not None
            for name, value in _numbers(metrics)
            if not math.isfinite(value)
        ]
        if not bad:
            return self
        diverged = self.metrics is not None and not math.isfinite(
            self.metrics.train_loss if self.metrics.train_loss is not None else 0.0
        )
        hint = (
            "lower spec.training.learningRate or use a warm-up"
            if diverged
            else "the run produced no usable model"
        )
        raise RuntimeFailure(
            f"non-finite metrics ({', '.join(bad)}): {hint}",
            reason="Diverged" if diverged else "BadTrainerResult",
        )

    def to_termination_message(self, limit: int = TERMINATION_MESSAGE_LIMIT) -> str:
        """Compact JSON of at most `limit` bytes (UTF-8).

        Detail goes first, in this order: per-task accuracies, the samples and metrics-file paths,
        OOM recovery notes, timings, then the message is shortened. Outcome, reason, the headline
        metrics and the model paths survive unless nothing else is left to cut.
        """
        data: dict[str, Any] = self.model_dump(by_alias=True, exclude_none=True, mode="json")

        def encoded() -> bytes:
            return json.dumps(data, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode()

        # (parent keys, key) to drop, in order, until the JSON fits.
        steps: list[list[tuple[str | None, str]]] = [
            [("metrics", "taskAccuracyByTask"), ("baseMetrics", "taskAccuracyByTask")],
            [("artifacts", "samples"), ("artifacts", "metricsFile")],
            [(None, "oomRecoveries")],
            [(None, "timings")],
        ]
        for step in steps:
            if len(encoded()) <= limit:
                return encoded().decode()
            for parent, key in step:
                holder = data if parent is None else data.get(parent)
                if isinstance(holder, dict):
                    holder.pop(key, None)
        text = encoded()
        if len(text) > limit:
            message = data.get("message", "")
            excess = len(text) - limit
            raw = message.encode()
            cut = raw[: max(0, len(raw) - excess - 3)].decode(errors="ignore")
            data["message"] = cut + "..." if cut or message else ""
        if len(encoded()) > limit:  # nothing left to cut: a failure, never a model without metrics
            data = {
                "outcome": "Failed",
                "reason": RESULT_TOO_LARGE,
                "message": f"the TrainResult does not fit the {limit}-byte termination message even "
                "without its details; the full result is in metrics.json in the output volume",
            }
        return encoded().decode()

    @classmethod
    def from_termination_message(cls, text: str) -> TrainResult:
        """Parse what `to_termination_message` wrote; InvalidInput when it is not a TrainResult."""
        try:
            return cls.model_validate_json(text)
        except RuntimeFailure as exc:  # non-finite metrics
            raise InvalidInput(f"the trainer reported {exc.message}", reason=exc.reason) from None
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "(root)"
            raise InvalidInput(
                f"termination message is not a TrainResult: {where}: {first['msg']}",
                reason="BadTrainerResult",
            ) from None


def _numbers(metrics: EvalMetrics) -> list[tuple[str, float]]:
    """Every number in `metrics` as (camelCase name, value), per-task accuracies included."""
    out: list[tuple[str, float]] = []
    for name, info in type(metrics).model_fields.items():
        value = getattr(metrics, name)
        alias = info.alias or name
        if isinstance(value, float | int) and not isinstance(value, bool):
            out.append((alias, float(value)))
        elif isinstance(value, dict):
            out.extend((f"{alias}.{k}", float(v)) for k, v in value.items())
    return out
