"""Live verification: live metrics against the recorded ones, one-sided, with relative tolerances."""

from __future__ import annotations

import math

import pytest

from tradetune.api import EvalMetrics, Tolerance, verify_live

RECORDED = EvalMetrics(perplexity=10.0, pine_syntax_score=0.8, pine_parse_rate=0.9, task_accuracy=0.5)


def test_equal_or_better_live_metrics_pass() -> None:
    better = EvalMetrics(perplexity=9.0, pine_syntax_score=0.9, pine_parse_rate=1.0, task_accuracy=0.6)
    for live in (RECORDED, better):
        result = verify_live(live, RECORDED)
        assert result.passed and result.summary == "Passed 4/4"


def test_within_tolerance_passes_and_beyond_fails_with_the_limit_in_the_message() -> None:
    assert verify_live(RECORDED.model_copy(update={"perplexity": 10.9}), RECORDED).passed
    result = verify_live(RECORDED.model_copy(update={"perplexity": 11.5}), RECORDED)
    assert not result.passed and result.summary == "Failed: perplexity"
    ppl = result.verdicts[0]
    assert (ppl.value, ppl.base_value, ppl.passed) == (11.5, 10.0, False)
    assert ppl.max is not None and math.isclose(ppl.max, 11.0)
    assert ppl.message == "perplexity live 11.5 > recorded 10 +10%: failed"


def test_higher_is_better_metrics_fail_only_downwards() -> None:
    result = verify_live(RECORDED.model_copy(update={"task_accuracy": 0.2}), RECORDED)
    assert not result.passed and result.summary == "Failed: taskAccuracy"
    acc = next(v for v in result.verdicts if v.metric == "taskAccuracy")
    assert acc.min is not None and math.isclose(acc.min, 0.375)


def test_the_base_model_served_under_the_tuned_name_fails_every_way() -> None:
    base = EvalMetrics(perplexity=45.0, pine_syntax_score=0.3, pine_parse_rate=0.2, task_accuracy=0.05)
    result = verify_live(base, RECORDED)
    assert not result.passed and [v.passed for v in result.verdicts] == [False] * 4


def test_a_recorded_metric_not_measured_live_fails() -> None:
    result = verify_live(RECORDED.model_copy(update={"perplexity": None}), RECORDED)
    assert not result.passed and "perplexity not measured live" in result.verdicts[0].message


def test_nothing_recorded_does_not_pass() -> None:
    result = verify_live(RECORDED, EvalMetrics())
    assert not result.passed and result.verdicts == []


def test_tolerance_is_per_metric_and_validated() -> None:
    loose = Tolerance(perplexity=1.0)
    assert verify_live(RECORDED.model_copy(update={"perplexity": 19.0}), RECORDED, loose).passed
    with pytest.raises(ValueError, match="less than or equal to 1"):
        Tolerance.model_validate({"taskAccuracy": 2})


def test_a_rate_may_fall_by_one_item_of_the_items_it_counts_and_no_more() -> None:
    recorded = EvalMetrics(perplexity=10.0, pine_parse_rate=0.5, task_accuracy=0.5)
    one_fewer = EvalMetrics(perplexity=10.0, pine_parse_rate=0.0, task_accuracy=0.25)
    # Without counts the relative tolerance (25%) alone decides: both rates fail.
    assert verify_live(one_fewer, recorded).summary == "Failed: pineParseRate, taskAccuracy"
    # Two Pine programs and four computed items: one changed answer each is within noise.
    counted = verify_live(one_fewer, recorded, items={"pineParseRate": 2, "taskAccuracy": 4})
    assert counted.passed, counted.summary
    parse = next(v for v in counted.verdicts if v.metric == "pineParseRate")
    assert "one of 2 items" in parse.message
    # Two items fewer out of eight is more than noise: it fails.
    two_fewer = EvalMetrics(perplexity=10.0, pine_parse_rate=0.5, task_accuracy=0.25)
    failed = verify_live(two_fewer, recorded, items={"pineParseRate": 2, "taskAccuracy": 8})
    assert failed.summary == "Failed: taskAccuracy"
