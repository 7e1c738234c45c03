"""What the trainer reports: evaluation metrics, artifact locations and the whole TrainResult.

The trainer pod has no Kubernetes API rights; it hands its result to the operator through the
container's termination message, which Kubernetes caps at 4096 bytes. `to_termination_message`
therefore drops detail in a fixed order until the JSON fits, keeping the numbers the gate needs.
"""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import Field, ValidationError

from tradetune.api._common import CONDITION_REASON, StatusModel
from tradetune.errors import InvalidInput

TERMINATION_MESSAGE_LIMIT = 4096

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

    def to_termination_message(self, limit: int = TERMINATION_MESSAGE_LIMIT) -> str:
        """Compact JSON of at most `limit` bytes (UTF-8).

        Detail goes first, in this order: per-task accuracies, the samples and metrics-file paths,
        OOM recovery notes, timings, then the message is shortened. Outcome, reason, the headline
        metrics and the model paths survive unless nothing else is left to cut.
        """
        data: dict[str, Any] = self.model_dump(by_alias=True, exclude_none=True, mode="json")

        def encoded() -> bytes:
            return json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode()

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
        if len(encoded()) > limit:  # only the essentials: outcome and reason always fit
            data = {"outcome": data["outcome"], "reason": data["reason"], "message": "result too large"}
        return encoded().decode()

    @classmethod
    def from_termination_message(cls, text: str) -> TrainResult:
        """Parse what `to_termination_message` wrote; InvalidInput when it is not a TrainResult."""
        try:
            return cls.model_validate_json(text)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "(root)"
            raise InvalidInput(
                f"termination message is not a TrainResult: {where}: {first['msg']}",
                reason="BadTrainerResult",
            ) from None
