"""The FineTuneJob status a finished trainer run earns: (spec, TrainResult, gate) -> phase and conditions.

`finished` is the one place that turns a trainer's result into phase, conditions, message and
metrics; the operator (`tradetune.operator.reconcile_finetunejob`, which patches it onto the
object) and `tradetune run` (which writes it to `<output>/status.yaml`) both apply its
`Outcome` with `apply_outcome`, so a job gets the same status for the same result on a cluster
and on a laptop (tests/unit/local/test_status_parity.py runs every TrainResult through both).
The operator records the metrics first (phase Evaluating) and gates in a second pass; it uses
the two halves `recorded` and `gated` that `finished` is made of.

Conditions and reasons:
- trainer failed:  Trained=False/<result.reason>, Failed=True, Succeeded=False, Ready=False; phase Failed
- gate failed:     Trained=True/TrainingSucceeded, Evaluated=True/MetricsRecorded,
                   GatePassed=False/ThresholdsNotMet, Promoted=False/GateFailed (when promote is
                   asked), Failed=True/GateFailed, Succeeded=False, Ready=False; phase Failed
- gate passed:     GatePassed=True/ThresholdsMet, Failed=False/GatePassed, Succeeded=True/GatePassed,
                   Promoted as the caller reports it (`Promotion`: Unknown/Promoting until the caller
                   knows, then True or False with its reason), Ready=True/Succeeded; phase Succeeded.
A terminal outcome also clears a Stalled condition: the job is no longer waiting on anything.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from tradetune.api import (
    Artifacts,
    ConditionStatus,
    EvalMetrics,
    FineTuneJobSpec,
    FineTuneJobStatus,
    GateResult,
    Phase,
    TrainResult,
    gate,
    get_condition,
    rfc3339,
    set_condition,
)

# Condition messages shown in columns (`status.message`) stay within this many characters.
COLUMN_MESSAGE_LIMIT = 80


@dataclass(frozen=True)
class Promotion:
    """What became of the promotion: `done` True/False, or None while still under way."""

    done: bool | None
    reason: str
    message: str = ""


@dataclass(frozen=True)
class Cond:
    """One condition to set: type, status, CamelCase reason, one-sentence message."""

    type: str
    status: bool | ConditionStatus
    reason: str
    message: str = ""


@dataclass(frozen=True)
class Outcome:
    """What a trainer run (or a step of it) earns: conditions in the order they happened."""

    phase: Phase | None
    conditions: tuple[Cond, ...]
    message: str
    metrics: EvalMetrics | None = None
    base_metrics: EvalMetrics | None = None
    gate: GateResult | None = None
    artifacts: Artifacts | None = None
    timings: dict[str, float] = field(default_factory=dict)
    terminal: bool = True


def short(text: str, limit: int = COLUMN_MESSAGE_LIMIT) -> str:
    """`text` cut to `limit` characters on a word boundary, with an ellipsis when cut (for columns)."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[: limit - 1].rsplit(" ", 1)[0].rstrip(",;:")
    return cut + "…"


def metrics_summary(metrics: EvalMetrics | None) -> str:
    """`perplexity 12.3, taskAccuracy 0.41, ...`: the headline numbers for a condition message."""
    if metrics is None:
        return "no metrics reported"
    parts = []
    for name in (
        "perplexity",
        "evalLoss",
        "taskAccuracy",
        "pineSyntaxScore",
        "pineParseRate",
        "pineValidRate",
    ):
        value = metrics.value(name)
        if value is not None:
            parts.append(f"{name} {value:.4g}")
    return ", ".join(parts) or "no metrics reported"


def timings_text(timings: dict[str, float]) -> str:
    """`train 5,123 s, evaluate 310 s, total 5,500 s`: the trainer's timings, rounded for people."""
    return ", ".join(f"{name} {seconds:,.0f} s" for name, seconds in timings.items())


def failure(reason: str, message: str, *, trained: bool | None = False) -> Outcome:
    """A job that failed for `reason`: Trained (unless None), Failed, Succeeded and Ready say so."""
    conds = [] if trained is None else [Cond("Trained", trained, reason, message)]
    conds += [
        Cond("Failed", True, reason, message),
        Cond("Succeeded", False, reason, message),
        Cond("Ready", False, reason, message),
    ]
    return Outcome("Failed", tuple(conds), short(message))


def recorded(result: TrainResult) -> Outcome:
    """A trainer run that succeeded: Trained (the trainer's own account) and Evaluated, metrics recorded."""
    account = result.message or f"finished ({result.reason})"
    took = timings_text(result.timings)
    trained = f"trainer: {account.rstrip('.')}" + (f"; took {took}" if took else "")
    summary = metrics_summary(result.metrics)
    return Outcome(
        "Evaluating",
        (
            Cond("Trained", True, "TrainingSucceeded", trained + "."),
            Cond("Evaluated", True, "MetricsRecorded", f"measured {summary}."),
            Cond("Ready", False, "Evaluating", f"checking the gate ({summary})"),
        ),
        short(f"checking the gate ({summary})"),
        metrics=result.metrics or EvalMetrics(),
        base_metrics=result.base_metrics,
        artifacts=result.artifacts or Artifacts(),
        timings=dict(result.timings),
        terminal=False,
    )


def gate_message(verdict: GateResult) -> str:
    """The GatePassed condition's message: one sentence with every check, then the notes."""
    checks = sum(max(1, len(v.checks)) for v in verdict.verdicts)
    detail = "; ".join(v.message for v in verdict.verdicts)
    if not verdict.verdicts:
        text = "no checks were set"
    elif verdict.passed:
        text = f"all {checks} checks passed: {detail}"
    else:
        failed = sum(1 for v in verdict.verdicts for c in v.checks if not c.passed)
        text = f"{failed} of {checks} checks failed: {detail}"
    notes = "; ".join(verdict.notes)
    return f"{text} ({notes})." if notes else f"{text}."


def gated(
    spec: FineTuneJobSpec,
    metrics: EvalMetrics,
    base_metrics: EvalMetrics | None,
    promotion: Promotion | None = None,
) -> Outcome:
    """Gate recorded metrics: GatePassed, Promoted (when asked), Failed/Succeeded and Ready."""
    evaluation = spec.evaluation
    verdict = gate(metrics, evaluation.thresholds, base_metrics, compare_to_base=evaluation.compare_to_base)
    conds = [
        Cond(
            "GatePassed",
            verdict.passed,
            "ThresholdsMet" if verdict.passed else "ThresholdsNotMet",
            gate_message(verdict),
        )
    ]
    checks = sum(max(1, len(v.checks)) for v in verdict.verdicts)
    if not verdict.passed:
        failed = [v.metric for v in verdict.verdicts if not v.passed]
        missed = sum(1 for v in verdict.verdicts for c in v.checks if not c.passed)
        message = f"the tuned model failed {missed} of {checks} gate checks ({', '.join(failed)})"
        if spec.promote is not None:
            conds.append(Cond("Promoted", False, "GateFailed", "nothing was promoted: the gate failed."))
        conds += [
            Cond("Failed", True, "GateFailed", message + "."),
            Cond("Succeeded", False, "GateFailed", message + "."),
            Cond("Ready", False, "GateFailed", message),
        ]
        return Outcome("Failed", tuple(conds), short(message), metrics, base_metrics, verdict)
    passed = f"all {checks} gate checks" if checks != 1 else "its one gate check"
    if not verdict.verdicts:
        passed = "a gate with no checks"
    conds += [
        Cond("Failed", False, "GatePassed", ""),
        Cond("Succeeded", True, "GatePassed", f"the tuned model passed {passed}."),
    ]
    ready = f"passed {passed}"
    if spec.promote is not None:
        promo = promotion or Promotion(
            None, "Promoting", f"promoting to ModelServe {spec.promote.model_serve}"
        )
        state: bool | ConditionStatus = "Unknown" if promo.done is None else promo.done
        conds.append(Cond("Promoted", state, promo.reason, promo.message))
        ready = f"{ready}; {promo.message.rstrip('.')}" if promo.message else ready
    conds.append(Cond("Ready", True, "Succeeded", ready))
    return Outcome("Succeeded", tuple(conds), short(ready), metrics, base_metrics, verdict)


def finished(spec: FineTuneJobSpec, result: TrainResult, promotion: Promotion | None = None) -> Outcome:
    """THE mapping: what a trainer run that ended with `result` earns under `spec`'s gate."""
    if result.outcome == "Failed":
        return failure(result.reason, result.message or result.reason)
    record = recorded(result)
    judged = gated(spec, record.metrics or EvalMetrics(), record.base_metrics, promotion)
    ready_free = tuple(c for c in record.conditions if c.type != "Ready")
    return Outcome(
        judged.phase,
        ready_free + judged.conditions,
        judged.message,
        judged.metrics,
        judged.base_metrics,
        judged.gate,
        record.artifacts,
        record.timings,
    )


def apply_outcome(
    status: FineTuneJobStatus, outcome: Outcome, generation: int | None, stamp: str
) -> FineTuneJobStatus:
    """`status` with the outcome's phase, conditions, message and numbers set (a new object)."""
    conditions = list(status.conditions)
    for c in outcome.conditions:
        conditions = set_condition(conditions, c.type, c.status, c.reason, c.message, generation, stamp)
    stalled = get_condition(conditions, "Stalled")
    if outcome.terminal and stalled is not None and stalled.status == "True":
        conditions = set_condition(
            conditions, "Stalled", False, outcome.phase or "Finished", "", generation, stamp
        )
    update: dict[str, object] = {"phase": outcome.phase, "conditions": conditions, "message": outcome.message}
    for name in ("metrics", "base_metrics", "gate", "artifacts"):
        value = getattr(outcome, name)
        if value is not None:
            update[name] = value
    if outcome.timings:
        update["timings"] = dict(outcome.timings)
    if outcome.terminal and status.completion_time is None:
        update["completion_time"] = stamp
    return status.model_copy(update=update)


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
    base = FineTuneJobStatus(
        observed_generation=generation,
        conditions=list(old.conditions),
        start_time=start_time or old.start_time,
        completion_time=completion_time or stamp,
        attempts=result.attempts,
        job_name=old.job_name,
        artifacts=result.artifacts,
    )
    return apply_outcome(base, finished(spec, result, promotion), generation, stamp)
