"""The metrics table shows pineValidRate beside pineParseRate, with its verdict."""

from __future__ import annotations

from tradetune.api import Bound, EvalMetrics, Thresholds, gate
from tradetune.metrics_table import metric_rows


def test_valid_rate_row_with_base_threshold_and_verdict() -> None:
    tuned = EvalMetrics(perplexity=5.0, pine_parse_rate=1.0, pine_valid_rate=0.5)
    base = EvalMetrics(perplexity=9.0, pine_parse_rate=1.0, pine_valid_rate=0.25)
    verdict = gate(tuned, Thresholds(pine_valid_rate=Bound(min=0.75)), base, compare_to_base=True)
    rows = {r[0]: r for r in metric_rows(tuned, base, verdict)}
    assert list(rows)[-2:] == ["pineParseRate", "pineValidRate"]
    assert rows["pineValidRate"][1] == "0.25" and rows["pineValidRate"][2] == "0.5"
    assert "0.75" in rows["pineValidRate"][3] and "FAIL" in rows["pineValidRate"][4].upper()
