"""The promotion gate: thresholds and the comparison with the base model, as one pure function.

Rules (docs/api.md repeats them for users):
- every bound in `thresholds` checks its metric; a metric with a bound but no value fails
  ("not measured"): a gate must never pass because a measurement was skipped;
- with `compare_to_base`, the tuned model must be strictly better than the base on perplexity
  (both must be measured) and not worse on every other compared metric that both measured
  (evalLoss: not higher; taskAccuracy, pineSyntaxScore, pineParseRate, pineValidRate: not lower). A score
  that is 0 for both models says nothing, so it is not compared (a note says so) rather than
  passed as "not worse";
- `passed` is the AND of all verdicts. A gate with no checks passes, which is why a job that
  promotes must name a threshold or compareToBase (a rule of FineTuneJobSpec).
The operator and `tradetune run` both call `gate`, so a job passes or fails the same way on a
cluster and on a laptop.
"""

from __future__ import annotations

from typing import Literal

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


class GateCheck(StatusModel):
    """One comparison the gate made: the metric's value against a bound or the base model."""

    kind: Literal["min", "max", "base"] = Field(description="What the value was compared with.")
    limit: float | None = Field(
        None, description="The bound, or the base model's value (unset: a side was not measured)."
    )
    relation: str = Field("", description='How the value stood to the limit: "<", "<=", ">", ">=".')
    passed: bool = Field(description="Whether this check passed.")
    outcome: str = Field(description="ok, failed, not measured, not better than base or worse than base.")


class MetricVerdict(StatusModel):
    """The gate's judgement of one metric."""

    metric: str = Field(description="Metric name, e.g. perplexity.")
    value: float | None = Field(None, description="Value of the tuned model (unset: not measured).")
    base_value: float | None = Field(None, description="Value of the base model, when compared.")
    min: float | None = Field(None, description="Lower bound applied.")
    max: float | None = Field(None, description="Upper bound applied.")
    passed: bool = Field(description="Whether every check on this metric passed.")
    message: str = Field(description='What was checked, e.g. "perplexity 12.3 <= max 20: ok".')
    checks: list[GateCheck] = Field(default_factory=list, description="Each comparison, in order.")


class GateResult(StatusModel):
    """Outcome of the promotion gate."""

    passed: bool = Field(description="True when every verdict passed.")
    summary: str = Field(
        "",
        description=(
            'Short outcome for printer columns, e.g. "Passed 5/5 checks" or "Failed: perplexity" '
            "(a check is one comparison; a metric with a bound and a base comparison has two)."
        ),
    )
    verdicts: list[MetricVerdict] = Field(default_factory=list, description="One verdict per checked metric.")
    notes: list[str] = Field(
        default_factory=list,
        description='Comparisons left out and why, e.g. "taskAccuracy not compared to base: both score 0".',
    )


def _fmt(value: float) -> str:
    return format(value, ".6g")


def _check(metric: str, value: float | None, check: GateCheck) -> tuple[bool, str, GateCheck]:
    if value is None or check.limit is None:
        return check.passed, f"{metric} {check.outcome}: failed", check
    word = "base" if check.kind == "base" else check.kind
    return (
        check.passed,
        f"{metric} {_fmt(value)} {check.relation} {word} {_fmt(check.limit)}: {check.outcome}",
        check,
    )


def _threshold_checks(metric: str, value: float | None, bound: Bound) -> list[tuple[bool, str, GateCheck]]:
    if value is None:
        kind: Literal["min", "max"] = "min" if bound.min is not None else "max"
        return [_check(metric, None, GateCheck(kind=kind, passed=False, outcome="not measured"))]
    checks = []
    if bound.min is not None:
        ok = value >= bound.min
        checks.append(
            _check(
                metric,
                value,
                GateCheck(
                    kind="min", limit=bound.min, relation=">=" if ok else "<", passed=ok, outcome=_ok(ok)
                ),
            )
        )
    if bound.max is not None:
        ok = value <= bound.max
        checks.append(
            _check(
                metric,
                value,
                GateCheck(
                    kind="max", limit=bound.max, relation="<=" if ok else ">", passed=ok, outcome=_ok(ok)
                ),
            )
        )
    return checks


def _ok(ok: bool) -> str:
    return "ok" if ok else "failed"


def _base_check(
    metric: str, value: float | None, base: float | None
) -> tuple[bool, str, GateCheck] | str | None:
    """The comparison with the base model; a note (str) when it says nothing; None when not compared."""
    lower = metric in LOWER_IS_BETTER
    if metric == "perplexity":
        if value is None or base is None:
            missing = "tuned model" if value is None else "base model"
            text = f"perplexity of the {missing} not measured, cannot compare to base: failed"
            return False, text, GateCheck(kind="base", limit=base, passed=False, outcome="not measured")
        ok = value < base
        check = GateCheck(
            kind="base",
            limit=base,
            relation="<" if ok else ">=",
            passed=ok,
            outcome="ok" if ok else "not better than base",
        )
        return _check(metric, value, check)
    if value is None or base is None:
        return None  # compared only when both sides measured it
    if not lower and value == 0 and base == 0:
        return f"{metric} not compared to base: both models score 0"
    ok = value <= base if lower else value >= base
    rel = ("<=" if ok else ">") if lower else (">=" if ok else "<")
    check = GateCheck(
        kind="base", limit=base, relation=rel, passed=ok, outcome="ok" if ok else "worse than base"
    )
    return _check(metric, value, check)


def summarize(verdicts: list[MetricVerdict]) -> str:
    """`Passed 5/5 checks`, `Failed: perplexity, taskAccuracy` or `No checks`: short, for a column."""
    total = sum(max(1, len(v.checks)) for v in verdicts)
    if not verdicts:
        return "No checks"
    failed = [v.metric for v in verdicts if not v.passed]
    if not failed:
        return f"Passed {total}/{total} checks"
    text = "Failed: " + ", ".join(failed)
    return text if len(text) <= 60 else f"Failed {len(failed)} of {len(verdicts)} metrics"


def gate(
    metrics: EvalMetrics,
    thresholds: Thresholds,
    base_metrics: EvalMetrics | None = None,
    *,
    compare_to_base: bool = False,
) -> GateResult:
    """Judge the tuned model's metrics; pure, so the same inputs always give the same verdicts."""
    verdicts: list[MetricVerdict] = []
    notes: list[str] = []
    for metric in GATED_METRICS:
        value = metrics.value(metric)
        base = base_metrics.value(metric) if base_metrics is not None else None
        bound = thresholds.bound(metric)
        checks: list[tuple[bool, str, GateCheck]] = []
        if bound is not None:
            checks.extend(_threshold_checks(metric, value, bound))
        compared = False
        if compare_to_base and (metric == "perplexity" or metric in BASE_COMPARED):
            result = _base_check(metric, value, base)
            if isinstance(result, str):
                notes.append(result)
            elif result is not None:
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
                passed=all(ok for ok, _, _ in checks),
                message="; ".join(text for _, text, _ in checks),
                checks=[check for _, _, check in checks],
            )
        )
    passed = all(v.passed for v in verdicts)
    return GateResult(passed=passed, summary=summarize(verdicts), verdicts=verdicts, notes=notes)
