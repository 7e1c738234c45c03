"""Candle reading: name the pattern from the last three candles described in words.

`pattern_recognition` hands the model raw OHLC numbers, so the model must do the arithmetic
(bodies, shadows, midpoints) before it can apply a rule; that is the part a small model learns
last. This family states the *measured facts* a trader reads off a chart (colour, body size,
shadow lengths, how a body sits against the previous one, the move into the pattern) and asks
only for the rule: which pattern do these facts make. The facts are computed from real bars
built by `_candles.build_bars`, and the answer is `_candles.classify` on the same bars, so the
facts determine the answer exactly and both come from the one set of rules.

Every rule's inputs are among the facts (docs/dataset.md lists them): a star needs the first
bar's colour and size, the middle body's size and side of the first close, and the last close
against the first body's midpoint; an engulfing needs the colours and "engulfs"; a harami the
previous bar long and "inside the previous body"; an inside bar "inside the previous range";
doji, hammer-like and inverted-hammer-like shapes the last bar's body and shadows; every
reversal the move into its first bar. The response names the pattern with its rule in one line
and ends with the `Answer:` line, short enough for a small model to finish.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any

from tradetune.datagen import _candles as candles
from tradetune.datagen._base import Family, answer_line, pick
from tradetune.datagen._candles import LABELS, build_bars, classify
from tradetune.datagen._market import PRICED_INSTRUMENTS, TIMEFRAMES, Bar

__all__ = ["CandleReading", "bar_facts"]

# One line per pattern: its rule in words, shown before the answer.
RULE_TEXT = {
    "morning star": (
        "a long bearish bar, a small body below its close, then a bullish close above its midpoint, "
        "after a fall"
    ),
    "evening star": (
        "a long bullish bar, a small body above its close, then a bearish close below its midpoint, "
        "after a rise"
    ),
    "bullish engulfing": "a bullish body that engulfs the previous bearish body, after a fall",
    "bearish engulfing": "a bearish body that engulfs the previous bullish body, after a rise",
    "bullish harami": "a body inside the previous long bearish body, after a fall",
    "bearish harami": "a body inside the previous long bullish body, after a rise",
    "inside bar": "the last range inside the previous range",
    "doji": "a body of at most a tenth of the range",
    "hammer": "a long lower shadow, a small upper shadow, after a fall",
    "hanging man": "a long lower shadow, a small upper shadow, after a rise",
    "inverted hammer": "a long upper shadow, a small lower shadow, after a fall",
    "shooting star": "a long upper shadow, a small lower shadow, after a rise",
}
_MOVE = {"down": "fell", "up": "rose", "flat": "was flat"}


def _colour(b: Bar) -> str:
    return "bullish" if b.close > b.open else "bearish" if b.close < b.open else "flat"


def _size(b: Bar) -> str:
    if candles.doji_body(b):
        return "doji body (at most a tenth of its range)"
    if candles.long_body(b):
        return "long body (at least half its range)"
    return "small body"


_SHADOW_FACTS = (
    (candles.long_lower_shadow, "lower shadow at least twice the body"),
    (candles.small_upper_shadow, "upper shadow at most a quarter of the range"),
    (candles.long_upper_shadow, "upper shadow at least twice the body"),
    (candles.small_lower_shadow, "lower shadow at most a quarter of the range"),
)


def bar_facts(bars: Sequence[Bar]) -> list[str]:
    """The facts every rule in `_candles` reads, about the last three bars, one line per bar.

    Each fact is one of `_candles`' measurements (the rules are made of the same functions),
    so the words and the answer cannot drift apart.
    """
    first_bar, mid_bar, last_bar = bars[-3], bars[-2], bars[-1]
    first = [_colour(first_bar), _size(first_bar)]
    middle = [_colour(mid_bar), _size(mid_bar)]
    if candles.small_star(first_bar, mid_bar):
        middle.append("body at most half the first body")
    if max(mid_bar.open, mid_bar.close) <= first_bar.close:
        middle.append("body at or below the first close")
    if min(mid_bar.open, mid_bar.close) >= first_bar.close:
        middle.append("body at or above the first close")
    last = [_colour(last_bar), _size(last_bar), *(text for holds, text in _SHADOW_FACTS if holds(last_bar))]
    midpoint = (first_bar.open + first_bar.close) / 2
    if last_bar.close > midpoint:
        last.append("close above the first body's midpoint")
    elif last_bar.close < midpoint:
        last.append("close below the first body's midpoint")
    if candles.engulfs(mid_bar, last_bar):
        last.append("body engulfs the middle body")
    if candles.body_inside(mid_bar, last_bar):
        last.append("body inside the middle body")
    if candles.range_inside(mid_bar, last_bar):
        last.append("range inside the middle range")
    spans = ((3, "first"), (2, "middle"), (1, "last"))
    moves = "; ".join(f"before the {name}: {_MOVE[candles.prior_trend(bars, span)]}" for span, name in spans)
    return [
        f"First: {', '.join(first)}.",
        f"Middle: {', '.join(middle)}.",
        f"Last: {', '.join(last)}.",
        f"Price since the series' first close: {moves}.",
    ]


class CandleReading(Family):
    name = "candle_reading"
    category = "patterns"
    description = "Name the candlestick pattern from the last three candles described in words (rule-based)."
    computed = True
    multi_answer = True
    templates = (
        "The last three {tf} {sym} candles, read off the chart:\n{facts}\n"
        "Which pattern is it? Options: {labels}.",
        "Name the candlestick pattern these {sym} candles form ({labels}).\n{facts}",
        "{facts}\nWhat candlestick pattern do these last three candles of a {tf} chart make? "
        "Choose from: {labels}.",
        "A trader describes the latest {sym} candles:\n{facts}\nWhich pattern, if any? ({labels})",
        "Which candlestick pattern matches this description of the last {tf} bars?\n{facts}\n"
        "Options: {labels}.",
        "Without the prices, only what the candles look like on the {sym} {tf} chart:\n{facts}\n"
        "Name the pattern ({labels}).",
        "{sym}, {tf}. My notes on the last three candles:\n{facts}\n"
        "What pattern is that? Pick from {labels}.",
        "Here is how the final three candles look:\n{facts}\nWhich of these patterns do they form: {labels}?",
    )

    def build(self, rng: random.Random) -> tuple[str, str, dict[str, Any]]:
        inst = pick(rng, PRICED_INSTRUMENTS)
        target = pick(rng, LABELS)
        bars = build_bars(rng, target, inst, rng.randint(4, 7))
        found, _ = classify(bars)
        instruction = pick(rng, self.templates).format(
            sym=inst.symbol,
            tf=pick(rng, TIMEFRAMES),
            facts="\n".join(bar_facts(bars)),
            labels=", ".join(LABELS),
        )
        if found == ["none"]:
            reason = "No pattern: no rule holds on these facts."
        else:
            reason = " ".join(f"{label[0].upper() + label[1:]}: {RULE_TEXT[label]}." for label in found)
        text, stored = answer_line(found[0] if len(found) == 1 else found)
        meta = {"answer": stored, "patterns": found, "symbol": inst.symbol}
        return instruction, f"{reason}\n{text}", meta
