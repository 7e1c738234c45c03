"""Generic trading text for the tiny model's tokenizer and pretraining.

The tiny base model must know some language before a fine-tune adapts it, or QLoRA would be
adapting random weights and every metric would measure noise. This corpus is deliberately
*not* the instruction dataset: plain prose about markets, numbers and short code-like lines,
produced from its own templates and seed, so pretraining can never leak a job's test split
(the guide's three-seed recipe can produce the same record in train and test; we avoid that
class of leak by construction here). Pure and deterministic: the same seed gives the same text.
"""

from __future__ import annotations

import random
from collections.abc import Iterator

_ASSETS = ["BTCUSD", "ETHUSD", "EURUSD", "GBPJPY", "AAPL", "MSFT", "SPY", "gold", "crude oil", "NQ"]
_TIMEFRAMES = ["1 minute", "5 minute", "15 minute", "hourly", "4 hour", "daily", "weekly"]
_INDICATORS = [
    ("RSI", "relative strength index"),
    ("EMA", "exponential moving average"),
    ("SMA", "simple moving average"),
    ("MACD", "moving average convergence divergence"),
    ("ATR", "average true range"),
    ("VWAP", "volume weighted average price"),
    ("Bollinger Bands", "a moving average with bands two standard deviations away"),
    ("Stochastic", "stochastic oscillator"),
]
_PATTERNS = [
    "hammer",
    "shooting star",
    "doji",
    "bullish engulfing",
    "bearish engulfing",
    "morning star",
    "evening star",
    "pin bar",
    "inside bar",
    "three white soldiers",
]
_TRENDS = ["an uptrend", "a downtrend", "a sideways range", "a strong rally", "a slow decline"]
_ADJ = ["clear", "weak", "strong", "noisy", "steady", "sharp", "quiet", "volatile"]
_VERBS = ["rose", "fell", "traded flat", "broke out", "pulled back", "gapped up", "gapped down"]
_GENERIC = [
    "A plan written before the session is easier to follow than a plan made during it.",
    "Risk is the amount you can lose, not the amount you hope to win.",
    "Every backtest is a model of the past; the future only has to be similar, not equal.",
    "Keep a journal of each trade with the reason, the entry, the exit and the result.",
    "Position size follows from the stop distance and the account risk per trade.",
    "A signal that works on one market may fail on another with different volatility.",
    "Liquidity is highest when the large sessions overlap.",
    "Slippage and fees turn many small edges into losses.",
    "The trend is a description of what happened, and it may change at any bar.",
    "Good data matters more than a clever model.",
]
_PINE_FUNCS = ["ta.sma", "ta.ema", "ta.rsi", "ta.atr", "ta.highest", "ta.lowest", "ta.stdev"]
_PINE_NAMES = ["fast", "slow", "signal", "basis", "upper", "lower", "value", "level", "band"]


def _sentence(rng: random.Random) -> str:
    kind = rng.randrange(9)
    asset = rng.choice(_ASSETS)
    if kind == 0:
        short, long = rng.choice(_INDICATORS)
        return f"The {short} is the {long}; traders read it on the {rng.choice(_TIMEFRAMES)} chart."
    if kind == 1:
        price = round(rng.uniform(10, 5000), 2)
        pct = round(rng.uniform(0.1, 9.9), 1)
        return f"{asset} {rng.choice(_VERBS)} {pct}% to {price} during a {rng.choice(_ADJ)} session."
    if kind == 2:
        return f"A {rng.choice(_PATTERNS)} after {rng.choice(_TRENDS)} is a {rng.choice(_ADJ)} signal."
    if kind == 3:
        balance = rng.choice([1000, 5000, 10000, 25000, 50000, 100000])
        risk = rng.choice([0.5, 1, 2])
        stop = round(rng.uniform(0.5, 20), 2)
        units = round(balance * risk / 100 / stop, 2)
        return f"With a balance of {balance} and {risk}% risk, a stop of {stop} points allows {units} units."
    if kind == 4:
        period = rng.choice([5, 9, 12, 14, 20, 26, 50, 200])
        short, _ = rng.choice(_INDICATORS)
        return f"A {period} period {short} reacts {'faster' if period < 20 else 'slower'} to price."
    if kind == 5:
        wins = rng.randrange(5, 95)
        trades = wins + rng.randrange(5, 95)
        return f"The system won {wins} of {trades} trades, a win rate of {100 * wins / trades:.1f}%."
    if kind == 6:
        return rng.choice(_GENERIC)
    if kind == 7:
        o, h = round(rng.uniform(50, 150), 2), 0.0
        h = round(o + rng.uniform(0, 5), 2)
        low = round(o - rng.uniform(0, 5), 2)
        c = round(rng.uniform(low, h), 2)
        return f"Open {o}, high {h}, low {low}, close {c}."
    return f"On {asset}, {rng.choice(_TRENDS)} ended when price {rng.choice(_VERBS)} on heavy volume."


def _code(rng: random.Random) -> str:
    """A few Pine-like lines: enough to give the tokenizer and the base model code shapes."""
    lines = []
    for _ in range(rng.randrange(2, 5)):
        name = rng.choice(_PINE_NAMES)
        func = rng.choice(_PINE_FUNCS)
        length = rng.choice([5, 9, 10, 14, 20, 21, 50])
        lines.append(f"{name} = {func}(close, {length})")
    if rng.random() < 0.5:
        lines.append(f"plot({rng.choice(_PINE_NAMES)}, color=color.blue)")
    else:
        lines.append(f"if ta.crossover({rng.choice(_PINE_NAMES)}, {rng.choice(_PINE_NAMES)})")
        lines.append('    strategy.entry("Long", strategy.long)')
    return "\n".join(lines)


def generic_corpus(n_docs: int = 2000, *, seed: int = 0) -> Iterator[str]:
    """`n_docs` short documents (a paragraph of prose, sometimes a code block) from `seed`."""
    rng = random.Random(f"tradetune-tiny-corpus-{seed}")
    for _ in range(n_docs):
        parts = [_sentence(rng) for _ in range(rng.randrange(2, 6))]
        text = " ".join(parts)
        if rng.random() < 0.3:
            text = f"{text}\n{_code(rng)}"
        yield text
