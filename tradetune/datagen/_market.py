"""Synthetic OHLCV bars that look like markets: geometric Brownian motion with regime switches.

Each bar's close follows GBM with a drift and volatility set by the current regime (trending
up, trending down, quiet range, volatile); the regime switches with a small probability per
bar, so a series of 20-40 bars shows trends, pauses and shocks like a real chart. Opens gap a
little from the previous close, wicks extend past the body by an exponentially distributed
share of the bar's volatility, and volume rises with the size of the move. Pure Python on the `random.Random`
it is given, so a record's series depends only on its own seed.
"""

from __future__ import annotations

import math
import random
from typing import NamedTuple

__all__ = ["INSTRUMENTS", "Bar", "Instrument", "closes", "ohlcv", "pick_instrument"]


class Instrument(NamedTuple):
    symbol: str
    name: str
    price: float  # a typical price level
    vol: float  # daily volatility (fraction)
    decimals: int
    volume: float  # typical daily volume
    kind: str  # stock, crypto, future, etf, metal


INSTRUMENTS: tuple[Instrument, ...] = (
    Instrument("AAPL", "Apple", 185.0, 0.016, 2, 55e6, "stock"),
    Instrument("MSFT", "Microsoft", 375.0, 0.015, 2, 24e6, "stock"),
    Instrument("NVDA", "NVIDIA", 480.0, 0.030, 2, 45e6, "stock"),
    Instrument("TSLA", "Tesla", 240.0, 0.034, 2, 110e6, "stock"),
    Instrument("AMZN", "Amazon", 150.0, 0.020, 2, 48e6, "stock"),
    Instrument("JPM", "JPMorgan Chase", 170.0, 0.013, 2, 9e6, "stock"),
    Instrument("XOM", "Exxon Mobil", 102.0, 0.015, 2, 17e6, "stock"),
    Instrument("SPY", "SPDR S&P 500 ETF", 470.0, 0.010, 2, 80e6, "etf"),
    Instrument("QQQ", "Invesco QQQ", 405.0, 0.013, 2, 45e6, "etf"),
    Instrument("BTCUSD", "Bitcoin", 43000.0, 0.032, 2, 25e3, "crypto"),
    Instrument("ETHUSD", "Ether", 2300.0, 0.040, 2, 350e3, "crypto"),
    Instrument("SOLUSD", "Solana", 98.0, 0.055, 2, 3e6, "crypto"),
    Instrument("XAUUSD", "Gold", 2030.0, 0.009, 2, 180e3, "metal"),
    Instrument("CL", "WTI crude oil futures", 76.0, 0.022, 2, 300e3, "future"),
    Instrument("ES", "E-mini S&P 500 futures", 4780.0, 0.010, 2, 1.6e6, "future"),
    Instrument("NQ", "E-mini Nasdaq-100 futures", 16800.0, 0.013, 2, 600e3, "future"),
)

# (drift per bar, volatility multiplier); index = regime id.
_REGIMES = ((0.0025, 0.8), (-0.0025, 0.9), (0.0, 0.55), (0.0, 1.8))
_SWITCH = 0.08


# Chart timeframes the instruction templates mention.
TIMEFRAMES = ("5-minute", "15-minute", "1-hour", "4-hour", "daily", "weekly")
# Instruments priced well above 1, where a 0.01 answer tolerance is tight (computed exercises).
PRICED_INSTRUMENTS = tuple(i for i in INSTRUMENTS if 20 <= i.price <= 5000)


class Bar(NamedTuple):
    open: float
    high: float
    low: float
    close: float
    volume: int


def pick_instrument(rng: random.Random) -> Instrument:
    return INSTRUMENTS[int(rng.random() * len(INSTRUMENTS))]


def ohlcv(
    rng: random.Random,
    n: int,
    inst: Instrument | None = None,
    *,
    decimals: int | None = None,
    regime: int | None = None,
    start: float | None = None,
) -> list[Bar]:
    """`n` bars of `inst` (drawn when None), rounded to the instrument's price decimals.

    `regime` fixes the regime (0 up, 1 down, 2 quiet, 3 volatile) with no switching; `start`
    continues from a given close.
    """
    inst = inst or pick_instrument(rng)
    dec = inst.decimals if decimals is None else decimals
    price = inst.price * math.exp(rng.gauss(0.0, 0.15)) if start is None else start
    switch = _SWITCH if regime is None else 0.0
    regime = int(rng.random() * 4) if regime is None else regime
    gauss = rng.gauss
    rand = rng.random
    log = math.log
    exp = math.exp
    base_volume = inst.volume
    bars: list[Bar] = []
    prev = round(price, dec)
    for _ in range(n):
        if rand() < switch:
            regime = int(rand() * 4)
        drift, mult = _REGIMES[regime]
        sigma = inst.vol * mult
        # One Gaussian draw per bar drives the close (the GBM step); the overnight gap, the wicks
        # and the volume use cheaper uniform/exponential draws: their exact shape matters less
        # than the speed of the stream.
        o = prev * (1.0 + sigma * 0.15 * (rand() - 0.5))
        z = gauss(0.0, 1.0)
        c = o * exp(drift - 0.5 * sigma * sigma + sigma * z)
        hi = max(o, c) * (1.0 - 0.35 * sigma * log(1.0 - rand()))
        lo = min(o, c) * (1.0 + 0.35 * sigma * log(1.0 - rand()))
        o, hi, lo, c = round(o, dec), round(hi, dec), round(lo, dec), round(c, dec)
        if hi < o or hi < c:
            hi = max(o, c)
        if lo > o or lo > c:
            lo = min(o, c)
        vol = int(base_volume * (0.75 + 0.5 * rand()) * (0.7 + 0.4 * abs(z)))
        bars.append(Bar(o, hi, lo, c, vol))
        prev = c
    return bars


def closes(rng: random.Random, n: int, inst: Instrument | None = None, *, decimals: int = 2) -> list[float]:
    """Just `n` closes (indicator exercises): the same GBM with regime switches, without wicks or volume."""
    inst = inst or pick_instrument(rng)
    price = inst.price * math.exp(rng.gauss(0.0, 0.15))
    regime = int(rng.random() * 4)
    gauss = rng.gauss
    rand = rng.random
    exp = math.exp
    out: list[float] = []
    for _ in range(n):
        if rand() < _SWITCH:
            regime = int(rand() * 4)
        drift, mult = _REGIMES[regime]
        sigma = inst.vol * mult
        price *= exp(drift - 0.5 * sigma * sigma + sigma * gauss(0.0, 1.0))
        out.append(round(price, decimals))
    return out
