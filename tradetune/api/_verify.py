"""Live verification: does the server answer as well as the model measured offline?

One pure rule shared by the operator (before and after a ModelServe switches traffic) and
`tradetune run` (after vLLM starts): each live metric is compared with the metric the job
recorded, in the direction that matters, with a relative tolerance. A live model better than
its record passes; a worse one passes only within the tolerance. Defaults are wide enough for
a different engine, dtype and item subset (noise) and tight enough to catch a broken
deployment: the base model served under the tuned name, an adapter that did not load, a
wrong chat template, a truncated context. A metric the reference has but the live run did not
measure fails ("not measured"), as in the gate.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from pydantic import Field

from tradetune.api._common import SpecModel
from tradetune.api._gate import GateResult, MetricVerdict
from tradetune.api._result import LOWER_IS_BETTER, EvalMetrics

# Metrics compared live, in verdict order.
VERIFIED_METRICS = ("perplexity", "pineSyntaxScore", "pineParseRate", "taskAccuracy")


class Tolerance(SpecModel):
    """How much worse than the job's recorded metric a live metric may be, relative to it."""

    perplexity: float = Field(
        0.10,
        description="Live perplexity may be at most this share above the recorded one (0.10 = +10%).",
        ge=0,
        le=100,
    )
    pine_syntax_score: float = Field(
        0.25,
        description="Live PineScript syntax score may be at most this share below the recorded one.",
        ge=0,
        le=1,
    )
    pine_parse_rate: float = Field(
        0.25,
        description="Live PineScript parse rate may be at most this share below the recorded one.",
        ge=0,
        le=1,
    )
    task_accuracy: float = Field(
        0.25,
        description="Live task accuracy may be at most this share below the recorded one.",
        ge=0,
        le=1,
    )

    def of(self, metric: str) -> float:
        """The tolerance of a metric by its camelCase name."""
        for name, info in type(self).model_fields.items():
            if info.alias == metric:
                return float(getattr(self, name))
        raise KeyError(metric)


def _fmt(value: float) -> str:
    return format(value, ".6g")


def _verdict(
    metric: str, live: float | None, reference: float, tolerance: float, items: int | None = None
) -> MetricVerdict:
    if live is None or not math.isfinite(live):
        return MetricVerdict(
            metric=metric,
            value=None,
            base_value=reference,
            passed=False,
            message=f"{metric} not measured live (recorded {_fmt(reference)}): failed",
        )
    if metric in LOWER_IS_BETTER:
        limit = reference * (1 + tolerance)
        ok = live <= limit
        rel = "<=" if ok else ">"
        text = f"{metric} live {_fmt(live)} {rel} recorded {_fmt(reference)} +{tolerance:.0%}"
        return MetricVerdict(
            metric=metric, value=live, base_value=reference, max=limit, passed=ok,
            message=f"{text}: {'ok' if ok else 'failed'}",
        )  # fmt: skip
    # A rate counted over n items moves by 1/n when one generation changes (a merged or
    # re-quantized model may word one answer differently): that much is noise, not a broken
    # deployment, so the allowance is the larger of the tolerance and one item.
    one_item = 1 / items if items else 0.0
    slack = max(reference * tolerance, one_item)
    limit = reference - slack
    ok = live >= limit
    rel = ">=" if ok else "<"
    allowance = f"-{tolerance:.0%}" if slack > one_item else f"- one of {items} items"
    text = f"{metric} live {_fmt(live)} {rel} recorded {_fmt(reference)} {allowance}"
    return MetricVerdict(
        metric=metric, value=live, base_value=reference, min=limit, passed=ok,
        message=f"{text}: {'ok' if ok else 'failed'}",
    )  # fmt: skip


def verify_live(
    live: EvalMetrics,
    recorded: EvalMetrics,
    tolerance: Tolerance | None = None,
    items: Mapping[str, int] | None = None,
) -> GateResult:
    """Per-metric verdicts of the live metrics against the recorded ones (value = live, baseValue = recorded).

    Only metrics the record has are compared; with nothing to compare the result fails, since
    a verification that checked nothing must not let traffic move. `items` gives, per rate
    metric, how many items it was counted over: a rate may then also fall by one item.
    """
    tol = tolerance or Tolerance()
    verdicts = []
    for metric in VERIFIED_METRICS:
        reference = recorded.value(metric)
        if reference is None or not math.isfinite(reference):
            continue
        count = (items or {}).get(metric)
        verdicts.append(_verdict(metric, live.value(metric), reference, tol.of(metric), count))
    if not verdicts:
        return GateResult(passed=False, summary="Failed: no recorded metric to compare", verdicts=[])
    failed = [v.metric for v in verdicts if not v.passed]
    summary = f"Passed {len(verdicts)}/{len(verdicts)}" if not failed else "Failed: " + ", ".join(failed)
    return GateResult(passed=not failed, summary=summary, verdicts=verdicts)


def verified_condition(result: GateResult) -> tuple[bool, str, str]:
    """The Verified condition (status, reason, message) of a live verification, for every driver."""
    if result.passed:
        return True, "Verified", f"the live model answers as recorded: {result.summary}"
    return False, "VerificationFailed", f"the live model does not answer as recorded: {result.summary}"
