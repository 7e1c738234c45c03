"""The promotion gate: thresholds and the comparison with the base model, as one pure function.

Rules (docs/api.md repeats them for users):
- every bound in `thresholds` checks its metric; a metric with a bound but no value fails
  ("not measured"): a gate must never pass because a measurement was skipped;
- with `compare_to_base`, the tuned model must be strictly better than the base on perplexity
  (both must be measured) and not worse on every other compared metric that both measured
  (taskAccuracy, pineSyntaxScore, pineParseRate, pineValidRate, evalLoss);
- `passed` is the AND of all verdicts (no checks at all passes).
The operator and `tradetune run` both call `gate`, so a job passes or fails the same way on a
cluster and on a laptop.
"""

from __future__ import annotations

from pydantic import Field

from tradetune.api._common import SpecModel, StatusModel
from tradetune.api._result import LOWER_IS_BETTER, EvalMetrics
from tradetune.api._rules import Rule, at_least_one

# The order verdicts appear in; also the metrics a threshold can name.
GATED_METRICS = (
    "perplexity",
    "evalLoss",
    "pineSyntaxScore",
    "pineParseRate",
    "pineValidRate",
    "taskAccuracy",
)
# Compared with the base model when both measured them (perplexity is required, see above).
BASE_COMPARED = ("evalLoss", "pineSyntaxScore", "pineParseRate", "pineValidRate", "taskAccuracy")


class Bound(SpecModel):
    """Acceptable range of one metric; either end may be left open."""

    rules = (
        Rule(
            "!has(self.min) || !has(self.max) || self.min <= self.max",
            "min must be <= max",
            lambda m: m.min is None or m.max is None or m.min <= m.max,
        ),
        at_least_one("min", "max"),
    )

    min: float | None = Field(None, description="Lowest acceptable value (inclusive).")
    max: float | None = Field(None, description="Highest acceptable value (inclusive).")


class Thresholds(SpecModel):
    """Bounds the tuned model's metrics must meet before it is promoted."""

    perplexity: Bound | None = Field(None, description="Bound on the response perplexity on the test split.")
    eval_loss: Bound | None = Field(None, description="Bound on the validation loss.")
    pine_syntax_score: Bound | None = Field(None, description="Bound on the PineScript syntax score (0-1).")
    pine_parse_rate: Bound | None = Field(None, description="Bound on the PineScript parse rate (0-1).")
    pine_valid_rate: Bound | None = Field(
        None, description="Bound on the share of PineScript programs that pass the v5 semantic check (0-1)."
    )
    task_accuracy: Bound | None = Field(None, description="Bound on the computed-task accuracy (0-1).")

    def bound(self, metric: str) -> Bound | None:
        """The bound for a metric by its camelCase name."""
        for name, info in type(self).model_fields.items():
            if info.alias == metric:
                value = getattr(self, name)
                return value if isinstance(value, Bound) else None
        raise KeyError(metric)


class MetricVerdict(StatusModel):
    """The gate's judgement of one metric."""

    metric: str = Field(description="Metric name, e.g. perplexity.")
    value: float | None = Field(None, description="Value of the tuned model (unset: not measured).")
    base_value: float | None = Field(None, description="Value of the base model, when compared.")
    min: float | None = Field(None, description="Lower bound applied.")
    max: float | None = Field(None, description="Upper bound applied.")
    passed: bool = Field(description="Whether every check on this metric passed.")
    message: str = Field(description='What was checked, e.g. "perplexity 12.3 <= max 20: ok".')


class GateResult(StatusModel):
    """Outcome of the promotion gate."""

    passed: bool = Field(description="True when every verdict passed.")
    summary: str = Field(
        "", description='Short outcome for printer columns, e.g. "Passed 3/3" or "Failed: perplexity".'
    )
    verdicts: list[MetricVerdict] = Field(default_factory=list, description="One verdict per checked metric.")


def _fmt(value: float) -> str:
    return format(value, ".6g")


def _threshold_checks(metric: str, value: float | None, bound: Bound) -> list[tuple[bool, str]]:
    if value is None:
        return [(False, f"{metric} not measured: failed")]
    checks: list[tuple[bool, str]] = []
    if bound.min is not None:
        ok = value >= bound.min
        rel = ">=" if ok else "<"
        checks.append((ok, f"{metric} {_fmt(value)} {rel} min {_fmt(bound.min)}: {'ok' if ok else 'failed'}"))
    if bound.max is not None:
        ok = value <= bound.max
        rel = "<=" if ok else ">"
        checks.append((ok, f"{metric} {_fmt(value)} {rel} max {_fmt(bound.max)}: {'ok' if ok else 'failed'}"))
    return checks


def _base_check(metric: str, value: float | None, base: float | None) -> tuple[bool, str] | None:
    lower = metric in LOWER_IS_BETTER
    if metric == "perplexity":
        if value is None or base is None:
            missing = "tuned model" if value is None else "base model"
            return False, f"perplexity of the {missing} not measured, cannot compare to base: failed"
        ok = value < base
        rel = "<" if ok else ">="
        return (
            ok,
            f"perplexity {_fmt(value)} {rel} base {_fmt(base)}: {'ok' if ok else 'not better than base'}",
        )
    if value is None or base is None:
        return None  # compared only when both sides measured it
    ok = value <= base if lower else value >= base
    rel = ("<=" if ok else ">") if lower else (">=" if ok else "<")
    return ok, f"{metric} {_fmt(value)} {rel} base {_fmt(base)}: {'ok' if ok else 'worse than base'}"


def gate(
    metrics: EvalMetrics,
    thresholds: Thresholds,
    base_metrics: EvalMetrics | None = None,
    *,
    compare_to_base: bool = False,
) -> GateResult:
    """Judge the tuned model's metrics; pure, so the same inputs always give the same verdicts."""
    verdicts: list[MetricVerdict] = []
    for metric in GATED_METRICS:
        value = metrics.value(metric)
        base = base_metrics.value(metric) if base_metrics is not None else None
        bound = thresholds.bound(metric)
        checks: list[tuple[bool, str]] = []
        if bound is not None:
            checks.extend(_threshold_checks(metric, value, bound))
        compared = False
        if compare_to_base and (metric == "perplexity" or metric in BASE_COMPARED):
            result = _base_check(metric, value, base)
            if result is not None:
                checks.append(result)
                compared = True
        if not checks:
            continue
        verdicts.append(
            MetricVerdict(
                metric=metric,
                value=value,
                base_value=base if compared else None,
                min=bound.min if bound is not None else None,
                max=bound.max if bound is not None else None,
                passed=all(ok for ok, _ in checks),
                message="; ".join(text for _, text in checks),
            )
        )
    passed = all(v.passed for v in verdicts)
    failed = [v.metric for v in verdicts if not v.passed]
    summary = f"Passed {len(verdicts)}/{len(verdicts)}" if passed else "Failed: " + ", ".join(failed)
    return GateResult(passed=passed, summary=summary, verdicts=verdicts)
