"""Indicator maths against hand-computed values and independent reference implementations."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tradetune.datagen import _indicators as ind
from tradetune.datagen._market import Bar


def test_sma_by_hand() -> None:
    value, steps = ind.sma([9.0, 1.0, 2.0, 3.0, 4.0, 5.0], 3)
    assert value == pytest.approx(4.0)
    assert steps[-1].endswith("= 4.0000.")


def test_ema_is_seeded_with_the_sma() -> None:
    # alpha = 2/(3+1) = 0.5; seed = mean(1,2,3) = 2; then 0.5*4+0.5*2 = 3; 0.5*5+0.5*3 = 4.
    value, _ = ind.ema([1.0, 2.0, 3.0, 4.0, 5.0], 3)
    assert value == pytest.approx(4.0)


def test_rsi_wilder_by_hand() -> None:
    # changes +1 -1 +1 +1; n=2: first avg gain 0.5, loss 0.5; then (0.5+1)/2=0.75 / 0.25;
    # then (0.75+1)/2=0.875 / 0.125 -> RS 7 -> RSI 87.5
    value, _ = ind.rsi([1.0, 2.0, 1.0, 2.0, 3.0], 2)
    assert value == pytest.approx(87.5)


def test_rsi_without_losses_is_100() -> None:
    assert ind.rsi([1.0, 2.0, 3.0, 4.0], 3)[0] == 100.0


def test_atr_wilder_by_hand() -> None:
    bars = [
        Bar(10, 11, 9, 10, 1),
        Bar(10, 12, 10, 11, 1),  # TR = max(2, |12-10|, |10-10|) = 2
        Bar(11, 11.5, 8, 9, 1),  # TR = max(3.5, 0.5, 3) = 3.5
        Bar(9, 13, 9, 12, 1),  # TR = max(4, 4, 0) = 4
    ]
    # seed (n=2) = (2 + 3.5) / 2 = 2.75; then (2.75 * 1 + 4) / 2 = 3.375
    assert ind.atr(bars, 2)[0] == pytest.approx(3.375)


def test_bollinger_uses_population_stdev() -> None:
    (mid, upper, lower), _ = ind.bollinger([2.0, 4, 4, 4, 5, 5, 7, 9], 8, 2.0)
    assert (mid, upper, lower) == pytest.approx((5.0, 9.0, 1.0))


def test_macd_update_by_hand() -> None:
    (macd, signal, hist), _ = ind.macd_update(10.0, 10.0, 0.0, 12.0, fast=3, slow=7, signal=3)
    # fast: 0.5*12+0.5*10 = 11; slow: 0.25*12+0.75*10 = 10.5; macd .5; signal .5*.5 = .25
    assert (macd, signal, hist) == pytest.approx((0.5, 0.25, 0.25))


def _ema_ref(values: list[float], n: int) -> float:
    out = sum(values[:n]) / n
    for v in values[n:]:
        out += (v - out) * 2 / (n + 1)
    return out


def _rsi_ref(values: list[float], n: int) -> float:
    up = dn = 0.0
    for i in range(1, len(values)):
        d = values[i] - values[i - 1]
        g, loss = max(d, 0.0), max(-d, 0.0)
        if i <= n:
            up += g / n
            dn += loss / n
        else:
            up = up + (g - up) / n
            dn = dn + (loss - dn) / n
    return 100.0 if dn == 0 else 100 - 100 / (1 + up / dn)


prices = st.lists(st.floats(min_value=1, max_value=10_000, allow_nan=False), min_size=16, max_size=40)


@given(prices, st.integers(min_value=2, max_value=14))
def test_ema_matches_reference(values: list[float], n: int) -> None:
    assert ind.ema(values, n)[0] == pytest.approx(_ema_ref(values, n), rel=1e-9)


@given(prices, st.integers(min_value=2, max_value=14))
def test_rsi_matches_reference_and_stays_in_range(values: list[float], n: int) -> None:
    value = ind.rsi(values, n)[0]
    assert 0.0 <= value <= 100.0
    assert value == pytest.approx(_rsi_ref(values, n), rel=1e-9, abs=1e-9)


@given(prices, st.integers(min_value=2, max_value=14), st.sampled_from([1.5, 2.0, 2.5]))
def test_bollinger_bands_bracket_the_mean(values: list[float], n: int, k: float) -> None:
    (mid, upper, lower), _ = ind.bollinger(values, n, k)
    window = values[-n:]
    sd = math.sqrt(sum((v - mid) ** 2 for v in window) / n)
    assert mid == pytest.approx(sum(window) / n)
    assert upper - mid == pytest.approx(k * sd, abs=1e-9)
    assert lower <= mid <= upper
