"""status.yaml's live verification: verdicts and the Verified condition, the operator's mapping."""

from __future__ import annotations

from tradetune.api import EvalMetrics, FineTuneJobStatus, get_condition, verify_live
from tradetune.local._verify import verdict_table, with_verification

RECORDED = EvalMetrics(perplexity=10.0, task_accuracy=0.5)


def test_a_passing_check_sets_verified_true_with_the_verdicts() -> None:
    result = verify_live(EvalMetrics(perplexity=10.05, task_accuracy=0.5), RECORDED)
    status = with_verification(FineTuneJobStatus(metrics=RECORDED), result, 2)
    cond = get_condition(status.conditions, "Verified")
    assert cond is not None and (cond.status, cond.reason, cond.observed_generation) == (
        "True",
        "Verified",
        2,
    )
    assert status.verification == result and status.metrics == RECORDED


def test_a_failing_check_sets_verified_false_and_names_the_metric() -> None:
    result = verify_live(EvalMetrics(perplexity=40.0, task_accuracy=0.5), RECORDED)
    status = with_verification(FineTuneJobStatus(metrics=RECORDED), result, 1)
    cond = get_condition(status.conditions, "Verified")
    assert cond is not None and (cond.status, cond.reason) == ("False", "VerificationFailed")
    assert "perplexity" in cond.message
    table = verdict_table(result)
    assert table.row_count == 2 and "Failed: perplexity" in str(table.title)
