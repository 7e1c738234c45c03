"""Futures contract specifications for the sizing exercises: point value, tick, price range.

Each contract has its own economics (CME's contract sheets: dollars per full point and the
minimum price move) and a price range it has traded in over recent years, so an exercise
never quotes a micro S&P at a stock's price or the E-mini at one fixed level. Entries and
stops are whole ticks.
"""

from __future__ import annotations

from typing import NamedTuple

__all__ = ["FUTURES", "FutureSpec"]


class FutureSpec(NamedTuple):
    symbol: str
    name: str
    point_value: float  # dollars per full point of price
    tick: float  # minimum price move
    low: float  # price range entries are drawn from
    high: float
    micro: str | None  # the smaller contract on the same index/commodity, if there is one

    @property
    def decimals(self) -> int:
        """Decimals a price shows: 0 for whole-point ticks, else those of the tick."""
        text = f"{self.tick:g}"
        return len(text.split(".")[1]) if "." in text else 0

    def on_tick(self, price: float) -> float:
        """`price` rounded to the nearest whole tick (and to the tick's decimals, for printing)."""
        return round(round(price / self.tick) * self.tick, self.decimals)


FUTURES: tuple[FutureSpec, ...] = (
    FutureSpec("ES", "E-mini S&P 500", 50.0, 0.25, 4200.0, 6100.0, "MES"),
    FutureSpec("MES", "Micro E-mini S&P 500", 5.0, 0.25, 4200.0, 6100.0, None),
    FutureSpec("NQ", "E-mini Nasdaq-100", 20.0, 0.25, 14500.0, 21800.0, "MNQ"),
    FutureSpec("MNQ", "Micro E-mini Nasdaq-100", 2.0, 0.25, 14500.0, 21800.0, None),
    FutureSpec("YM", "E-mini Dow", 5.0, 1.0, 34000.0, 45000.0, "MYM"),
    FutureSpec("CL", "WTI crude oil", 1000.0, 0.01, 62.0, 92.0, "MCL"),
    FutureSpec("MCL", "Micro WTI crude oil", 100.0, 0.01, 62.0, 92.0, None),
    FutureSpec("GC", "Gold", 100.0, 0.10, 1900.0, 2700.0, "MGC"),
    FutureSpec("MGC", "Micro gold", 10.0, 0.10, 1900.0, 2700.0, None),
)
