"""The FineTuneJob status a finished trainer run earns: TrainResult + gate -> FineTuneJobStatus.

One pure function, so `tradetune run` (which writes it to `<output>/status.yaml`) and the
operator (which patches it onto the object) give a job the same phase, conditions, metrics and
gate verdicts for the same result. It calls the one gate, `tradetune.api.gate`.

Conditions and reasons (the operator's vocabulary):
- trainer failed:  Trained=False/<result.reason>, Failed=True, Succeeded=False, Ready=False; phase Failed
- gate failed:     Trained=True/TrainingSucceeded, Evaluated=True/MetricsRecorded,
                   GatePassed=False/ThresholdsNotMet, Promoted=False/GateFailed (when promote is
                   asked), Failed=True/GateFailed, Succeeded=False, Ready=False; phase Failed
- gate passed:     GatePassed=True/ThresholdsMet, Succeeded=True/GatePassed, Failed=False,
                   Ready=True/Succeeded; phase Succeeded; Promoted as the caller reports it
                   (`promotion`): Unknown/Promoting until the caller knows, then True or False
                   with the caller's reason (locally ServedLocally / NotServed).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from tradetune.api import (
    Condition,
    ConditionStatus,
    EvalMetrics,
    FineTuneJobSpec,
    FineTuneJobStatus,
    GateResult,
    TrainResult,
    gate,
    rfc3339,
    set_condition,
)


@dataclass(frozen=True)
class Promotion:
    """What became of the promotion: `done` True/False, or None while still under way."""

    done: bool | None
    reason: str
    message: str = ""


def metrics_summary(metrics: EvalMetrics | None) -> str:
    """`perplexity 12.3, taskAccuracy 0.41, ...`: the headline numbers for a condition message."""
    if metrics is None:
        return "no metrics reported"
    parts = []
    for name in ("perplexity", "evalLoss", "taskAccuracy", "pineSyntaxScore", "pineParseRate"):
        value = metrics.value(name)
        if value is not None:
            parts.append(f"{name} {value:.4g}")
    return ", ".join(parts) or "no metrics reported"


def gate_condition(verdict: GateResult) -> tuple[bool, str, str]:
    """The GatePassed condition for a gate verdict: (status, reason, message)."""
    detail = "; ".join(v.message for v in verdict.verdicts) or "no thresholds set"
    reason = "ThresholdsMet" if verdict.passed else "ThresholdsNotMet"
    return verdict.passed, reason, f"{verdict.summary}: {detail}"


def gate_failed_message(verdict: GateResult) -> str:
    return f"the model did not pass its gate: {verdict.summary}"


def gate_passed_message(verdict: GateResult) -> str:
    return f"trained, evaluated and passed the gate ({verdict.summary})"


NOTHING_PROMOTED = "the gate failed, so nothing was promoted"


def finetunejob_status(
    result: TrainResult,
    spec: FineTuneJobSpec,
    *,
    generation: int | None = 1,
    start_time: str | None = None,
    completion_time: str | None = None,
    promotion: Promotion | None = None,
    previous: FineTuneJobStatus | None = None,
    now: datetime | str | None = None,
) -> FineTuneJobStatus:
    """The status of a job whose trainer run ended with `result` (pure: no clock unless `now` is None).

    `previous` keeps lastTransitionTime of conditions whose status did not change (API
    conventions) and the start time; `completion_time` defaults to `now`.
    """
    stamp = now if isinstance(now, str) else rfc3339(now)
    old = previous or FineTuneJobStatus()
    conditions: list[Condition] = list(old.conditions)

    def cond(type_: str, status: bool | ConditionStatus, reason: str, message: str = "") -> None:
        nonlocal conditions
        conditions = set_condition(conditions, type_, status, reason, message, generation, stamp)

    status = FineTuneJobStatus(
        observed_generation=generation,
        start_time=start_time or old.start_time,
        completion_time=completion_time or stamp,
        attempts=result.attempts,
        job_name=old.job_name,
        artifacts=result.artifacts,
    )

    if result.outcome == "Failed":
        message = result.message or result.reason
        cond("Trained", False, result.reason, message)
        cond("Failed", True, result.reason, message)
        cond("Succeeded", False, result.reason, message)
        cond("Ready", False, result.reason, message)
        return status.model_copy(update={"phase": "Failed", "conditions": conditions, "message": message})

    metrics = result.metrics or EvalMetrics()
    evaluation = spec.evaluation
    verdict = gate(
        metrics, evaluation.thresholds, result.base_metrics, compare_to_base=evaluation.compare_to_base
    )
    cond("Trained", True, "TrainingSucceeded", f"training finished: {result.reason}")
    cond("Evaluated", True, "MetricsRecorded", metrics_summary(result.metrics))
    update = {"metrics": metrics, "base_metrics": result.base_metrics, "gate": verdict}

    cond("GatePassed", *gate_condition(verdict))
    if not verdict.passed:
        message = gate_failed_message(verdict)
        if spec.promote is not None:
            cond("Promoted", False, "GateFailed", NOTHING_PROMOTED)
        cond("Failed", True, "GateFailed", message)
        cond("Succeeded", False, "GateFailed", message)
        cond("Ready", False, "GateFailed", message)
        return status.model_copy(
            update={**update, "phase": "Failed", "conditions": conditions, "message": message}
        )

    message = gate_passed_message(verdict)
    cond("Failed", False, "GatePassed")
    cond("Succeeded", True, "GatePassed", message)
    if spec.promote is not None:
        promo = promotion or Promotion(None, "Promoting", f"promoting to {spec.promote.model_serve}")
        state: bool | ConditionStatus = "Unknown" if promo.done is None else promo.done
        cond("Promoted", state, promo.reason, promo.message)
        if promo.message:
            message = f"{message}; {promo.message}"
    cond("Ready", True, "Succeeded", message)
    return status.model_copy(
        update={**update, "phase": "Succeeded", "conditions": conditions, "message": message}
    )
