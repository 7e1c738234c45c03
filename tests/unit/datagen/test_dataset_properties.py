"""Properties of thousands of generated records, judged by an independent reading of the rules.

`pattern_oracle` re-reads the bars from each instruction and applies the documented candle
rules itself; these tests assert that no record contradicts it: a yes/no answer is the asked
rule's verdict, a naming question accepts exactly the patterns whose rules hold (and the
grader agrees), every reversal label follows the move it reverses, futures quotes use each
contract's own price range, point value and tick, share sizes respect a cash account's buying
power, and backtest tables stand on lines of their own. A few thousand records take seconds.
"""

from __future__ import annotations

from collections import Counter
from functools import cache

import pytest

from tests.unit.datagen.pattern_oracle import (
    LABELS,
    NEEDS,
    accepted,
    asked_label,
    audit,
    bars_of,
    is_yes_no,
    valid_labels,
)
from tradetune.datagen import Record, answers_match, extract_answer, generate_records

PATTERNS = 4000
SIZING = 2000
BACKTESTS = 1000


@cache
def _patterns() -> tuple[Record, ...]:
    return tuple(generate_records(PATTERNS, seed=2024, tasks=["pattern_recognition"]))


def test_no_pattern_record_contradicts_the_rules() -> None:
    counts = audit(_patterns())
    assert counts["n_yes_no"] > 1000 and counts["n_choice"] > 1000, counts
    assert counts["n_multi_bar_trend_labels"] > 500, counts
    assert counts["yes_no_wrong"] == 0, counts
    assert counts["choice_accepted_not_exactly_valid"] == 0, counts
    assert counts["multi_bar_label_after_wrong_move"] == 0, counts


def test_the_grader_accepts_exactly_the_valid_patterns() -> None:
    """answers_match says yes to every pattern whose rule holds and no to every other listed one."""
    several = 0
    for rec in _patterns():
        if is_yes_no(rec["instruction"]):
            continue
        valid = valid_labels(bars_of(rec["instruction"]))
        answer = rec["meta"]["answer"]
        assert answers_match(extract_answer(rec["response"]), answer)
        for label in (*LABELS, "none"):
            assert answers_match(label, answer) == (label in valid), (label, valid, answer)
        if len(valid) > 1:
            several += 1
            a, b = sorted(valid)[:2]
            assert answers_match(f"{a} and {b}", answer)
            wrong = next(lab for lab in LABELS if lab not in valid)
            assert not answers_match(f"{a}, {wrong}", answer)  # one wrong name spoils the answer
    assert several > 50  # the multi-answer path is exercised


def test_responses_state_the_trend_each_reversal_needs() -> None:
    for rec in _patterns():
        text, answer = rec["response"], rec["meta"]["answer"]
        if is_yes_no(rec["instruction"]):
            asked = asked_label(rec["instruction"])
            need = NEEDS.get(asked)
            expected = (
                f"needs a prior {'fall' if need == 'down' else 'rise'}" if need else "needs no prior trend"
            )
            assert expected in text, text
            continue
        for label in accepted(answer) - {"none"}:
            need = NEEDS.get(label)
            if need:
                line = next(x for x in text.splitlines() if x.startswith(f"- {label[0].upper()}{label[1:]}:"))
                assert f"after a {'fall' if need == 'down' else 'rise'} (bar " in line, line


def test_yes_no_answers_are_balanced_enough_to_teach_both() -> None:
    answers = Counter(r["meta"]["answer"] for r in _patterns() if is_yes_no(r["instruction"]))
    assert min(answers["yes"], answers["no"]) > 0.25 * sum(answers.values()), answers


@pytest.mark.parametrize(
    ("task", "size", "keys"),
    [
        (
            "position_sizing",
            SIZING,
            (
                "contract_point_value_wrong",
                "contract_entry_out_of_range",
                "contract_stop_not_below_entry_or_not_positive",
                "contract_price_off_tick_grid",
                "contract_symbols_with_one_fixed_price",
                "shares_worth_more_than_account",
            ),
        ),
        ("backtest_stats", BACKTESTS, ("table_row_sharing_a_line",)),
    ],
)
def test_sizing_and_backtest_records_are_realistic(task: str, size: int, keys: tuple[str, ...]) -> None:
    counts = audit(generate_records(size, seed=77, tasks=[task]))
    looked_at = {k: v for k, v in counts.items() if k.startswith("n_")}
    assert all(v > 100 for v in looked_at.values()), looked_at
    assert {k: counts[k] for k in keys} == dict.fromkeys(keys, 0)


def test_every_contract_quotes_several_prices() -> None:
    """ES, NQ and CL used to be quoted at one fixed level; each symbol now draws from its range."""
    prices: dict[str, set[str]] = {}
    for rec in generate_records(1500, seed=5, tasks=["position_sizing"]):
        if rec["meta"]["kind"] == "contracts":
            entry = rec["instruction"].split("Entry ")[1].split(",")[0]
            prices.setdefault(rec["meta"]["contract"], set()).add(entry)
    assert {"ES", "NQ", "CL", "MES", "GC", "YM"} <= set(prices)
    assert all(len(p) > 3 for p in prices.values()), prices
