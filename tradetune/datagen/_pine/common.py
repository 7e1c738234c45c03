"""Pieces every PineScript template shares: moving-average names and number literals."""

from __future__ import annotations

MA_TYPES = ("sma", "ema", "wma", "hma")
MA_NAMES = {"sma": "SMA", "ema": "EMA", "wma": "WMA", "hma": "HMA"}
MA_LONG = {
    "sma": "simple moving average",
    "ema": "exponential moving average",
    "wma": "weighted moving average",
    "hma": "Hull moving average",
}


def num(x: float) -> str:
    """A Pine float literal."""
    text = f"{float(x):g}"
    return text if ("." in text or "e" in text) else text + ".0"
