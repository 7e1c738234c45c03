"""Record contract (docs/contracts.md), determinism, task balance and computed answers."""

from __future__ import annotations

import hashlib
import itertools
import json
import re
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tradetune.datagen import (
    CATEGORIES,
    GENERATOR_VERSION,
    TASKS,
    answers_match,
    extract_answer,
    generate_records,
    write_jsonl,
)
from tradetune.datagen._candles import classify
from tradetune.datagen._market import Bar
from tradetune.errors import InvalidInput

CONTRACT_TASKS = {
    "pine_strategy": "pinescript",
    "pine_indicator": "pinescript",
    "pine_repair": "pinescript",
    "candlestick_knowledge": "patterns",
    "pattern_recognition": "patterns",
    "candle_reading": "patterns",
    "indicator_math": "indicators",
    "position_sizing": "risk",
    "backtest_stats": "backtest",
    "market_structure": "knowledge",
    "strategy_explanation": "pinescript",
}
COMPUTED = {"pattern_recognition", "candle_reading", "indicator_math", "position_sizing", "backtest_stats"}
PINE_WRITERS = {"pine_strategy", "pine_indicator", "pine_repair"}


def test_registry_matches_the_contract() -> None:
    assert {name: f.category for name, f in TASKS.items()} == CONTRACT_TASKS
    assert set(CONTRACT_TASKS.values()) <= set(CATEGORIES)
    for name, family in TASKS.items():
        assert family.name == name
        assert family.template_count >= 8, name
        assert len(set(family.templates)) == family.template_count, f"{name} repeats a template"
        assert family.computed == (name in COMPUTED)


@pytest.mark.parametrize("task", sorted(CONTRACT_TASKS))
def test_records_keep_the_contract(task: str) -> None:
    records = list(generate_records(40, seed=3, tasks=[task]))
    assert len(records) == 40
    for rec in records:
        assert list(rec) == ["id", "instruction", "response", "task", "category", "meta"]
        assert rec["task"] == task and rec["category"] == CONTRACT_TASKS[task]
        expected_id = hashlib.sha256((task + rec["instruction"] + rec["response"]).encode()).hexdigest()[:16]
        assert rec["id"] == expected_id
        assert rec["instruction"].strip() and rec["response"].strip()
        json.dumps(rec)  # JSON-serialisable, meta included
        if task in COMPUTED:
            last = rec["response"].rstrip("\n").split("\n")[-1]
            assert last.startswith("Answer: ")
            answer = rec["meta"]["answer"]
            value = extract_answer(rec["response"])
            assert value == last[len("Answer: ") :]
            if isinstance(answer, list):  # several right answers: only where the family says so
                assert TASKS[task].multi_answer and len(answer) > 1
                assert all(isinstance(a, str) for a in answer)
                assert value == ", ".join(answer)
            else:
                assert isinstance(answer, int | float | str)
            assert answers_match(value, answer)
            if isinstance(answer, float):
                assert float(value) == answer  # the stored value is exactly what the line says
        else:
            assert "answer" not in rec["meta"]
            assert extract_answer(rec["response"]) is None
        if task in PINE_WRITERS:
            assert rec["response"].startswith("//@version=5\n")
            code, sep, explanation = rec["response"].partition("\n---\n")
            assert bool(sep) == (task == "pine_repair")
            assert "strategy(" in code or "indicator(" in code
            if task == "pine_repair":
                assert explanation.startswith("What was wrong:")
                assert code.rstrip("\n") not in rec["instruction"], "the broken code must differ from the fix"
        if task == "strategy_explanation":
            assert "//@version=5" in rec["instruction"]
            assert "//@version" not in rec["response"]


def test_same_arguments_same_records_and_other_seeds_differ() -> None:
    a = list(generate_records(200, seed=11))
    b = list(generate_records(200, seed=11))
    c = list(generate_records(200, seed=12))
    assert a == b
    assert sum(x["id"] == y["id"] for x, y in zip(a, c, strict=True)) == 0


def test_stream_prefixes_agree() -> None:
    """Record i depends only on (seed, i): a shorter run is a prefix of a longer one."""
    assert list(generate_records(23, seed=5)) == list(itertools.islice(generate_records(80, seed=5), 23))


@pytest.mark.parametrize("size", [1, 7, 10, 37])
def test_size_is_exact_and_tasks_balanced(size: int) -> None:
    records = list(generate_records(size, seed=1))
    assert len(records) == size
    counts = Counter(r["task"] for r in records)
    assert max(counts.values()) - min(counts.values(), default=0) <= 1
    assert sum(counts.values()) == size


def test_task_filter() -> None:
    records = list(generate_records(30, seed=2, tasks=["position_sizing", "backtest_stats"]))
    assert Counter(r["task"] for r in records) == {"position_sizing": 15, "backtest_stats": 15}


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"size": 0, "seed": 1}, "--size"),
        ({"size": -3, "seed": 1}, "--size"),
        ({"size": 2.5, "seed": 1}, "--size"),
        ({"size": 5, "seed": 1, "tasks": ["nope"]}, "--task"),
    ],
)
def test_bad_arguments(kwargs: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidInput, match=field):
        list(generate_records(**kwargs))  # type: ignore[arg-type]


def test_write_jsonl_is_byte_stable_and_supports_openai(tmp_path: Path) -> None:
    a, b, o = tmp_path / "a.jsonl", tmp_path / "b.jsonl", tmp_path / "o.jsonl"
    assert write_jsonl(generate_records(50, seed=9), a) == 50
    write_jsonl(generate_records(50, seed=9), b)
    assert a.read_bytes() == b.read_bytes()
    write_jsonl(generate_records(50, seed=9), o, fmt="openai")
    originals = [json.loads(line) for line in a.read_text().splitlines()]
    for line, rec in zip(o.read_text().splitlines(), originals, strict=True):
        obj = json.loads(line)
        assert obj == {
            "messages": [
                {"role": "user", "content": rec["instruction"]},
                {"role": "assistant", "content": rec["response"]},
            ]
        }


def test_write_jsonl_leaves_nothing_behind_on_failure(tmp_path: Path) -> None:
    def boom():  # type: ignore[no-untyped-def]
        yield from generate_records(3, seed=1)
        raise RuntimeError("interrupted")

    target = tmp_path / "out.jsonl"
    with pytest.raises(RuntimeError):
        write_jsonl(boom(), target)
    assert list(tmp_path.iterdir()) == []
    target.write_text("old\n")
    with pytest.raises(RuntimeError):
        write_jsonl(boom(), target)
    assert target.read_text() == "old\n"  # the previous file survives a failed rewrite
    assert [p.name for p in tmp_path.iterdir()] == ["out.jsonl"]


def test_write_jsonl_rejects_bad_targets(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    with pytest.raises(InvalidInput, match="is a file, not a directory"):
        write_jsonl(generate_records(1, seed=1), tmp_path / "file" / "x.jsonl")
    with pytest.raises(InvalidInput, match="--format"):
        write_jsonl(generate_records(1, seed=1), tmp_path / "x.jsonl", fmt="xml")


# --- computed answers, re-derived from the instruction text by independent code ------------------


def _pnls(rec: dict[str, object]) -> list[float]:
    text = str(rec["instruction"])
    rows = re.findall(r"\d+\. (long|short) (\d+) @ (\d+\.\d\d) -> (\d+\.\d\d)", text)
    if rows:
        return [
            round((float(x) - float(e)) * int(q) if s == "long" else (float(e) - float(x)) * int(q), 2)
            for s, q, e, x in rows
        ]
    return [float(x) for x in re.findall(r"[+-]\d+\.\d\d", text)]


def test_backtest_answers_recomputed_independently() -> None:
    checked = Counter[str]()
    for rec in generate_records(400, seed=21, tasks=["backtest_stats"]):
        pnls = _pnls(rec)  # type: ignore[arg-type]
        assert len(pnls) == rec["meta"]["trades"]
        cap_match = re.search(r"(?:equity|capital|balance|started at):? ([\d,]+)", rec["instruction"])
        metric = rec["meta"]["metric"]
        wins = [p for p in pnls if p > 0]
        losses = [-p for p in pnls if p < 0]
        if metric == "win_rate":
            expected = 100 * len(wins) / len(pnls)
        elif metric == "profit_factor":
            expected = sum(wins) / sum(losses)
        elif metric == "expectancy":
            expected = sum(pnls) / len(pnls)
        elif metric == "net_profit":
            expected = sum(pnls)
        elif metric == "payoff_ratio":
            expected = (sum(wins) / len(wins)) / (sum(losses) / len(losses))
        elif metric in ("max_drawdown", "max_drawdown_pct", "total_return_pct"):
            # Percent metrics must state the capital; a dollar drawdown does not depend on it.
            assert cap_match is not None or metric == "max_drawdown", rec["instruction"]
            cap = float(cap_match.group(1).replace(",", "")) if cap_match else 1e6
            if metric == "total_return_pct":
                expected = sum(pnls) / cap * 100
            else:
                eq, peak, worst, worst_pct = cap, cap, 0.0, 0.0
                for p in pnls:
                    eq += p
                    peak = max(peak, eq)
                    worst = max(worst, peak - eq)
                    worst_pct = max(worst_pct, (peak - eq) / peak * 100)
                expected = worst if metric == "max_drawdown" else worst_pct
        assert answers_match(f"{expected}", rec["meta"]["answer"]), (metric, expected, rec["meta"]["answer"])
        checked[metric] += 1
    assert len(checked) == 8, checked


def test_share_sizing_recomputed_independently() -> None:
    """Risk budget / risk per share, and never more shares than the cash account can pay for."""
    n = capped = 0
    for rec in generate_records(600, seed=4, tasks=["position_sizing"]):
        if rec["meta"]["kind"] != "shares":
            continue
        assert "cash account" in rec["instruction"]
        nums = re.findall(r"(\d[\d,]*(?:\.\d+)?)", rec["instruction"])
        acct, risk, entry, stop = (float(x.replace(",", "")) for x in (nums[0], nums[1], nums[-2], nums[-1]))
        by_risk = int(acct * risk / 100 // (entry - stop))
        affordable = int(acct // entry)
        assert rec["meta"]["answer"] == min(by_risk, affordable)
        claims_cap = "caps the size" in rec["response"]
        assert claims_cap == (by_risk > affordable), rec["response"]
        capped += claims_cap
        n += 1
    assert n > 30
    assert capped > 0  # the cap is exercised, not just never reached


def _bar(o: float, h: float, lo: float, c: float) -> Bar:
    return Bar(o, h, lo, c, 1000)


DOWN = [_bar(110, 111, 107, 108), _bar(108, 109, 104, 105), _bar(105, 106, 101, 102)]
UP = [_bar(100, 103, 99, 102), _bar(102, 106, 101, 105), _bar(105, 109, 104, 108)]


@pytest.mark.parametrize(
    ("bars", "label"),
    [
        ([*DOWN, _bar(101.0, 101.6, 97.0, 101.5)], "hammer"),
        ([*UP, _bar(107.5, 108.5, 104.0, 108.4)], "hanging man"),
        ([*UP, _bar(108.4, 112.0, 107.5, 107.6)], "shooting star"),
        ([*DOWN, _bar(102.0, 103.5, 100.0, 102.05)], "doji"),
        ([*DOWN, _bar(102, 102.5, 99, 100), _bar(99.5, 103.5, 99.4, 103)], "bullish engulfing"),
        ([*UP, _bar(108, 112, 107.8, 111.5), _bar(111.8, 112.2, 106, 107)], "bearish engulfing"),
        ([*DOWN, _bar(102, 102.2, 95.8, 96), _bar(97, 99.5, 95.5, 98)], "bullish harami"),
        ([*UP, _bar(105, 108, 104, 106), _bar(106.5, 107, 105, 105.2)], "inside bar"),
        (
            [*DOWN, _bar(102, 102.2, 96.5, 97), _bar(96, 96.5, 95, 95.8), _bar(96.2, 101, 96, 100.5)],
            "morning star",
        ),
        ([*UP, _bar(108, 110, 106, 109.9), _bar(110, 113, 109.5, 112.5)], "none"),
        # Reversals need the move they reverse: the same shapes after the wrong move are no signal.
        ([*UP, _bar(108, 108.5, 104, 106), _bar(105.5, 109.5, 105.4, 109)], "none"),  # "bullish engulfing"
        ([*DOWN, _bar(101, 104, 100.8, 103.8), _bar(104.2, 104.4, 99, 100)], "none"),  # "bearish engulfing"
    ],
)
def test_pattern_rules(bars: list[Bar], label: str) -> None:
    assert classify(bars)[0] == [label]


def test_several_rules_can_hold_and_all_are_reported() -> None:
    # A harami whose second bar also sits inside the first bar's range is an inside bar too.
    bars = [*DOWN, _bar(102, 102.2, 95.8, 96), _bar(97, 98.5, 96.5, 98)]
    assert classify(bars)[0] == ["bullish harami", "inside bar"]


@settings(max_examples=25, deadline=None)
@given(st.integers(min_value=-(2**40), max_value=2**40), st.integers(min_value=1, max_value=25))
def test_any_seed_and_size_is_exact_and_repeatable(seed: int, size: int) -> None:
    first = list(generate_records(size, seed))
    assert len(first) == size
    assert first == list(generate_records(size, seed))
    # No two records alike within a short run, where a family's instruction space is unbounded;
    # a finite one (a knowledge question about a pattern on a chart) may repeat an item by
    # chance, and `dataset split` removes such repeats.
    unbounded = [r["id"] for r in first if TASKS[r["task"]].capacity() is None]
    assert len(set(unbounded)) == len(unbounded)


# The bytes of `generate --size 200 --seed 42` for each generator version. A change to what the
# generator writes must bump GENERATOR_VERSION (it lands in manifest.json) and add its line here.
FINGERPRINTS = {
    "1.1.0": "a0063a1f311fb7fbf47810995042770b9f54fc289b17eb4c186ca84b144a30dc",
    "1.2.0": "934e606a37bd78ca1392b7e6e36e345c945d4a131ee3ba5f4f97ac28c3ecb4b9",
}


def test_the_bytes_of_a_seed_are_pinned_to_the_generator_version(tmp_path: Path) -> None:
    out = tmp_path / "d.jsonl"
    write_jsonl(generate_records(200, seed=42), out)
    digest = hashlib.sha256(out.read_bytes()).hexdigest()
    assert FINGERPRINTS.get(GENERATOR_VERSION) == digest, (
        f"generator {GENERATOR_VERSION} now writes {digest}: if the change is meant, bump "
        "GENERATOR_VERSION in tradetune/datagen/_core.py and record the new fingerprint"
    )
