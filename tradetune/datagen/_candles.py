"""Candlestick pattern rules: one rule per pattern, and bar builders for each pattern.

The ground truth of `pattern_recognition` is whatever the rules say about the bars, never
the pattern the builder aimed for, so answers are right by construction even when rounding
turns an intended hammer into something else. Each rule is judged on its own:

- a yes/no question evaluates the asked pattern's rule and nothing else;
- "which pattern?" accepts every pattern whose rule holds (a harami whose second bar sits
  inside the first bar's range is also an inside bar; a dragonfly doji is also a hammer), so
  no fixed precedence decides a label the question never mentioned.

Reversal patterns need the move they reverse, as their textbook definitions and TradingView's
built-in pattern indicators do: the bullish ones (morning star, bullish engulfing, bullish
harami, hammer, inverted hammer) a prior fall, the bearish ones a prior rise. The prior move is
the close just before the pattern's first bar against the first close of the series. Doji
and inside bar are neutral and need no trend. The rules are written out in docs/dataset.md.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence

from tradetune.datagen._market import Bar, Instrument, ohlcv

__all__ = [
    "LABELS",
    "NEEDS_TREND",
    "SPAN",
    "Check",
    "body_inside",
    "build_bars",
    "classify",
    "describe_bar",
    "doji_body",
    "engulfs",
    "evaluate",
    "long_body",
    "long_lower_shadow",
    "long_upper_shadow",
    "prior_trend",
    "range_inside",
    "small_lower_shadow",
    "small_star",
    "small_upper_shadow",
]

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
# How many bars each pattern spans (its prior move is measured before the first of them).
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
# The prior move a reversal pattern's definition names; neutral patterns are absent.
NEEDS_TREND = {
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
_MOVE_WORD = {"down": "fall", "up": "rise"}

Check = tuple[str, bool, str]  # (label, holds, reason)


def _body(b: Bar) -> float:
    return abs(b.close - b.open)


def _range(b: Bar) -> float:
    return b.high - b.low


def _upper(b: Bar) -> float:
    return b.high - max(b.open, b.close)


def _lower(b: Bar) -> float:
    return min(b.open, b.close) - b.low


# The measurements every rule is made of, named once: the patterns' rules below and
# `candle_reading`'s facts (which state them in words) both read these.
def long_body(b: Bar) -> bool:
    """The body is at least half the range."""
    return _range(b) > 0 and _body(b) >= 0.5 * _range(b)


def doji_body(b: Bar) -> bool:
    """The body is at most a tenth of the range."""
    return _range(b) > 0 and _body(b) <= 0.1 * _range(b)


def long_lower_shadow(b: Bar) -> bool:
    """The lower shadow is at least twice the body."""
    return _range(b) > 0 and _lower(b) >= 2 * _body(b)


def long_upper_shadow(b: Bar) -> bool:
    """The upper shadow is at least twice the body."""
    return _range(b) > 0 and _upper(b) >= 2 * _body(b)


def small_upper_shadow(b: Bar) -> bool:
    """The upper shadow is at most a quarter of the range."""
    return _range(b) > 0 and _upper(b) <= 0.25 * _range(b)


def small_lower_shadow(b: Bar) -> bool:
    """The lower shadow is at most a quarter of the range."""
    return _range(b) > 0 and _lower(b) <= 0.25 * _range(b)


def small_star(a: Bar, b: Bar) -> bool:
    """A star's middle body: at most half the first body."""
    return _body(b) <= 0.5 * _body(a)


def engulfs(b: Bar, c: Bar) -> bool:
    """c's body covers b's body and is larger."""
    return (
        min(c.open, c.close) <= min(b.open, b.close)
        and max(c.open, c.close) >= max(b.open, b.close)
        and _body(c) > _body(b)
    )


def body_inside(b: Bar, c: Bar) -> bool:
    """c's body lies strictly inside b's body."""
    return min(b.open, b.close) < min(c.open, c.close) and max(c.open, c.close) < max(b.open, b.close)


def range_inside(b: Bar, c: Bar) -> bool:
    """c's range lies strictly inside b's range."""
    return c.high < b.high and c.low > b.low


def _g(x: float) -> str:
    return f"{x:.2f}"


def describe_bar(i: int, b: Bar) -> str:
    colour = "bullish" if b.close > b.open else "bearish" if b.close < b.open else "flat"
    return (
        f"Bar {i}: {colour}, body {_g(_body(b))}, range {_g(_range(b))}, upper shadow {_g(_upper(b))}, "
        f"lower shadow {_g(_lower(b))}."
    )


def prior_trend(bars: Sequence[Bar], span: int = 1) -> str:
    """The move into a pattern of `span` bars: 'down', 'up' or 'flat'.

    The close just before the pattern's first bar against the first close of the series.
    """
    ref, first = bars[-span - 1].close, bars[0].close
    return "down" if ref < first else "up" if ref > first else "flat"


def _trend_text(bars: Sequence[Bar], span: int) -> str:
    """'bar 5 closed at 412.29, below bar 1's close 414.29' (the bar just before the pattern)."""
    i = len(bars) - span
    ref, first = bars[i - 1].close, bars[0].close
    where = "below" if ref < first else "above" if ref > first else "level with"
    return f"bar {i} closed at {_g(ref)}, {where} bar 1's close {_g(first)}"


def _star(bars: Sequence[Bar], bull: bool) -> tuple[bool, str]:
    a, b, c = bars[-3], bars[-2], bars[-1]
    if not (long_body(a) and ((a.close < a.open) if bull else (a.close > a.open))):
        return (
            False,
            f"the first of the last three bars is not a long {'bearish' if bull else 'bullish'} candle",
        )
    small = small_star(a, b)
    beyond = max(b.open, b.close) <= a.close if bull else min(b.open, b.close) >= a.close
    if not (small and beyond):
        return False, "the middle bar is not a small body beyond the first body"
    mid = (a.open + a.close) / 2
    third = (c.close > c.open and c.close > mid) if bull else (c.close < c.open and c.close < mid)
    if not third:
        return (
            False,
            f"the last bar does not close {'above' if bull else 'below'} the first body's midpoint {_g(mid)}",
        )
    return True, (
        f"long {'bearish' if bull else 'bullish'} bar, small star beyond its close, then a "
        f"{'bullish' if bull else 'bearish'} close at {_g(c.close)} {'above' if bull else 'below'} the "
        f"midpoint {_g(mid)}"
    )


def _engulfing(bars: Sequence[Bar], bull: bool) -> tuple[bool, str]:
    b, c = bars[-2], bars[-1]
    colours = (b.close < b.open and c.close > c.open) if bull else (b.close > b.open and c.close < c.open)
    if not colours:
        return (
            False,
            f"the last two bars are not {'bearish then bullish' if bull else 'bullish then bearish'}",
        )
    if not engulfs(b, c):  # with the colours above, the last body covers the previous one
        return False, "the last body does not cover the previous body"
    return True, (
        f"the last body ({_g(c.open)} to {_g(c.close)}) covers the previous body "
        f"({_g(b.open)} to {_g(b.close)})"
    )


def _harami(bars: Sequence[Bar], bull: bool) -> tuple[bool, str]:
    b, c = bars[-2], bars[-1]
    if not (long_body(b) and ((b.close < b.open) if bull else (b.close > b.open))):
        return False, f"the previous bar is not a long {'bearish' if bull else 'bullish'} candle"
    lo, hi = min(b.open, b.close), max(b.open, b.close)
    if not body_inside(b, c):
        return False, "the last body is not inside the previous body"
    return True, f"the last body sits inside the previous long body ({_g(lo)} to {_g(hi)})"


def _inside(bars: Sequence[Bar]) -> tuple[bool, str]:
    b, c = bars[-2], bars[-1]
    if range_inside(b, c):
        return True, f"high {_g(c.high)} < {_g(b.high)} and low {_g(c.low)} > {_g(b.low)}"
    return False, "the last bar's range is not inside the previous bar's range"


def _doji(bars: Sequence[Bar]) -> tuple[bool, str]:
    c = bars[-1]
    r = _range(c)
    ok = doji_body(c)
    return ok, f"body {_g(_body(c))} is {'at most' if ok else 'more than'} 10% of the range {_g(r)}"


def _hammer_shape(bars: Sequence[Bar]) -> tuple[bool, str]:
    c = bars[-1]
    if long_lower_shadow(c) and small_upper_shadow(c):
        return True, (
            f"lower shadow {_g(_lower(c))} ≥ 2 × body {_g(_body(c))} and upper shadow {_g(_upper(c))} ≤ "
            "25% of the range"
        )
    return False, "no long lower shadow with a small upper shadow"


def _inverted_shape(bars: Sequence[Bar]) -> tuple[bool, str]:
    c = bars[-1]
    if long_upper_shadow(c) and small_lower_shadow(c):
        return True, (
            f"upper shadow {_g(_upper(c))} ≥ 2 × body {_g(_body(c))} and lower shadow {_g(_lower(c))} ≤ "
            "25% of the range"
        )
    return False, "no long upper shadow with a small lower shadow"


_SHAPES: dict[str, Callable[[Sequence[Bar]], tuple[bool, str]]] = {
    "morning star": lambda bars: _star(bars, True),
    "evening star": lambda bars: _star(bars, False),
    "bullish engulfing": lambda bars: _engulfing(bars, True),
    "bearish engulfing": lambda bars: _engulfing(bars, False),
    "bullish harami": lambda bars: _harami(bars, True),
    "bearish harami": lambda bars: _harami(bars, False),
    "inside bar": _inside,
    "doji": _doji,
    "hammer": _hammer_shape,
    "hanging man": _hammer_shape,
    "inverted hammer": _inverted_shape,
    "shooting star": _inverted_shape,
}


def evaluate(label: str, bars: Sequence[Bar]) -> Check:
    """The rule of one pattern on the last bars: its shape, then the prior move it needs."""
    ok, reason = _SHAPES[label](bars)
    need = NEEDS_TREND.get(label)
    if not ok or need is None:
        return label, ok, reason
    span = SPAN[label]
    trend = _trend_text(bars, span)
    if prior_trend(bars, span) != need:
        return (
            label,
            False,
            (f"the shape matches ({reason}), but a {label} needs a prior {_MOVE_WORD[need]} and {trend}"),
        )
    return label, True, f"{reason}, after a {_MOVE_WORD[need]} ({trend})"


def classify(bars: Sequence[Bar]) -> tuple[list[str], list[Check]]:
    """Every pattern whose rule holds on the last bars (in LABELS order; ['none'] when none does)."""
    checks = [evaluate(label, bars) for label in LABELS[:-1]]
    found = [label for label, ok, _ in checks if ok]
    return found or ["none"], checks


def _bar(o: float, c: float, upper: float, lower: float, *, vol: int, dec: int) -> Bar:
    o, c = round(o, dec), round(c, dec)
    return Bar(o, round(max(o, c) + upper, dec), round(min(o, c) - lower, dec), c, vol)


def build_bars(rng: random.Random, target: str, inst: Instrument, n_context: int) -> list[Bar]:
    """Context bars moving into the target pattern, then the pattern's bars (2-decimal prices).

    A reversal pattern gets the move its definition names: a context that ends up going the
    wrong way is mirrored around its first close (highs become lows), which turns a rise into a
    fall of the same shape.
    """
    want = NEEDS_TREND.get(target)
    regime = {"down": 1, "up": 0}.get(want or "", int(rng.random() * 4))
    bars = ohlcv(rng, n_context, inst, decimals=2, regime=regime)
    if want is not None and prior_trend([*bars, bars[-1]], 1) != want:
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
