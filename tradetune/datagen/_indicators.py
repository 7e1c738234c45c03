"""Indicator maths, computed exactly, with the working written out step by step.

The conventions are TradingView's (what a PineScript user checks against):
- SMA: arithmetic mean of the last n values.
- EMA: alpha = 2 / (n + 1), seeded with the SMA of the first n values (ta.ema).
- RSI: Wilder's smoothing; the first average gain/loss is the simple mean of the first n
  changes, then avg = (prev * (n - 1) + current) / n (ta.rsi / ta.rma).
- ATR: true range = max(high - low, |high - prev close|, |low - prev close|), seeded with the
  mean of the first n true ranges, then Wilder's smoothing (ta.atr).
- Bollinger Bands: SMA ± k × population standard deviation (ta.stdev is the biased one).
- MACD: EMA(fast) - EMA(slow); signal = EMA(signal) of MACD; histogram = MACD - signal.
Each function returns the exact value (unrounded) and the lines that show the working; the
working prints intermediate values to 4 decimals, the exact value is what the answer uses.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

from tradetune.datagen._market import Bar

__all__ = ["atr", "bollinger", "ema", "macd_update", "rsi", "sma"]


def _f(x: float) -> str:
    return f"{x:.4f}"


def _p(x: float) -> str:
    """A value inside an expression: negatives in parentheses ('0.5 × (-1.2000)')."""
    return f"({x:.4f})" if x < 0 else f"{x:.4f}"


def _list(values: Sequence[float]) -> str:
    return " + ".join(f"{v:g}" for v in values)


def sma(values: Sequence[float], n: int) -> tuple[float, list[str]]:
    window = values[-n:]
    total = math.fsum(window)
    value = total / n
    return value, [
        f"Take the last {n} values: {', '.join(f'{v:g}' for v in window)}.",
        f"Sum = {_list(window)} = {_f(total)}.",
        f"SMA({n}) = {_f(total)} / {n} = {_f(value)}.",
    ]


def ema(values: Sequence[float], n: int) -> tuple[float, list[str]]:
    alpha = 2.0 / (n + 1)
    seed = math.fsum(values[:n]) / n
    steps = [
        f"Smoothing factor alpha = 2 / ({n} + 1) = {_f(alpha)}.",
        f"Seed the EMA with the SMA of the first {n} values: ({_list(values[:n])}) / {n} = {_f(seed)}.",
    ]
    value = seed
    for price in values[n:]:
        new = alpha * price + (1 - alpha) * value
        steps.append(f"EMA = {_f(alpha)} × {price:g} + {_f(1 - alpha)} × {_f(value)} = {_f(new)}.")
        value = new
    return value, steps


def rsi(values: Sequence[float], n: int) -> tuple[float, list[str]]:
    changes = [b - a for a, b in itertools.pairwise(values)]
    gains = [max(c, 0.0) for c in changes]
    losses = [max(-c, 0.0) for c in changes]
    avg_gain = math.fsum(gains[:n]) / n
    avg_loss = math.fsum(losses[:n]) / n
    steps = [
        "Price changes: " + ", ".join(f"{c:+.4f}" for c in changes) + ".",
        f"First average gain = sum of the gains in the first {n} changes / {n} = {_f(avg_gain)}; "
        f"first average loss = {_f(avg_loss)}.",
    ]
    for g, lo in zip(gains[n:], losses[n:], strict=True):
        new_gain = (avg_gain * (n - 1) + g) / n
        new_loss = (avg_loss * (n - 1) + lo) / n
        steps.append(
            f"Wilder smoothing: avg gain = ({_f(avg_gain)} × {n - 1} + {_f(g)}) / {n} = {_f(new_gain)}; "
            f"avg loss = ({_f(avg_loss)} × {n - 1} + {_f(lo)}) / {n} = {_f(new_loss)}."
        )
        avg_gain, avg_loss = new_gain, new_loss
    if avg_loss == 0:
        steps.append("The average loss is 0, so RSI = 100.")
        return 100.0, steps
    rs = avg_gain / avg_loss
    value = 100.0 - 100.0 / (1.0 + rs)
    steps.append(f"RS = {_f(avg_gain)} / {_f(avg_loss)} = {_f(rs)}.")
    steps.append(f"RSI = 100 - 100 / (1 + {_f(rs)}) = {_f(value)}.")
    return value, steps


def atr(bars: Sequence[Bar], n: int) -> tuple[float, list[str]]:
    trs: list[float] = []
    steps: list[str] = []
    for prev, bar in itertools.pairwise(bars):
        tr = max(bar.high - bar.low, abs(bar.high - prev.close), abs(bar.low - prev.close))
        trs.append(tr)
    steps.append(
        "True ranges from bar 2 on, TR = max(high - low, |high - previous close|, |low - previous close|): "
        + ", ".join(_f(t) for t in trs)
        + "."
    )
    value = math.fsum(trs[:n]) / n
    steps.append(f"Seed ATR = mean of the first {n} true ranges = {_f(value)}.")
    for tr in trs[n:]:
        new = (value * (n - 1) + tr) / n
        steps.append(f"ATR = ({_f(value)} × {n - 1} + {_f(tr)}) / {n} = {_f(new)}.")
        value = new
    return value, steps


def bollinger(values: Sequence[float], n: int, k: float) -> tuple[tuple[float, float, float], list[str]]:
    """(middle, upper, lower) and the working."""
    window = values[-n:]
    mid = math.fsum(window) / n
    var = math.fsum((v - mid) ** 2 for v in window) / n
    sd = math.sqrt(var)
    upper, lower = mid + k * sd, mid - k * sd
    steps = [
        f"Middle band = SMA({n}) of {', '.join(f'{v:g}' for v in window)} = {_f(mid)}.",
        f"Squared deviations from the mean sum to {_f(var * n)}; population variance = {_f(var * n)} / {n} "
        f"= {_f(var)}; standard deviation = √{_f(var)} = {_f(sd)}.",
        f"Upper band = {_f(mid)} + {k:g} × {_f(sd)} = {_f(upper)}.",
        f"Lower band = {_f(mid)} - {k:g} × {_f(sd)} = {_f(lower)}.",
    ]
    return (mid, upper, lower), steps


def macd_update(  # noqa: PLR0917 - the seven inputs of one MACD step, in the textbook order
    prev_fast: float,
    prev_slow: float,
    prev_signal: float,
    price: float,
    fast: int,
    slow: int,
    signal: int,
) -> tuple[tuple[float, float, float], list[str]]:
    """One bar of MACD from yesterday's EMAs: (macd, signal, histogram) and the working."""
    af, aslow, asig = 2.0 / (fast + 1), 2.0 / (slow + 1), 2.0 / (signal + 1)
    new_fast = af * price + (1 - af) * prev_fast
    new_slow = aslow * price + (1 - aslow) * prev_slow
    macd = new_fast - new_slow
    new_signal = asig * macd + (1 - asig) * prev_signal
    hist = macd - new_signal
    steps = [
        f"alpha_fast = 2 / ({fast} + 1) = {_f(af)}; alpha_slow = 2 / ({slow} + 1) = {_f(aslow)}; "
        f"alpha_signal = 2 / ({signal} + 1) = {_f(asig)}.",
        f"EMA{fast} = {_f(af)} × {price:g} + {_f(1 - af)} × {prev_fast:g} = {_f(new_fast)}.",
        f"EMA{slow} = {_f(aslow)} × {price:g} + {_f(1 - aslow)} × {prev_slow:g} = {_f(new_slow)}.",
        f"MACD line = {_f(new_fast)} - {_p(new_slow)} = {_f(macd)}.",
        f"Signal = {_f(asig)} × {_p(macd)} + {_f(1 - asig)} × {_p(prev_signal)} = {_f(new_signal)}.",
        f"Histogram = {_f(macd)} - {_p(new_signal)} = {_f(hist)}.",
    ]
    return (macd, new_signal, hist), steps
