"""Candlestick pattern rules: one deterministic classifier and bar builders for each pattern.

The ground truth of `pattern_recognition` is whatever `classify` says about the bars, never
the pattern the builder aimed for, so answers are right by construction even when rounding
turns an intended hammer into something else. The rules (checked in this order, first match
wins) are written out in docs/dataset.md:

  morning/evening star, bullish/bearish engulfing, bullish/bearish harami, inside bar, doji,
  hammer / hanging man, inverted hammer / shooting star, else "none".
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence

from tradetune.datagen._market import Bar, Instrument, ohlcv

__all__ = ["LABELS", "Check", "build_bars", "classify", "describe_bar"]

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
    "none",
)
BULLISH_REVERSALS = {"morning star", "bullish engulfing", "bullish harami", "hammer", "inverted hammer"}
BEARISH_REVERSALS = {"evening star", "bearish engulfing", "bearish harami", "hanging man", "shooting star"}

Check = tuple[str, bool, str]  # (label, matched, reason)


def _body(b: Bar) -> float:
    return abs(b.close - b.open)


def _range(b: Bar) -> float:
    return b.high - b.low


def _upper(b: Bar) -> float:
    return b.high - max(b.open, b.close)


def _lower(b: Bar) -> float:
    return min(b.open, b.close) - b.low


def _long_body(b: Bar) -> bool:
    return _range(b) > 0 and _body(b) >= 0.5 * _range(b)


def _g(x: float) -> str:
    return f"{x:.2f}"


def describe_bar(i: int, b: Bar) -> str:
    colour = "bullish" if b.close > b.open else "bearish" if b.close < b.open else "flat"
    return (
        f"Bar {i}: {colour}, body {_g(_body(b))}, range {_g(_range(b))}, upper shadow {_g(_upper(b))}, "
        f"lower shadow {_g(_lower(b))}."
    )


def prior_trend(bars: Sequence[Bar]) -> str:
    """'down' when the close before the last bar is below the first close, else 'up'."""
    return "down" if bars[-2].close < bars[0].close else "up"


def classify(bars: Sequence[Bar]) -> tuple[str, list[Check]]:
    """The pattern the last one to three bars form, with the checks that led there."""
    a, b, c = bars[-3], bars[-2], bars[-1]
    checks: list[Check] = []

    def star(bull: bool) -> Check:
        label = "morning star" if bull else "evening star"
        first_ok = _long_body(a) and ((a.close < a.open) if bull else (a.close > a.open))
        if not first_ok:
            return (
                label,
                False,
                f"the first of the last three bars is not a long {'bearish' if bull else 'bullish'} candle",
            )
        small = _body(b) <= 0.5 * _body(a)
        beyond = max(b.open, b.close) <= a.close if bull else min(b.open, b.close) >= a.close
        if not (small and beyond):
            return label, False, "the middle bar is not a small body beyond the first body"
        mid = (a.open + a.close) / 2
        third = (c.close > c.open and c.close > mid) if bull else (c.close < c.open and c.close < mid)
        if not third:
            return (
                label,
                False,
                f"the last bar does not close {'above' if bull else 'below'} the first body's midpoint "
                f"{_g(mid)}",
            )
        return (
            label,
            True,
            (
                f"long {'bearish' if bull else 'bullish'} bar, small star beyond its close, then a "
                f"{'bullish' if bull else 'bearish'} close at {_g(c.close)} "
                f"{'above' if bull else 'below'} the midpoint {_g(mid)}"
            ),
        )

    def engulfing(bull: bool) -> Check:
        label = "bullish engulfing" if bull else "bearish engulfing"
        colours = (b.close < b.open and c.close > c.open) if bull else (b.close > b.open and c.close < c.open)
        if not colours:
            return (
                label,
                False,
                f"the last two bars are not {'bearish then bullish' if bull else 'bullish then bearish'}",
            )
        covers = (
            (c.open <= b.close and c.close >= b.open) if bull else (c.open >= b.close and c.close <= b.open)
        )
        if not (covers and _body(c) > _body(b)):
            return label, False, "the last body does not cover the previous body"
        return (
            label,
            True,
            f"the last body ({_g(c.open)} to {_g(c.close)}) covers the previous body ({_g(b.open)} to "
            f"{_g(b.close)})",
        )

    def harami(bull: bool) -> Check:
        label = "bullish harami" if bull else "bearish harami"
        first = _long_body(b) and ((b.close < b.open) if bull else (b.close > b.open))
        if not first:
            return label, False, f"the previous bar is not a long {'bearish' if bull else 'bullish'} candle"
        lo, hi = min(b.open, b.close), max(b.open, b.close)
        inside = lo < min(c.open, c.close) and max(c.open, c.close) < hi
        if not inside:
            return label, False, "the last body is not inside the previous body"
        return label, True, f"the last body sits inside the previous long body ({_g(lo)} to {_g(hi)})"

    def inside() -> Check:
        ok = c.high < b.high and c.low > b.low
        reason = (
            f"high {_g(c.high)} < {_g(b.high)} and low {_g(c.low)} > {_g(b.low)}"
            if ok
            else "the last bar's range is not inside the previous bar's range"
        )
        return "inside bar", ok, reason

    def doji() -> Check:
        r = _range(c)
        ok = r > 0 and _body(c) <= 0.1 * r
        return (
            "doji",
            ok,
            (f"body {_g(_body(c))} is {'at most' if ok else 'more than'} 10% of the range {_g(r)}"),
        )

    trend = prior_trend(bars)

    def hammer_shape() -> Check:
        label = "hammer" if trend == "down" else "hanging man"
        r = _range(c)
        ok = r > 0 and _lower(c) >= 2 * _body(c) and _upper(c) <= 0.25 * r
        reason = (
            f"lower shadow {_g(_lower(c))} ≥ 2 × body {_g(_body(c))} and upper shadow {_g(_upper(c))} ≤ "
            "25% of "
            f"range, after a move {trend}"
            if ok
            else "no long lower shadow with a small upper shadow"
        )
        return label, ok, reason

    def star_shape() -> Check:
        label = "inverted hammer" if trend == "down" else "shooting star"
        r = _range(c)
        ok = r > 0 and _upper(c) >= 2 * _body(c) and _lower(c) <= 0.25 * r
        reason = (
            f"upper shadow {_g(_upper(c))} ≥ 2 × body {_g(_body(c))} and lower shadow {_g(_lower(c))} ≤ "
            "25% of "
            f"range, after a move {trend}"
            if ok
            else "no long upper shadow with a small lower shadow"
        )
        return label, ok, reason

    rules: list[Callable[[], Check]] = [
        lambda: star(True),
        lambda: star(False),
        lambda: engulfing(True),
        lambda: engulfing(False),
        lambda: harami(True),
        lambda: harami(False),
        inside,
        doji,
        hammer_shape,
        star_shape,
    ]
    for rule in rules:
        check = rule()
        checks.append(check)
        if check[1]:
            return check[0], checks
    return "none", checks


def _bar(o: float, c: float, upper: float, lower: float, *, vol: int, dec: int) -> Bar:
    o, c = round(o, dec), round(c, dec)
    return Bar(o, round(max(o, c) + upper, dec), round(min(o, c) - lower, dec), c, vol)


def build_bars(rng: random.Random, target: str, inst: Instrument, n_context: int) -> list[Bar]:
    """Context bars trending into the target pattern, then the pattern's bars (2-decimal prices)."""
    if target in BULLISH_REVERSALS or target == "hammer":
        regime = 1
    elif target in BEARISH_REVERSALS:
        regime = 0
    else:
        regime = int(rng.random() * 4)
    bars = ohlcv(rng, n_context, inst, decimals=2, regime=regime)
    want = {"hammer": "down", "inverted hammer": "down", "hanging man": "up", "shooting star": "up"}.get(
        target
    )
    if want is not None and ("down" if bars[-1].close < bars[0].close else "up") != want:
        # Single-bar reversals need the move they reverse: mirror the context around its first
        # close (highs become lows), which turns a rise into a fall of the same shape.
        pivot = 2 * bars[0].close
        bars = [
            Bar(
                round(pivot - b.open, 2),
                round(pivot - b.low, 2),
                round(pivot - b.high, 2),
                round(pivot - b.close, 2),
                b.volume,
            )
            for b in bars
        ]
    p = bars[-1].close
    u = p * inst.vol * rng.uniform(0.6, 1.4)  # a typical bar size
    v = bars[-1].volume
    ru = rng.uniform
    dec = 2

    def one(o: float, c: float, up: float, lo: float) -> None:
        bars.append(_bar(o, c, up, lo, vol=int(v * ru(0.8, 1.6)), dec=dec))

    if target in ("hammer", "hanging man"):
        body = u * ru(0.1, 0.35)
        o = p - u * ru(-0.1, 0.2)
        c = o + body * (1 if rng.random() < 0.6 else -1)
        one(o, c, body * ru(0.0, 0.3), body * ru(2.3, 4.0))
    elif target in ("inverted hammer", "shooting star"):
        body = u * ru(0.1, 0.35)
        o = p + u * ru(-0.1, 0.2)
        c = o + body * (1 if rng.random() < 0.4 else -1)
        one(o, c, body * ru(2.3, 4.0), body * ru(0.0, 0.3))
    elif target == "doji":
        o = p + u * ru(-0.2, 0.2)
        one(o, o + u * ru(-0.04, 0.04), u * ru(0.3, 1.0), u * ru(0.3, 1.0))
    elif target in ("bullish engulfing", "bearish engulfing"):
        bull = target.startswith("bullish")
        b1 = u * ru(0.4, 0.9)
        o1 = p
        c1 = o1 - b1 if bull else o1 + b1
        one(o1, c1, u * ru(0.05, 0.3), u * ru(0.05, 0.3))
        o2 = c1 - u * ru(0.02, 0.2) if bull else c1 + u * ru(0.02, 0.2)
        c2 = o1 + u * ru(0.1, 0.6) if bull else o1 - u * ru(0.1, 0.6)
        one(o2, c2, u * ru(0.05, 0.3), u * ru(0.05, 0.3))
    elif target in ("bullish harami", "bearish harami"):
        bull = target.startswith("bullish")
        b1 = u * ru(1.0, 1.8)
        o1 = p
        c1 = o1 - b1 if bull else o1 + b1
        one(o1, c1, u * ru(0.05, 0.2), u * ru(0.05, 0.2))
        lo, hi = min(o1, c1), max(o1, c1)
        o2 = lo + (hi - lo) * ru(0.3, 0.7)
        c2 = o2 + (hi - lo) * ru(-0.2, 0.2)
        one(o2, c2, (hi - lo) * ru(0.05, 0.2), (hi - lo) * ru(0.05, 0.2))
    elif target == "inside bar":
        o1 = p
        c1 = o1 + u * ru(-0.3, 0.3)
        one(o1, c1, u * ru(0.6, 1.2), u * ru(0.6, 1.2))
        first = bars[-1]
        mid = (first.high + first.low) / 2
        half = (first.high - first.low) * ru(0.15, 0.35)
        o2 = mid + half * ru(-0.5, 0.5)
        c2 = mid + half * ru(-0.5, 0.5)
        one(o2, c2, max(0.0, mid + half - max(o2, c2)), max(0.0, min(o2, c2) - (mid - half)))
    elif target in ("morning star", "evening star"):
        bull = target == "morning star"
        b1 = u * ru(0.9, 1.6)
        o1 = p
        c1 = o1 - b1 if bull else o1 + b1
        one(o1, c1, u * ru(0.05, 0.25), u * ru(0.05, 0.25))
        o2 = c1 - u * ru(0.05, 0.3) if bull else c1 + u * ru(0.05, 0.3)
        c2 = o2 + u * ru(-0.15, 0.15)
        c2 = min(c2, c1 - u * 0.02) if bull else max(c2, c1 + u * 0.02)
        one(o2, c2, u * ru(0.05, 0.3), u * ru(0.05, 0.3))
        o3 = c2 + (u * ru(0.0, 0.1) if bull else -u * ru(0.0, 0.1))
        c3 = (o1 + c1) / 2 + (b1 * ru(0.1, 0.5) if bull else -b1 * ru(0.1, 0.5))
        one(o3, c3, u * ru(0.05, 0.3), u * ru(0.05, 0.3))
    else:  # none: an ordinary bar
        bars.extend(ohlcv(rng, 1, inst, decimals=2, start=p))
    return bars
