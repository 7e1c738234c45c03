"""The promotion gate: thresholds, not-measured metrics, comparison with the base model."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from tradetune.api import Bound, EvalMetrics, Thresholds, gate


def test_thresholds_pass_and_fail_with_readable_messages() -> None:
    result = gate(
        EvalMetrics(perplexity=12.3, task_accuracy=0.41),
        Thresholds(perplexity=Bound(max=20), task_accuracy=Bound(min=0.5)),
    )
    assert not result.passed
    assert [(v.metric, v.passed, v.message) for v in result.verdicts] == [
        ("perplexity", True, "perplexity 12.3 <= max 20: ok"),
        ("taskAccuracy", False, "taskAccuracy 0.41 < min 0.5: failed"),
    ]
    assert result.summary == "Failed: taskAccuracy"
    assert result.verdicts[0].max == 20 and result.verdicts[0].min is None


def test_both_ends_of_a_bound_are_checked() -> None:
    thresholds = Thresholds(eval_loss=Bound(min=0.5, max=2.0))
    assert gate(EvalMetrics(eval_loss=1.0), thresholds).passed
    low = gate(EvalMetrics(eval_loss=0.1), thresholds)
    assert not low.passed and "evalLoss 0.1 < min 0.5: failed" in low.verdicts[0].message
    high = gate(EvalMetrics(eval_loss=3.0), thresholds)
    assert not high.passed and "evalLoss 3 > max 2: failed" in high.verdicts[0].message


def test_bounds_are_inclusive() -> None:
    assert gate(EvalMetrics(pine_parse_rate=0.7), Thresholds(pine_parse_rate=Bound(min=0.7))).passed
    assert gate(EvalMetrics(perplexity=20.0), Thresholds(perplexity=Bound(max=20))).passed


def test_pine_valid_rate_is_gated_and_compared_to_base() -> None:
    bound = Thresholds(pine_valid_rate=Bound(min=0.8))
    assert gate(EvalMetrics(pine_valid_rate=0.8), bound).passed
    low = gate(EvalMetrics(pine_valid_rate=0.5, pine_parse_rate=1.0), bound)
    assert not low.passed and low.verdicts[0].message == "pineValidRate 0.5 < min 0.8: failed"
    base = EvalMetrics(perplexity=9.0, pine_valid_rate=0.6)
    worse = gate(EvalMetrics(perplexity=5.0, pine_valid_rate=0.4), Thresholds(), base, compare_to_base=True)
    assert worse.summary == "Failed: pineValidRate"


def test_missing_metric_with_a_threshold_fails() -> None:
    result = gate(EvalMetrics(perplexity=3.0), Thresholds(pine_syntax_score=Bound(min=0.8)))
    assert not result.passed
    assert result.verdicts[0].message == "pineSyntaxScore not measured: failed"
    assert result.verdicts[0].value is None


def test_no_checks_passes() -> None:
    result = gate(EvalMetrics(), Thresholds())
    assert result.passed and result.verdicts == [] and result.summary == "No checks"


def test_summary_counts_checks_not_metrics() -> None:
    base = EvalMetrics(perplexity=40.0, eval_loss=3.0)
    tuned = EvalMetrics(perplexity=10.0, eval_loss=2.0)
    result = gate(tuned, Thresholds(perplexity=Bound(max=20)), base, compare_to_base=True)
    # perplexity: max and base; evalLoss: base (compareToBase compares it too, and says so)
    assert [len(v.checks) for v in result.verdicts] == [2, 1]
    assert result.summary == "Passed 3/3 checks"
    assert result.verdicts[1].message == "evalLoss 2 <= base 3: ok"


def test_equal_and_useless_scores_are_not_a_pass_against_base() -> None:
    base = EvalMetrics(perplexity=40.0, task_accuracy=0.0, pine_parse_rate=0.0)
    tuned = EvalMetrics(perplexity=10.0, task_accuracy=0.0, pine_parse_rate=0.5)
    result = gate(tuned, Thresholds(), base, compare_to_base=True)
    by_metric = {v.metric: v for v in result.verdicts}
    assert "taskAccuracy" not in by_metric  # 0 against 0: no verdict that reads "ok"
    assert result.notes == ["taskAccuracy not compared to base: both models score 0"]
    assert by_metric["pineParseRate"].passed  # 0.5 against 0 is a real improvement
    assert result.summary == "Passed 2/2 checks"


def test_checks_carry_the_fields_a_table_needs() -> None:
    result = gate(
        EvalMetrics(perplexity=80.0),
        Thresholds(perplexity=Bound(max=50)),
        EvalMetrics(perplexity=30.0),
        compare_to_base=True,
    )
    checks = [(c.kind, c.limit, c.relation, c.passed, c.outcome) for c in result.verdicts[0].checks]
    assert checks == [
        ("max", 50.0, ">", False, "failed"),
        ("base", 30.0, ">=", False, "not better than base"),
    ]


def test_compare_to_base_needs_strictly_lower_perplexity() -> None:
    base = EvalMetrics(perplexity=40.0)
    better = gate(EvalMetrics(perplexity=12.0), Thresholds(), base, compare_to_base=True)
    assert better.passed and better.verdicts[0].message == "perplexity 12 < base 40: ok"
    assert better.verdicts[0].base_value == 40.0
    equal = gate(EvalMetrics(perplexity=40.0), Thresholds(), base, compare_to_base=True)
    assert not equal.passed and equal.verdicts[0].message == "perplexity 40 >= base 40: not better than base"


def test_compare_to_base_without_base_perplexity_fails() -> None:
    no_base = gate(EvalMetrics(perplexity=12.0), Thresholds(), None, compare_to_base=True)
    assert not no_base.passed and "base model not measured" in no_base.verdicts[0].message
    no_tuned = gate(EvalMetrics(), Thresholds(), EvalMetrics(perplexity=9.0), compare_to_base=True)
    assert not no_tuned.passed and "tuned model not measured" in no_tuned.verdicts[0].message


def test_other_metrics_must_not_be_worse_than_base_when_both_measured() -> None:
    base = EvalMetrics(
        perplexity=40.0, task_accuracy=0.2, pine_parse_rate=0.5, eval_loss=3.0, pine_syntax_score=0.9
    )
    tuned = EvalMetrics(perplexity=10.0, task_accuracy=0.2, pine_parse_rate=0.4, eval_loss=3.5)
    result = gate(tuned, Thresholds(), base, compare_to_base=True)
    by_metric = {v.metric: v for v in result.verdicts}
    assert by_metric["taskAccuracy"].passed  # equal is not worse
    assert by_metric["taskAccuracy"].message == "taskAccuracy 0.2 >= base 0.2: ok"
    assert not by_metric["pineParseRate"].passed
    assert by_metric["pineParseRate"].message == "pineParseRate 0.4 < base 0.5: worse than base"
    assert not by_metric["evalLoss"].passed  # lower is better for the loss
    assert by_metric["evalLoss"].message == "evalLoss 3.5 > base 3: worse than base"
    assert "pineSyntaxScore" not in by_metric  # the tuned model did not measure it: not compared
    assert not result.passed and result.summary == "Failed: evalLoss, pineParseRate"


def test_without_compare_to_base_the_base_is_ignored() -> None:
    result = gate(EvalMetrics(perplexity=50.0), Thresholds(), EvalMetrics(perplexity=10.0))
    assert result.passed and result.verdicts == []


def test_threshold_and_base_checks_on_one_metric_share_a_verdict() -> None:
    result = gate(
        EvalMetrics(perplexity=25.0),
        Thresholds(perplexity=Bound(max=20)),
        EvalMetrics(perplexity=30.0),
        compare_to_base=True,
    )
    (verdict,) = result.verdicts
    assert not verdict.passed
    assert verdict.message == "perplexity 25 > max 20: failed; perplexity 25 < base 30: ok"


metric_values = st.one_of(st.none(), st.floats(min_value=0, max_value=100, allow_nan=False))


@given(
    tuned=st.builds(
        EvalMetrics,
        perplexity=metric_values,
        eval_loss=metric_values,
        pine_syntax_score=metric_values,
        pine_parse_rate=metric_values,
        task_accuracy=metric_values,
    ),
    base=st.builds(
        EvalMetrics, perplexity=metric_values, task_accuracy=metric_values, eval_loss=metric_values
    ),
    limit=st.floats(min_value=0, max_value=100, allow_nan=False),
    compare=st.booleans(),
)
def test_passed_is_the_and_of_the_verdicts(
    tuned: EvalMetrics, base: EvalMetrics, limit: float, compare: bool
) -> None:
    thresholds = Thresholds(perplexity=Bound(max=limit), task_accuracy=Bound(min=limit / 100))
    result = gate(tuned, thresholds, base, compare_to_base=compare)
    assert result.passed == all(v.passed for v in result.verdicts)
    assert {"perplexity", "taskAccuracy"} <= {v.metric for v in result.verdicts}
    ppl = next(v for v in result.verdicts if v.metric == "perplexity")
    expected = tuned.perplexity is not None and tuned.perplexity <= limit
    if compare:
        expected = (
            expected
            and base.perplexity is not None
            and tuned.perplexity is not None
            and tuned.perplexity < base.perplexity
        )
    assert ppl.passed == expected
    assert all(v.message.endswith(("ok", "failed", "than base")) for v in result.verdicts)


def test_gate_is_pure() -> None:
    tuned, thresholds = EvalMetrics(perplexity=3.0), Thresholds(perplexity=Bound(max=4))
    before = (tuned.model_dump(), thresholds.model_dump())
    assert gate(tuned, thresholds) == gate(tuned, thresholds)
    assert (tuned.model_dump(), thresholds.model_dump()) == before
