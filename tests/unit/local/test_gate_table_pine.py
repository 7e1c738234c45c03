"""The local run's gate table shows pineValidRate beside pineParseRate, with its verdict."""

from __future__ import annotations

from tradetune.api import Bound, EvalMetrics, FineTuneJobStatus, Thresholds, gate
from tradetune.local._table import metric_rows


def test_valid_rate_row_with_base_threshold_and_verdict() -> None:
    tuned = EvalMetrics(perplexity=5.0, pine_parse_rate=1.0, pine_valid_rate=0.5)
    base = EvalMetrics(perplexity=9.0, pine_parse_rate=1.0, pine_valid_rate=0.25)
    verdict = gate(tuned, Thresholds(pine_valid_rate=Bound(min=0.75)), base, compare_to_base=True)
    rows = {r[0]: r for r in metric_rows(FineTuneJobStatus(metrics=tuned, base_metrics=base, gate=verdict))}
    assert list(rows)[-2:] == ["pineParseRate", "pineValidRate"]
    assert rows["pineValidRate"][1:] == ("0.25", "0.5", ">= 0.75, vs base", "FAIL: 0.5 < min 0.75")
