"""Every generated indicator answer, recomputed by TA-Lib (a test-only dependency).

TA-Lib (the `ta-lib` wheel on PyPI, pinned in the `dev` extra; it bundles the C library) is
the reference most charting tools are checked against, and it shares no code with
`tradetune.datagen._indicators`. The test reads the data back from each instruction's text,
calls TA-Lib, and requires the stored answer to be TA-Lib's value rounded as the answer line
rounds it (half a unit in the last printed decimal).

TA-Lib's conventions, which are the ones the dataset documents (TradingView's):
- SMA(n): plain mean of the last n closes.
- EMA(n): alpha = 2 / (n + 1), seeded with the SMA of the first n values (TA-Lib's default
  compatibility mode; the Metastock mode would seed with the first value instead).
- RSI(n): Wilder's smoothing, the first averages the simple means of the first n changes; an
  average loss of 0 gives 100.
- ATR(n): true range from the second bar on (it needs the previous close), seeded with the
  mean of the first n true ranges, then Wilder's smoothing (TA-Lib skips the first bar, as
  the generator's working does).
- BBANDS(n, k, matype=SMA): middle = SMA, bands = middle ± k × the population standard
  deviation. Width = (upper - lower) / middle × 100; %B = (close - lower) / (upper - lower).
- MACD items give yesterday's fast/slow EMAs and signal and ask for today's values. TA-Lib
  cannot start from a given EMA state, so the oracle feeds its EMA n copies of yesterday's
  value (the SMA seed is then exactly that value) followed by today's input: one EMA step
  with TA-Lib's own alpha. MACD = EMA(fast) - EMA(slow), signal = EMA(signal) of the MACD
  line, histogram = MACD - signal.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

import numpy as np
import talib

from tradetune.datagen import Record, generate_records

RECORDS = 3000
_NUM = r"-?\d+(?:\.\d+)?"
_BAR = re.compile(rf"^\d+: O ({_NUM}) H ({_NUM}) L ({_NUM}) C ({_NUM})$", re.MULTILINE)
_MACD = re.compile(
    rf"Previous bar: EMA\d+ = ({_NUM}), EMA\d+ = ({_NUM}), signal = ({_NUM})\. Today's close = ({_NUM})\."
)


def _closes(instruction: str) -> np.ndarray[Any, np.dtype[np.float64]]:
    line = instruction.split("Closes (oldest first): ")[1].split("\n", maxsplit=1)[0]
    return np.array([float(x) for x in line.split(", ")], dtype=np.float64)


def _one_ema_step(previous: float, value: float, n: int) -> float:
    series = np.array([previous] * n + [value], dtype=np.float64)
    return float(talib.EMA(series, timeperiod=n)[-1])


def oracle(rec: Record) -> tuple[float, int]:
    """TA-Lib's value for one record and the decimals its answer line shows."""
    kind, params, text = rec["meta"]["indicator"], rec["meta"]["params"], rec["instruction"]
    if kind == "atr":
        bars = np.array([[float(x) for x in m] for m in _BAR.findall(text)], dtype=np.float64)
        return float(talib.ATR(bars[:, 1], bars[:, 2], bars[:, 3], timeperiod=params["n"])[-1]), 2
    if kind.startswith("macd"):
        m = _MACD.search(text)
        assert m, text
        fast_prev, slow_prev, signal_prev, price = (float(x) for x in m.groups())
        macd = _one_ema_step(fast_prev, price, params["fast"]) - _one_ema_step(
            slow_prev, price, params["slow"]
        )
        signal = _one_ema_step(signal_prev, macd, params["signal"])
        return {"macd": macd, "macd_signal": signal, "macd_hist": macd - signal}[kind], 2
    closes, n = _closes(text), params["n"]
    if kind == "sma":
        return float(talib.SMA(closes, timeperiod=n)[-1]), 2
    if kind == "ema":
        return float(talib.EMA(closes, timeperiod=n)[-1]), 2
    if kind == "rsi":
        return float(talib.RSI(closes, timeperiod=n)[-1]), 2
    k = params["k"]
    upper, middle, lower = (
        float(band[-1]) for band in talib.BBANDS(closes, timeperiod=n, nbdevup=k, nbdevdn=k, matype=0)
    )
    if kind == "bb_upper":
        return upper, 2
    if kind == "bb_lower":
        return lower, 2
    if kind == "bb_width":
        return (upper - lower) / middle * 100, 2
    assert kind == "bb_percent_b", kind
    return (closes[-1] - lower) / (upper - lower), 4


def test_every_indicator_answer_agrees_with_ta_lib() -> None:
    checked: Counter[str] = Counter()
    disagreements = []
    for rec in generate_records(RECORDS, seed=31, tasks=["indicator_math"]):
        expected, decimals = oracle(rec)
        answer = rec["meta"]["answer"]
        if not abs(answer - expected) <= 0.5 * 10**-decimals + 1e-9:
            disagreements.append((rec["meta"]["indicator"], rec["meta"]["params"], answer, expected))
        checked[rec["meta"]["indicator"]] += 1
    assert disagreements == []
    assert len(checked) == 11 and min(checked.values()) > 150, checked


def test_the_oracle_can_disagree() -> None:
    """The comparison is not vacuous: a nudged series moves TA-Lib's value past the tolerance."""
    rec = next(
        r for r in generate_records(200, seed=31, tasks=["indicator_math"]) if r["meta"]["indicator"] == "sma"
    )
    values = rec["instruction"].split("Closes (oldest first): ")[1].split("\n")[0].split(", ")
    nudged = ", ".join([*values[:-1], f"{float(values[-1]) + 5:.2f}"])
    text = rec["instruction"].replace(", ".join(values), nudged)
    expected, _ = oracle({**rec, "instruction": text})
    assert abs(rec["meta"]["answer"] - expected) > 0.01
