"""An independent reading of the candlestick rules in docs/dataset.md, for the property tests.

Written from the documented definitions, not from `tradetune.datagen._candles`, so a test that
compares the two catches a generator that labels bars by anything other than the asked rule.
It reads the bars back from the instruction text (the generator prints them with two decimals
and builds them with two decimals, so nothing is lost) and judges each record on its own.

`audit(records)` counts every defect the dataset issue named; the property tests assert each
count is 0, and the same function measured the old generator (see the closing note).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any, NamedTuple

LABELS = (
    "morning star",
    "evening star",
    "bullish engulfing",
    "bearish engulfing",
    "bullish harami",
    "bearish harami",
    "inside bar",
    "doji",
    "hammer",
    "hanging man",
    "inverted hammer",
    "shooting star",
)
# How many bars each pattern spans, and the move it must follow (None: no trend needed).
SPAN = {
    "morning star": 3,
    "evening star": 3,
    "bullish engulfing": 2,
    "bearish engulfing": 2,
    "bullish harami": 2,
    "bearish harami": 2,
    "inside bar": 2,
    "doji": 1,
    "hammer": 1,
    "hanging man": 1,
    "inverted hammer": 1,
    "shooting star": 1,
}
NEEDS = {
    "morning star": "down",
    "bullish engulfing": "down",
    "bullish harami": "down",
    "hammer": "down",
    "inverted hammer": "down",
    "evening star": "up",
    "bearish engulfing": "up",
    "bearish harami": "up",
    "hanging man": "up",
    "shooting star": "up",
}


class B(NamedTuple):
    o: float
    h: float
    lo: float
    c: float

    @property
    def body(self) -> float:
        return abs(self.c - self.o)

    @property
    def rng(self) -> float:
        return self.h - self.lo

    @property
    def upper(self) -> float:
        return self.h - max(self.o, self.c)

    @property
    def lower(self) -> float:
        return min(self.o, self.c) - self.lo

    @property
    def bull(self) -> bool:
        return self.c > self.o

    @property
    def bear(self) -> bool:
        return self.c < self.o

    @property
    def long(self) -> bool:
        return self.rng > 0 and self.body >= 0.5 * self.rng


_ROW = re.compile(r"^\d+: O (-?[\d.]+) H (-?[\d.]+) L (-?[\d.]+) C (-?[\d.]+)$", re.MULTILINE)


def bars_of(instruction: str) -> list[B]:
    return [B(*(float(x) for x in m)) for m in _ROW.findall(instruction)]


def trend_before(bars: list[B], span: int) -> str:
    """The move into the pattern: the close just before its first bar against the first close."""
    ref, first = bars[-span - 1].c, bars[0].c
    return "down" if ref < first else "up" if ref > first else "flat"


def shape(label: str, bars: list[B]) -> bool:
    a, b, c = bars[-3], bars[-2], bars[-1]
    if label in ("morning star", "evening star"):
        bull = label == "morning star"
        if not (a.long and (a.bear if bull else a.bull)):
            return False
        if b.body > 0.5 * a.body:
            return False
        if bull and max(b.o, b.c) > a.c:
            return False
        if not bull and min(b.o, b.c) < a.c:
            return False
        mid = (a.o + a.c) / 2
        return (c.bull and c.c > mid) if bull else (c.bear and c.c < mid)
    if label == "bullish engulfing":
        return b.bear and c.bull and c.o <= b.c and c.c >= b.o and c.body > b.body
    if label == "bearish engulfing":
        return b.bull and c.bear and c.o >= b.c and c.c <= b.o and c.body > b.body
    if label in ("bullish harami", "bearish harami"):
        first = b.long and (b.bear if label == "bullish harami" else b.bull)
        return first and min(b.o, b.c) < min(c.o, c.c) and max(c.o, c.c) < max(b.o, b.c)
    if label == "inside bar":
        return c.h < b.h and c.lo > b.lo
    if label == "doji":
        return c.rng > 0 and c.body <= 0.1 * c.rng
    if label in ("hammer", "hanging man"):
        return c.rng > 0 and c.lower >= 2 * c.body and c.upper <= 0.25 * c.rng
    return c.rng > 0 and c.upper >= 2 * c.body and c.lower <= 0.25 * c.rng


def holds(label: str, bars: list[B], *, with_trend: bool = True) -> bool:
    """The asked rule, nothing else: its shape, and the prior move its definition names."""
    if not shape(label, bars):
        return False
    need = NEEDS.get(label)
    if need is None:
        return True
    single = SPAN[label] == 1
    if not with_trend and not single:
        return True  # the old rules judged the multi-bar patterns by shape alone
    return trend_before(bars, SPAN[label]) == need


def valid_labels(bars: list[B], *, with_trend: bool = True) -> set[str]:
    found = {lab for lab in LABELS if holds(lab, bars, with_trend=with_trend)}
    return found or {"none"}


def asked_label(instruction: str) -> str:
    """The pattern a yes/no question names (the longest label in its text)."""
    text = instruction.lower()
    return max((lab for lab in LABELS if lab in text), key=len)


def is_yes_no(instruction: str) -> bool:
    return "yes or no" in instruction or "(yes/no)" in instruction


def accepted(answer: object) -> set[str]:
    return {str(a) for a in answer} if isinstance(answer, list) else {str(answer)}


# --- futures specifications, from the exchanges' contract sheets (independent of the generator) ----
class Future(NamedTuple):
    point_value: float
    tick: float
    low: float
    high: float


FUTURES = {
    "ES": Future(50.0, 0.25, 3000, 7500),
    "MES": Future(5.0, 0.25, 3000, 7500),
    "NQ": Future(20.0, 0.25, 10000, 26000),
    "MNQ": Future(2.0, 0.25, 10000, 26000),
    "YM": Future(5.0, 1.0, 28000, 50000),
    "CL": Future(1000.0, 0.01, 40, 130),
    "MCL": Future(100.0, 0.01, 40, 130),
    "GC": Future(100.0, 0.1, 1500, 3500),
    "MGC": Future(10.0, 0.1, 1500, 3500),
}

_NUM = r"(\d+(?:\.\d+)?)"
_CONTRACT_Q = re.compile(
    rf"I trade (\w+) futures \(\${_NUM} per point\).*Entry {_NUM}, stop (-?\d+(?:\.\d+)?)", re.S
)
_TABLE_ROW = re.compile(r"\d+\. (?:long|short) \d+ @ \d+\.\d\d -> \d+\.\d\d")


def _on_grid(value: float, tick: float) -> bool:
    steps = value / tick
    return abs(steps - round(steps)) < 1e-6


def audit(records: Iterable[Mapping[str, Any]]) -> Counter[str]:
    """Defect counts (and the number of items looked at, under `n_...` keys)."""
    out: Counter[str] = Counter()
    prices: dict[str, set[float]] = {}
    for rec in records:
        task, instruction, meta = rec["task"], rec["instruction"], rec["meta"]
        if task == "pattern_recognition":
            bars = bars_of(instruction)
            if is_yes_no(instruction):
                out["n_yes_no"] += 1
                asked = asked_label(instruction)
                truth = "yes" if holds(asked, bars) else "no"
                out["yes_no_wrong"] += meta["answer"] != truth
                old_truth = "yes" if holds(asked, bars, with_trend=False) else "no"
                out["yes_no_contradicts_own_rule"] += meta["answer"] != old_truth
            else:
                out["n_choice"] += 1
                got = accepted(meta["answer"])
                out["choice_more_than_one_valid"] += (
                    len(valid_labels(bars, with_trend=False)) > 1 and len(got) == 1
                )
                out["choice_accepted_not_exactly_valid"] += got != valid_labels(bars)
            for label in accepted(meta["answer"]) | {str(meta.get("pattern"))}:
                if label in NEEDS and SPAN[label] > 1:
                    out["n_multi_bar_trend_labels"] += 1
                    out["multi_bar_label_after_wrong_move"] += trend_before(bars, SPAN[label]) != NEEDS[label]
        elif task == "position_sizing" and meta.get("kind") == "contracts":
            out["n_contracts"] += 1
            m = _CONTRACT_Q.search(instruction)
            assert m, instruction
            sym, pv, entry, stop = m.group(1), float(m.group(2)), float(m.group(3)), float(m.group(4))
            spec = FUTURES[sym]
            out["contract_point_value_wrong"] += pv != spec.point_value
            out["contract_entry_out_of_range"] += not spec.low <= entry <= spec.high
            out["contract_stop_not_below_entry_or_not_positive"] += not 0 < stop < entry
            out["contract_price_off_tick_grid"] += not (
                _on_grid(entry, spec.tick) and _on_grid(stop, spec.tick)
            )
            prices.setdefault(sym, set()).add(entry)
        elif task == "position_sizing" and meta.get("kind") == "shares":
            out["n_shares"] += 1
            nums = re.findall(r"(\d[\d,]*(?:\.\d+)?)", instruction)
            acct, entry = float(nums[0].replace(",", "")), float(nums[-2])
            out["shares_worth_more_than_account"] += meta["answer"] * entry > acct + 1e-9
        elif task == "backtest_stats" and meta.get("format") == "table":
            out["n_tables"] += 1
            lines = instruction.split("\n")
            out["table_row_sharing_a_line"] += any(
                _TABLE_ROW.search(line) and not _TABLE_ROW.fullmatch(line) for line in lines
            )
    out["contract_symbols_with_one_fixed_price"] = sum(len(p) == 1 for p in prices.values())
    return out
