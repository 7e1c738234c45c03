"""Dataset statistics: counts per task, nearest-rank percentiles, duplicate rate."""

from __future__ import annotations

from tradetune.datagen import compute_stats
from tradetune.datagen._stats import percentile


def test_percentile_nearest_rank() -> None:
    values = list(range(1, 101))
    assert percentile(values, 50) == 50
    assert percentile(values, 90) == 90
    assert percentile(values, 99) == 99
    assert percentile([7], 50) == 7
    assert percentile([], 50) == 0


def test_counts_lengths_and_duplicates() -> None:
    records = [
        {"instruction": "What is RSI?", "response": "An oscillator.", "task": "a"},
        {"instruction": "what  is rsi?", "response": "An oscillator.", "task": "a"},  # same after normalising
        {"instruction": "What is RSI?", "response": "Something else", "task": "a"},  # same instruction
        {"instruction": "Size it", "response": "10 shares", "task": "b"},
    ]
    stats = compute_stats(records)
    assert stats.total.records == 4
    assert {k: v.records for k, v in stats.by_task.items()} == {"a": 3, "b": 1}
    assert stats.duplicate_instructions == 2
    assert stats.duplicate_rate == 0.5
    assert stats.duplicate_records == 1  # record 2 repeats record 1 once case and spacing are ignored
    summary = stats.by_task["b"].summary()
    assert summary["chars"]["max"] == len("Size it") + len("10 shares")
    assert summary["tokens"]["p50"] == 4


def test_items_with_several_valid_answers_are_counted_per_task() -> None:
    records = [
        {
            "instruction": "a",
            "response": "x",
            "task": "pattern_recognition",
            "meta": {"answer": ["doji", "hammer"]},
        },
        {"instruction": "b", "response": "x", "task": "pattern_recognition", "meta": {"answer": ["doji"]}},
        {"instruction": "c", "response": "x", "task": "pattern_recognition", "meta": {"answer": "doji"}},
        {"instruction": "d", "response": "x", "task": "backtest_stats", "meta": {"answer": 1.5}},
        {"instruction": "e", "response": "x", "task": "indicator_math", "meta": {"answer": ["1", "2"]}},
        {"instruction": "f", "response": "x"},  # openai-format lines carry no meta
    ]
    stats = compute_stats(records)
    counts = {k: v.summary()["multiple_valid_answers"] for k, v in stats.by_task.items()}
    assert counts == {"pattern_recognition": 1, "backtest_stats": 0, "indicator_math": 1, "-": 0}
    assert stats.total.multi_answer == 2
    assert stats.to_dict()["undeclared_multi_answer_tasks"] == ["indicator_math"]
