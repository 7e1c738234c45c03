"""The Answer-line contract shared by the generator and the evaluation suite."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tradetune.datagen.answers import (
    answers_match,
    extract_answer,
    format_answer,
    parse_number,
    valid_answer_count,
)


def test_extract_answer_takes_the_last_answer_line() -> None:
    text = "Step 1: Answer: 3 is wrong\nworking...\nAnswer: 41.5\n"
    assert extract_answer(text) == "41.5"
    assert extract_answer("Answer: 1\nmore\nAnswer:  bullish engulfing  ") == "bullish engulfing"


def test_extract_answer_tolerates_markdown_and_case() -> None:
    assert extract_answer("so...\n**Answer:** 12.30") == "12.30"
    assert extract_answer("answer: yes") == "yes"


def test_extract_answer_none_without_a_line() -> None:
    assert extract_answer("The RSI is 55.2.") is None
    assert extract_answer("Answer:   \n") is None


@pytest.mark.parametrize(
    ("predicted", "expected", "ok"),
    [
        ("100.9", 100, True),  # relative 1% of 100 = 1.0
        ("101.5", 100, False),
        ("0.509", 0.5, True),  # absolute 0.01 is looser than 1% of 0.5
        ("0.52", 0.5, False),
        ("$1,234.50", 1234.5, True),
        ("-4.5", -4.5, True),
        ("4.5", -4.5, False),
        ("55.27%", 55.27, True),
        ("about 3 contracts", 3, True),
        ("no number", 3, False),
        ("Bullish  Engulfing", "bullish engulfing", True),
        ("hammer.", "hammer", True),
        ("hanging man", "hammer", False),
        ("YES", "yes", True),
    ],
)
def test_answers_match(predicted: str, expected: float | str, ok: bool) -> None:
    assert answers_match(predicted, expected) is ok


def test_answers_match_none_is_never_right() -> None:
    assert not answers_match(None, 1.0)
    assert not answers_match(None, "none")


finite = st.floats(min_value=-1e9, max_value=1e9, allow_nan=False, allow_infinity=False)


@given(finite, st.integers(min_value=0, max_value=6))
def test_written_answers_read_back(value: float, decimals: int) -> None:
    text = format_answer(value, decimals)
    assert answers_match(extract_answer(f"working\nAnswer: {text}"), float(text))
    assert parse_number(text) == pytest.approx(float(text))


@given(finite)
def test_values_outside_the_tolerance_do_not_match(value: float) -> None:
    off = value + max(0.02 * abs(value), 0.02)
    assert not answers_match(repr(off), value)
    inside = value + 0.5 * max(0.01 * abs(value), 0.01)
    assert answers_match(repr(inside), value) or not math.isfinite(inside)


# --- several right answers: meta.answer a list of labels -------------------------------------------
HARAMI_INSIDE = ["bullish harami", "inside bar"]


@pytest.mark.parametrize(
    ("predicted", "ok"),
    [
        ("bullish harami", True),
        ("Inside Bar.", True),
        ("bullish harami, inside bar", True),  # what the generator writes
        ("inside bar and bullish harami", True),
        ("bullish harami / inside bar", True),
        ("doji", False),
        ("bullish harami, doji", False),  # one wrong name spoils it
        ("", False),
        (", ", False),
        ("bearish harami", False),
    ],
)
def test_a_list_accepts_any_of_its_labels_and_nothing_else(predicted: str, ok: bool) -> None:
    assert answers_match(predicted, HARAMI_INSIDE) is ok


def test_a_list_is_written_comma_separated_and_reads_back() -> None:
    text = format_answer(HARAMI_INSIDE)
    assert text == "bullish harami, inside bar"
    assert answers_match(extract_answer(f"working\nAnswer: {text}"), HARAMI_INSIDE)
    assert valid_answer_count(HARAMI_INSIDE) == 2
    assert valid_answer_count("hammer") == 1
    assert valid_answer_count(3.5) == 1
    assert valid_answer_count(None) == 0


def test_task_accuracy_grades_a_list_answer_with_answers_match() -> None:
    from tradetune.evaluation.accuracy import task_accuracy

    records = [{"task": "pattern_recognition", "meta": {"answer": HARAMI_INSIDE}}] * 3
    acc = task_accuracy(records, ["Answer: inside bar", "Answer: bullish harami", "Answer: doji"])
    assert acc.correct == {"pattern_recognition": 2}
    assert acc.total == {"pattern_recognition": 3}
