"""candle_reading: the described facts alone decide the answer, by the textbook rules.

The oracle below reads only the instruction's fact lines and applies each pattern's definition
as docs/dataset.md states it, written here without importing the generator's rules; every
generated answer must equal the oracle's set of patterns. A second check: no two items with
the same facts carry different answers (the question is well posed).
"""

from __future__ import annotations

import re
from collections import defaultdict

import pytest

from tradetune.datagen import generate_records
from tradetune.datagen.answers import answers_match, extract_answer

N = 3000


def _facts(instruction: str) -> dict[str, str]:
    lines = {}
    for line in instruction.splitlines():
        key, _, rest = line.partition(": ")
        if key in ("First", "Middle", "Last") or key.startswith("Price since"):
            lines[key.split()[0]] = rest
    return lines


def _trend(price: str, which: str) -> str:
    match = re.search(rf"before the {which}: (fell|rose|was flat)", price)
    assert match, price
    return match.group(1)


def oracle(instruction: str) -> set[str]:
    """The patterns the facts make, by each pattern's definition."""
    f = _facts(instruction)
    first, middle, last, price = f["First"], f["Middle"], f["Last"], f["Price"]

    def is_(text: str, word: str) -> bool:
        return text.startswith(word + ",")

    found = set()
    fell_first, rose_first = _trend(price, "first") == "fell", _trend(price, "first") == "rose"
    fell_mid, rose_mid = _trend(price, "middle") == "fell", _trend(price, "middle") == "rose"
    fell_last, rose_last = _trend(price, "last") == "fell", _trend(price, "last") == "rose"
    half = "body at most half the first body" in middle
    long_first = "long body" in first
    if is_(first, "bearish") and long_first and half and "at or below the first close" in middle:  # noqa: SIM102
        if is_(last, "bullish") and "close above the first body's midpoint" in last and fell_first:
            found.add("morning star")
    if is_(first, "bullish") and long_first and half and "at or above the first close" in middle:  # noqa: SIM102
        if is_(last, "bearish") and "close below the first body's midpoint" in last and rose_first:
            found.add("evening star")
    engulfs = "body engulfs the middle body" in last
    if is_(middle, "bearish") and is_(last, "bullish") and engulfs and fell_mid:
        found.add("bullish engulfing")
    if is_(middle, "bullish") and is_(last, "bearish") and engulfs and rose_mid:
        found.add("bearish engulfing")
    inside_body = "body inside the middle body" in last
    if is_(middle, "bearish") and "long body" in middle and inside_body and fell_mid:
        found.add("bullish harami")
    if is_(middle, "bullish") and "long body" in middle and inside_body and rose_mid:
        found.add("bearish harami")
    if "range inside the middle range" in last:
        found.add("inside bar")
    if "doji body" in last:
        found.add("doji")
    hammer = "lower shadow at least twice the body" in last and "upper shadow at most a quarter" in last
    inverted = "upper shadow at least twice the body" in last and "lower shadow at most a quarter" in last
    if hammer and fell_last:
        found.add("hammer")
    if hammer and rose_last:
        found.add("hanging man")
    if inverted and fell_last:
        found.add("inverted hammer")
    if inverted and rose_last:
        found.add("shooting star")
    return found or {"none"}


@pytest.fixture(scope="module")
def records() -> list[dict[str, object]]:
    return [dict(r) for r in generate_records(N, seed=11, tasks=["candle_reading"])]


def test_every_answer_is_what_the_definitions_say_of_the_facts(records: list[dict[str, object]]) -> None:
    wrong = []
    for r in records:
        meta = r["meta"]
        assert isinstance(meta, dict)
        expected = set(meta["patterns"])
        if oracle(str(r["instruction"])) != expected:
            wrong.append((r["instruction"], expected))
        # The closing line names exactly the patterns meta.answer keeps.
        assert answers_match(extract_answer(str(r["response"])), meta["answer"])
    assert not wrong, wrong[:3]


def test_the_same_facts_never_carry_two_answers(records: list[dict[str, object]]) -> None:
    seen: dict[str, set[str]] = defaultdict(set)
    for r in records:
        facts = "\n".join(_facts(str(r["instruction"])).values())
        meta = r["meta"]
        assert isinstance(meta, dict)
        seen[facts].add(",".join(meta["patterns"]))
    assert all(len(answers) == 1 for answers in seen.values())
    # Every pattern and "none" occur, so the check covers each rule.
    labels = {p for r in records for p in r["meta"]["patterns"]}  # type: ignore[index]
    assert len(labels) == 13, labels
