"""PineScript v5 programs from templates: strategies and indicators with parameter shapes.

A *shape* is everything that changes the structure of a program (strategy kind, moving
average type, stop-loss on/off, take-profit on/off, sizing mode, direction; or indicator
kind, alerts, highlighting). Numbers (lengths, multipliers, percentages) only fill slots.
`strategy_shapes()` / `indicator_shapes()` enumerate every shape so a test can parse one
program per shape with pynescript; generation itself never parses.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterator
from typing import NamedTuple

from tradetune.datagen._base import pick

__all__ = [
    "INDICATOR_KINDS",
    "MA_TYPES",
    "STRATEGY_KINDS",
    "IndicatorParams",
    "StrategyParams",
    "draw_indicator",
    "draw_strategy",
    "explain_strategy",
    "indicator_code",
    "indicator_shapes",
    "indicator_summary",
    "strategy_code",
    "strategy_shapes",
    "strategy_summary",
]

MA_TYPES = ("sma", "ema", "wma", "hma")
MA_NAMES = {"sma": "SMA", "ema": "EMA", "wma": "WMA", "hma": "HMA"}
MA_LONG = {
    "sma": "simple moving average",
    "ema": "exponential moving average",
    "wma": "weighted moving average",
    "hma": "Hull moving average",
}
STRATEGY_KINDS = (
    "ma_cross",
    "rsi_reversion",
    "macd",
    "bollinger",
    "donchian",
    "supertrend",
    "atr_trail",
    "stochastic",
    "vwap",
)
SIZINGS = ("percent", "fixed", "risk")
DIRECTIONS = ("long", "both")


class StrategyParams(NamedTuple):
    kind: str
    ma: str  # moving-average type (ma_cross); "" otherwise
    p: dict[str, float]  # kind parameters
    sl: float | None  # stop-loss percent
    tp: float | None  # take-profit percent
    sizing: str
    size_value: float  # percent of equity, fixed quantity, or risk percent
    direction: str
    capital: int
    commission: float


def _draw_kind_params(rng: random.Random, kind: str) -> tuple[str, dict[str, float]]:
    r = rng.randint
    if kind == "ma_cross":
        ma = pick(rng, MA_TYPES)
        fast = r(3, 30)
        return ma, {"fast": fast, "slow": fast + r(5, 150)}
    if kind == "rsi_reversion":
        os_ = r(15, 35)
        return "", {"length": r(2, 21), "oversold": os_, "overbought": 100 - os_ + r(-5, 5)}
    if kind == "macd":
        fast = r(5, 15)
        return "", {"fast": fast, "slow": fast + r(8, 20), "signal": r(5, 12)}
    if kind == "bollinger":
        return "", {"length": r(10, 40), "mult": pick(rng, (1.5, 2.0, 2.0, 2.5, 3.0))}
    if kind == "donchian":
        entry = r(10, 60)
        return "", {"entry": entry, "exit": max(3, entry // 2 + r(-3, 3))}
    if kind == "supertrend":
        return "", {"factor": pick(rng, (1.5, 2.0, 2.5, 3.0, 3.5, 4.0)), "atr": r(7, 21)}
    if kind == "atr_trail":
        return "", {"trend": r(20, 200), "atr": r(7, 21), "mult": pick(rng, (1.5, 2.0, 2.5, 3.0, 3.5, 4.0))}
    if kind == "stochastic":
        os_ = r(10, 30)
        return "", {"k": r(5, 21), "smooth": r(1, 5), "d": r(2, 5), "oversold": os_, "overbought": 100 - os_}
    if kind == "vwap":
        return "", {"ema": r(5, 50)}
    raise ValueError(kind)


def draw_strategy(
    rng: random.Random,
    kind: str | None = None,
    *,
    ma: str | None = None,
    sl: bool | None = None,
    tp: bool | None = None,
    sizing: str | None = None,
    direction: str | None = None,
) -> StrategyParams:
    """Random numbers for a strategy; any shape argument left None is drawn too."""
    kind = kind or pick(rng, STRATEGY_KINDS)
    drawn_ma, params = _draw_kind_params(rng, kind)
    if ma is not None and kind == "ma_cross":
        drawn_ma = ma
    use_sl = (rng.random() < 0.5) if sl is None else sl
    if kind == "atr_trail":
        use_sl = False  # the trailing stop is the stop
    use_tp = (rng.random() < 0.45) if tp is None else tp
    sizing = sizing or pick(rng, SIZINGS)
    if sizing == "percent":
        size_value: float = pick(rng, (5, 10, 10, 20, 25, 50, 100))
    elif sizing == "fixed":
        size_value = pick(rng, (1, 1, 2, 5, 10, 25, 50, 100))
    else:
        size_value = pick(rng, (0.25, 0.5, 0.5, 1.0, 1.0, 1.5, 2.0))
    return StrategyParams(
        kind=kind,
        ma=drawn_ma,
        p=params,
        sl=round(rng.uniform(0.5, 6.0), 1) if use_sl else None,
        tp=round(rng.uniform(1.0, 12.0), 1) if use_tp else None,
        sizing=sizing,
        size_value=size_value,
        direction=direction or pick(rng, ("long", "long", "both")),
        capital=pick(rng, (1000, 5000, 10000, 10000, 25000, 50000, 100000)),
        commission=pick(rng, (0.0, 0.01, 0.04, 0.05, 0.1)),
    )


def strategy_shapes() -> Iterator[tuple[str, StrategyParams]]:
    """Every structural variant of a strategy program, with fixed numbers."""
    rng = random.Random(0)
    for kind in STRATEGY_KINDS:
        mas = MA_TYPES if kind == "ma_cross" else ("",)
        sls = (False,) if kind == "atr_trail" else (False, True)
        for ma, sl, tp, sizing, direction in itertools.product(mas, sls, (False, True), SIZINGS, DIRECTIONS):
            params = draw_strategy(rng, kind, ma=ma or None, sl=sl, tp=tp, sizing=sizing, direction=direction)
            name = f"strategy/{kind}{'-' + ma if ma else ''}/sl={sl}/tp={tp}/{sizing}/{direction}"
            yield name, params


_TITLES: dict[str, str] = {
    "rsi_reversion": "RSI({length}) Mean Reversion",
    "macd": "MACD {fast}/{slow}/{signal} Cross",
    "bollinger": "Bollinger Band Reversion ({length}, {mult})",
    "donchian": "Donchian Breakout {entry}/{exit}",
    "supertrend": "Supertrend ({factor}, {atr})",
    "atr_trail": "EMA Trend with ATR Trailing Stop ({mult}x)",
    "stochastic": "Stochastic {k}/{d} Reversal",
    "vwap": "VWAP Cross",
}


def _title(sp: StrategyParams) -> str:
    p = sp.p
    k = sp.kind
    if k == "ma_cross":
        return f"{MA_NAMES[sp.ma]} {p['fast']}/{p['slow']} Crossover"
    return _TITLES[k].format(**p)


def _f(x: float) -> str:
    """A Pine float literal."""
    text = f"{float(x):g}"
    return text if ("." in text or "e" in text) else text + ".0"


def _signal_block(sp: StrategyParams) -> tuple[list[str], list[str], list[str], str, str, str, str, bool]:
    """(inputs, calculations, plots, long, short, exit long, exit short, overlay)."""
    p = sp.p
    k = sp.kind
    if k == "ma_cross":
        n = MA_NAMES[sp.ma]
        return (
            [
                f'fastLen = input.int({p["fast"]}, "Fast {n} length", minval=1)',
                f'slowLen = input.int({p["slow"]}, "Slow {n} length", minval=1)',
            ],
            [f"fastMa = ta.{sp.ma}(close, fastLen)", f"slowMa = ta.{sp.ma}(close, slowLen)"],
            ['plot(fastMa, "Fast MA", color=color.teal)', 'plot(slowMa, "Slow MA", color=color.orange)'],
            "ta.crossover(fastMa, slowMa)",
            "ta.crossunder(fastMa, slowMa)",
            "shortCond",
            "longCond",
            True,
        )
    if k == "rsi_reversion":
        return (
            [
                f'rsiLen = input.int({p["length"]}, "RSI length", minval=2)',
                f'oversold = input.int({p["oversold"]}, "Oversold level", minval=1, maxval=50)',
                f'overbought = input.int({p["overbought"]}, "Overbought level", minval=50, maxval=99)',
            ],
            ["rsiValue = ta.rsi(close, rsiLen)"],
            [
                'plot(rsiValue, "RSI", color=color.purple)',
                'hline(oversold, "Oversold", color=color.green)',
                'hline(overbought, "Overbought", color=color.red)',
            ],
            "ta.crossover(rsiValue, oversold)",
            "ta.crossunder(rsiValue, overbought)",
            "rsiValue > overbought",
            "rsiValue < oversold",
            False,
        )
    if k == "macd":
        return (
            [
                f'fastLen = input.int({p["fast"]}, "Fast length", minval=1)',
                f'slowLen = input.int({p["slow"]}, "Slow length", minval=1)',
                f'signalLen = input.int({p["signal"]}, "Signal length", minval=1)',
            ],
            ["[macdLine, signalLine, histLine] = ta.macd(close, fastLen, slowLen, signalLen)"],
            [
                'plot(macdLine, "MACD", color=color.blue)',
                'plot(signalLine, "Signal", color=color.orange)',
                'plot(histLine, "Histogram", color=histLine >= 0 ? color.green : color.red, '
                "style=plot.style_histogram)",
            ],
            "ta.crossover(macdLine, signalLine)",
            "ta.crossunder(macdLine, signalLine)",
            "shortCond",
            "longCond",
            False,
        )
    if k == "bollinger":
        return (
            [
                f'bbLen = input.int({p["length"]}, "Length", minval=1)',
                f'bbMult = input.float({_f(p["mult"])}, "StdDev multiplier", minval=0.1, step=0.1)',
            ],
            ["[basis, upper, lower] = ta.bb(close, bbLen, bbMult)"],
            [
                'plot(basis, "Basis", color=color.orange)',
                'plot(upper, "Upper", color=color.blue)',
                'plot(lower, "Lower", color=color.blue)',
            ],
            "ta.crossover(close, lower)",
            "ta.crossunder(close, upper)",
            "ta.crossover(close, basis)",
            "ta.crossunder(close, basis)",
            True,
        )
    if k == "donchian":
        return (
            [
                f'entryLen = input.int({p["entry"]}, "Entry channel length", minval=1)',
                f'exitLen = input.int({p["exit"]}, "Exit channel length", minval=1)',
            ],
            [
                "upperCh = ta.highest(high, entryLen)[1]",
                "lowerCh = ta.lowest(low, entryLen)[1]",
                "exitLow = ta.lowest(low, exitLen)[1]",
                "exitHigh = ta.highest(high, exitLen)[1]",
            ],
            [
                'plot(upperCh, "Upper channel", color=color.green)',
                'plot(lowerCh, "Lower channel", color=color.red)',
            ],
            "close > upperCh",
            "close < lowerCh",
            "close < exitLow",
            "close > exitHigh",
            True,
        )
    if k == "supertrend":
        return (
            [
                f'factor = input.float({_f(p["factor"])}, "Factor", minval=0.1, step=0.1)',
                f'atrPeriod = input.int({p["atr"]}, "ATR period", minval=1)',
            ],
            ["[supertrend, direction] = ta.supertrend(factor, atrPeriod)"],
            [
                'plot(direction < 0 ? supertrend : na, "Up trend", color=color.green, '
                "style=plot.style_linebr)",
                'plot(direction > 0 ? supertrend : na, "Down trend", color=color.red, '
                "style=plot.style_linebr)",
            ],
            "ta.change(direction) < 0",
            "ta.change(direction) > 0",
            "shortCond",
            "longCond",
            True,
        )
    if k == "atr_trail":
        return (
            [
                f'trendLen = input.int({p["trend"]}, "Trend EMA length", minval=1)',
                f'atrLen = input.int({p["atr"]}, "ATR length", minval=1)',
                f'atrMult = input.float({_f(p["mult"])}, "ATR multiplier", minval=0.1, step=0.1)',
            ],
            [
                "trendMa = ta.ema(close, trendLen)",
                "atrValue = ta.atr(atrLen)",
                "var float longTrail = na",
                "var float shortTrail = na",
                "longTrail := strategy.position_size > 0 ? math.max(nz(longTrail, close - atrMult * "
                "atrValue), "
                "close - atrMult * atrValue) : close - atrMult * atrValue",
                "shortTrail := strategy.position_size < 0 ? math.min(nz(shortTrail, close + atrMult * "
                "atrValue), "
                "close + atrMult * atrValue) : close + atrMult * atrValue",
            ],
            [
                'plot(trendMa, "Trend EMA", color=color.orange)',
                'plot(strategy.position_size > 0 ? longTrail : na, "Trailing stop", color=color.red, '
                "style=plot.style_linebr)",
            ],
            "ta.crossover(close, trendMa)",
            "ta.crossunder(close, trendMa)",
            "",
            "",
            True,
        )
    if k == "stochastic":
        return (
            [
                f'kLen = input.int({p["k"]}, "%K length", minval=1)',
                f'kSmooth = input.int({p["smooth"]}, "%K smoothing", minval=1)',
                f'dLen = input.int({p["d"]}, "%D length", minval=1)',
                f'oversold = input.int({p["oversold"]}, "Oversold level")',
                f'overbought = input.int({p["overbought"]}, "Overbought level")',
            ],
            ["k = ta.sma(ta.stoch(close, high, low, kLen), kSmooth)", "d = ta.sma(k, dLen)"],
            [
                'plot(k, "%K", color=color.blue)',
                'plot(d, "%D", color=color.orange)',
                "hline(oversold)",
                "hline(overbought)",
            ],
            "ta.crossover(k, d) and k < oversold",
            "ta.crossunder(k, d) and k > overbought",
            "k > overbought",
            "k < oversold",
            False,
        )
    if k == "vwap":
        return (
            [f'emaLen = input.int({p["ema"]}, "Trend EMA length", minval=1)'],
            ["vwapValue = ta.vwap(hlc3)", "trendMa = ta.ema(close, emaLen)"],
            ['plot(vwapValue, "VWAP", color=color.purple)', 'plot(trendMa, "EMA", color=color.gray)'],
            "ta.crossover(close, vwapValue) and close > trendMa",
            "ta.crossunder(close, vwapValue) and close < trendMa",
            "ta.crossunder(close, vwapValue)",
            "ta.crossover(close, vwapValue)",
            True,
        )
    raise ValueError(k)


def strategy_code(sp: StrategyParams) -> str:
    """The whole program for `sp` (starts with `//@version=5`)."""
    inputs, calc, plots, long_c, short_c, exit_l, exit_s, overlay = _signal_block(sp)
    both = sp.direction == "both"
    if sp.sizing == "percent":
        qty_args = f", default_qty_type=strategy.percent_of_equity, default_qty_value={sp.size_value:g}"
    elif sp.sizing == "fixed":
        qty_args = f", default_qty_type=strategy.fixed, default_qty_value={sp.size_value:g}"
    else:
        qty_args = ""
    comm = (
        f", commission_type=strategy.commission.percent, commission_value={sp.commission:g}"
        if sp.commission
        else ""
    )
    lines = [
        "//@version=5",
        f'strategy("{_title(sp)}", overlay={"true" if overlay else "false"}, '
        f"initial_capital={sp.capital}{qty_args}{comm})",
        "",
        "// Inputs",
        *inputs,
    ]
    if sp.sl is not None:
        lines.append(f'slPct = input.float({_f(sp.sl)}, "Stop-loss %", minval=0.1, step=0.1) / 100')
    if sp.tp is not None:
        lines.append(f'tpPct = input.float({_f(sp.tp)}, "Take-profit %", minval=0.1, step=0.1) / 100')
    if sp.sizing == "risk":
        lines.append(
            f'riskPct = input.float({_f(sp.size_value)}, "Risk per trade %", minval=0.1, step=0.1) / 100'
        )
    lines += ["", "// Signals", *calc, f"longCond = {long_c}", f"shortCond = {short_c}"]
    if exit_l and exit_l != "shortCond":
        lines.append(f"exitLong = {exit_l}")
    if both and exit_s and exit_s != "longCond":
        lines.append(f"exitShort = {exit_s}")
    qty = ""
    if sp.sizing == "risk":
        if sp.sl is not None:
            lines.append("stopDist = close * slPct")
        elif sp.kind == "atr_trail":
            lines.append("stopDist = atrMult * atrValue")
        else:
            lines.append("stopDist = 2 * ta.atr(14)")
        lines.append("qty = math.max(1, math.floor(strategy.equity * riskPct / stopDist))")
        qty = ", qty=qty"
    lines += ["", "// Orders", "if longCond", f'    strategy.entry("Long", strategy.long{qty})']
    if both:
        lines += ["if shortCond", f'    strategy.entry("Short", strategy.short{qty})']
    if exit_l:
        cond = "exitLong" if exit_l != "shortCond" else "shortCond"
        if not both or cond == "exitLong":
            lines += [f"if {cond}", '    strategy.close("Long")']
    if both and exit_s and exit_s != "longCond":
        lines += ["if exitShort", '    strategy.close("Short")']
    # Protective exits, priced from the average entry price.
    long_parts: list[str] = []
    short_parts: list[str] = []
    if sp.kind == "atr_trail":
        long_parts.append("stop=longTrail")
        short_parts.append("stop=shortTrail")
    if sp.sl is not None:
        long_parts.append("stop=strategy.position_avg_price * (1 - slPct)")
        short_parts.append("stop=strategy.position_avg_price * (1 + slPct)")
    if sp.tp is not None:
        long_parts.append("limit=strategy.position_avg_price * (1 + tpPct)")
        short_parts.append("limit=strategy.position_avg_price * (1 - tpPct)")
    if long_parts:
        lines += [
            "if strategy.position_size > 0",
            f'    strategy.exit("Long exit", from_entry="Long", {", ".join(long_parts)})',
        ]
        if both:
            lines += [
                "if strategy.position_size < 0",
                f'    strategy.exit("Short exit", from_entry="Short", {", ".join(short_parts)})',
            ]
    lines += ["", "// Plots", *plots]
    return "\n".join(lines) + "\n"


_STRATEGY_SUMMARIES: dict[str, str] = {
    "rsi_reversion": "RSI({length}) mean reversion, buying above {oversold} and selling below {overbought}",
    "macd": "MACD ({fast}, {slow}, {signal}) signal-line crossovers",
    "bollinger": "Bollinger Band ({length}, {mult}) mean reversion",
    "donchian": ("a {entry}-bar Donchian channel breakout with a {exit}-bar exit channel"),
    "supertrend": "Supertrend (factor {factor}, ATR {atr}) trend flips",
    "atr_trail": ("an EMA({trend}) trend entry with a {mult}x ATR({atr}) trailing stop"),
    "stochastic": "stochastic %K({k}) / %D({d}) crossovers at {oversold}/{overbought}",
    "vwap": "VWAP crosses filtered by an EMA({ema})",
}


def strategy_summary(sp: StrategyParams) -> str:
    """A short noun phrase for instructions: 'EMA crossover with 12 and 26 periods'."""
    p = sp.p
    k = sp.kind
    if k == "ma_cross":
        return f"{MA_NAMES[sp.ma]} crossover with {p['fast']} and {p['slow']} periods"
    return _STRATEGY_SUMMARIES[k].format(**p)


def options_sentence(sp: StrategyParams) -> str:
    """The risk options as a request: 'Use a 2% stop-loss, ...'."""
    parts: list[str] = []
    if sp.sl is not None:
        parts.append(f"a {sp.sl:g}% stop-loss")
    if sp.tp is not None:
        parts.append(f"a {sp.tp:g}% take-profit")
    if sp.sizing == "risk":
        parts.append(f"a position size that risks {sp.size_value:g}% of equity per trade")
    elif sp.sizing == "percent":
        parts.append(f"{sp.size_value:g}% of equity per trade")
    else:
        parts.append(f"a fixed size of {sp.size_value:g} units")
    side = "long only" if sp.direction == "long" else "long and short"
    return f"Use {', '.join(parts)}; trade {side}, starting capital {sp.capital:,}."


# How a short is closed where that differs from the opposite entry signal.
_SHORT_EXITS = {
    "rsi_reversion": "A short is closed once RSI falls below {oversold}.",
    "bollinger": "A short is closed when price crosses back below the middle band.",
    "donchian": "A short is closed when the close rises above the {exit}-bar highest high.",
    "stochastic": "A short is closed once %K falls below {oversold}.",
    "vwap": "A short is closed when price crosses back above VWAP.",
    "atr_trail": "A short trails a stop the same distance above the close, ratcheting down only.",
}


def explain_strategy(sp: StrategyParams) -> str:
    """A plain-language explanation of the program `strategy_code(sp)` writes."""
    p = sp.p
    k = sp.kind
    both = sp.direction == "both"
    if k == "ma_cross":
        idea = (
            f"This is a trend-following moving-average crossover. It computes a fast {MA_LONG[sp.ma]} "
            f"over {p['fast']} bars and a slow one over {p['slow']} bars of the close."
        )
        entry = "It buys when the fast average crosses above the slow one (momentum turning up)"
        short = "and sells short when the fast average crosses below the slow one"
        exit_ = "A long is closed when the fast average crosses back below the slow average."
    elif k == "rsi_reversion":
        idea = (
            f"This is a mean-reversion strategy on the {p['length']}-period RSI (Wilder's smoothing). "
            "It bets that stretched moves snap back."
        )
        entry = f"It buys when RSI crosses back above the oversold level {p['oversold']}"
        short = f"and sells short when RSI crosses back below the overbought level {p['overbought']}"
        exit_ = f"A long is closed once RSI rises above {p['overbought']}."
    elif k == "macd":
        idea = (
            f"This is a momentum strategy on MACD with fast EMA {p['fast']}, slow EMA {p['slow']} and a "
            f"{p['signal']}-bar signal line."
        )
        entry = "It buys when the MACD line crosses above its signal line"
        short = "and sells short when the MACD line crosses below it"
        exit_ = "A long is closed on the opposite (bearish) crossover."
    elif k == "bollinger":
        idea = (
            f"This is a Bollinger Band mean-reversion strategy: a {p['length']}-bar SMA basis with bands "
            f"{p['mult']} standard deviations away."
        )
        entry = "It buys when the close crosses back above the lower band after trading below it"
        short = "and sells short when the close crosses back below the upper band"
        exit_ = "A long is closed when price crosses back above the middle band (the mean it reverted to)."
    elif k == "donchian":
        idea = (
            f"This is a channel breakout in the turtle-trading tradition: the {p['entry']}-bar highest high "
            f"and lowest low (excluding the current bar) form the channel."
        )
        entry = "It buys when the close breaks above the prior channel high"
        short = "and sells short when the close breaks below the prior channel low"
        exit_ = f"A long is closed when the close falls below the {p['exit']}-bar lowest low."
    elif k == "supertrend":
        idea = (
            f"This follows the Supertrend indicator (ATR period {p['atr']}, factor {p['factor']}), a "
            "volatility-based stop line that flips sides when price closes through it."
        )
        entry = "It buys when the Supertrend direction flips to up"
        short = "and sells short when it flips to down"
        exit_ = "A long is closed when the direction flips back to down."
    elif k == "atr_trail":
        idea = (
            f"This is a trend-following entry on a {p['trend']}-bar EMA with an ATR trailing stop set "
            f"{p['mult']} x ATR({p['atr']}) away from the close."
        )
        entry = "It buys when the close crosses above the EMA"
        short = "and sells short when the close crosses below it"
        exit_ = (
            "While a long is open the stop only ratchets up (math.max keeps the highest level), so "
            "profits are locked in as the trend extends; the position exits when price hits the stop."
        )
    elif k == "stochastic":
        idea = (
            f"This trades reversals with the stochastic oscillator: %K over {p['k']} bars smoothed by "
            f"{p['smooth']}, and %D as a {p['d']}-bar SMA of %K."
        )
        entry = f"It buys when %K crosses above %D while %K is below the oversold level {p['oversold']}"
        short = f"and sells short when %K crosses below %D above the overbought level {p['overbought']}"
        exit_ = f"A long is closed once %K rises above {p['overbought']}."
    else:
        idea = (
            "This is an intraday VWAP strategy: VWAP (the volume-weighted average price of the session, "
            f"from hlc3) is the fair-value line, and an EMA({p['ema']}) filters the trend."
        )
        entry = "It buys when price crosses above VWAP while the close is above the EMA"
        short = "and sells short when price crosses below VWAP under the EMA"
        exit_ = "A long is closed when price crosses back below VWAP."
    parts = [
        idea,
        f"{entry}{' ' + short if both else ''}." + ("" if both else " It only trades long."),
        exit_ + (f" {_SHORT_EXITS[k].format(**p)}" if both and k in _SHORT_EXITS else ""),
    ]
    if both:
        parts.append("An opposite signal reverses the position.")
    risk: list[str] = []
    if sp.sl is not None:
        risk.append(f"a stop-loss {sp.sl:g}% away from the average entry price")
    if sp.tp is not None:
        risk.append(f"a take-profit {sp.tp:g}% away")
    if risk:
        parts.append(
            "Risk management: strategy.exit places "
            + " and ".join(risk)
            + (
                "; both are priced from strategy.position_avg_price, so the levels follow the real fill."
                if len(risk) == 2
                else "; it is priced from strategy.position_avg_price, so the level follows the real fill."
            )
        )
    if sp.sizing == "percent":
        parts.append(f"Each trade uses {sp.size_value:g}% of current equity (strategy.percent_of_equity).")
    elif sp.sizing == "fixed":
        parts.append(f"Each trade is a fixed {sp.size_value:g} units (strategy.fixed).")
    elif sp.sl is not None or k == "atr_trail":
        stop = "the stop-loss distance" if sp.sl is not None else "the trailing-stop distance (atrMult × ATR)"
        parts.append(
            f"Position size is risk-based: quantity = equity × {sp.size_value:g}% / {stop}, floored, so a "
            "trade stopped out at its initial stop loses about that fraction of the account."
        )
    else:
        parts.append(
            f"Position size is risk-based: quantity = equity × {sp.size_value:g}% / (2 × ATR(14)), floored - "
            "the size a 2-ATR stop would allow. The script places no stop-loss order, though, so a losing "
            "trade is not capped at that amount; add one with strategy.exit(stop=...)."
        )
    parts.append(
        f"The backtest starts with {sp.capital:,} of capital"
        + (
            f" and charges {sp.commission:g}% commission per order."
            if sp.commission
            else " and no commission."
        )
    )
    caveat = {
        "ma_cross": "Crossovers lag and whipsaw in sideways markets; a trend filter or ADX often helps.",
        "rsi_reversion": (
            "Mean reversion suffers in strong trends, where RSI can stay extreme for a long time."
        ),
        "macd": "MACD crossovers lag price and give many false signals in ranges.",
        "bollinger": "In a breakout the bands widen and price can walk down the lower band; consider a stop.",
        "donchian": "Breakout systems have low win rates and rely on a few large trends.",
        "supertrend": "Like every trailing system it gives back part of each move before flipping.",
        "atr_trail": "Wider multipliers hold trends longer but give back more on reversals.",
        "stochastic": "Stochastic signals are fast and noisy; higher-timeframe confirmation helps.",
        "vwap": "VWAP resets each session, so the strategy is meant for intraday charts.",
    }[k]
    parts.append(f"Caveat: {caveat}")
    return "\n\n".join(parts)


# ----------------------------------------------------------------------------------------------
# Indicators

INDICATOR_KINDS = (
    "ma",
    "rsi",
    "macd",
    "bollinger",
    "keltner",
    "donchian",
    "stochastic",
    "supertrend",
    "vwap",
    "volume_spike",
    "pivots",
    "atr",
)


class IndicatorParams(NamedTuple):
    kind: str
    ma: str
    p: dict[str, float]
    alerts: bool
    highlight: bool


def draw_indicator(
    rng: random.Random,
    kind: str | None = None,
    *,
    ma: str | None = None,
    alerts: bool | None = None,
    highlight: bool | None = None,
) -> IndicatorParams:
    kind = kind or pick(rng, INDICATOR_KINDS)
    r = rng.randint
    m = pick(rng, MA_TYPES) if ma is None else ma
    p: dict[str, float]
    if kind == "ma":
        first = r(5, 30)
        p = {"fast": first, "slow": first + r(10, 150)}
    elif kind == "rsi":
        os_ = r(15, 35)
        p = {"length": r(2, 21), "oversold": os_, "overbought": 100 - os_}
    elif kind == "macd":
        fast = r(5, 15)
        p = {"fast": fast, "slow": fast + r(8, 20), "signal": r(5, 12)}
    elif kind in ("bollinger", "keltner"):
        p = {"length": r(10, 40), "mult": pick(rng, (1.5, 2.0, 2.0, 2.5, 3.0))}
    elif kind == "donchian":
        p = {"length": r(10, 60)}
    elif kind == "stochastic":
        p = {"k": r(5, 21), "smooth": r(1, 5), "d": r(2, 5)}
    elif kind == "supertrend":
        p = {"factor": pick(rng, (1.5, 2.0, 2.5, 3.0, 3.5, 4.0)), "atr": r(7, 21)}
    elif kind == "vwap":
        p = {"ema": r(5, 50)}
    elif kind == "volume_spike":
        p = {"length": r(10, 50), "mult": pick(rng, (1.5, 2.0, 2.5, 3.0))}
    elif kind == "pivots":
        p = {"left": r(2, 10), "right": r(2, 10)}
    else:
        p = {"length": r(5, 30), "smooth": r(10, 50)}
    return IndicatorParams(
        kind,
        m if kind == "ma" else "",
        p,
        rng.random() < 0.5 if alerts is None else alerts,
        rng.random() < 0.4 if highlight is None else highlight,
    )


def indicator_shapes() -> Iterator[tuple[str, IndicatorParams]]:
    rng = random.Random(1)
    for kind in INDICATOR_KINDS:
        mas = MA_TYPES if kind == "ma" else ("",)
        for ma, alerts, highlight in itertools.product(mas, (False, True), (False, True)):
            params = draw_indicator(rng, kind, ma=ma or None, alerts=alerts, highlight=highlight)
            yield f"indicator/{kind}{'-' + ma if ma else ''}/alerts={alerts}/highlight={highlight}", params


_INDICATOR_SUMMARIES: dict[str, str] = {
    "ma": "{ma_name} {fast} and {slow} moving averages",
    "rsi": "RSI({length}) with {oversold}/{overbought} levels",
    "macd": "MACD ({fast}, {slow}, {signal}) with a coloured histogram",
    "bollinger": "Bollinger Bands ({length}, {mult}) with a filled band",
    "keltner": "Keltner-style ATR bands around an EMA({length}) at {mult} x ATR",
    "donchian": "a {length}-bar Donchian channel with its midline",
    "stochastic": ("the stochastic oscillator %K({k}, smoothing {smooth}) and %D({d})"),
    "supertrend": "Supertrend (factor {factor}, ATR {atr}) coloured by direction",
    "vwap": "session VWAP together with an EMA({ema})",
    "volume_spike": "volume spikes above {mult} x the {length}-bar average volume",
    "pivots": "pivot highs and lows ({left} bars left, {right} bars right)",
    "atr": "ATR({length}) with a {smooth}-bar average of the ATR",
}


def indicator_summary(ip: IndicatorParams) -> str:
    p = ip.p
    return _INDICATOR_SUMMARIES[ip.kind].format(ma_name=MA_NAMES.get(ip.ma, ""), **p)


_INDICATOR_TITLES: dict[str, str] = {
    "ma": "{ma_name} {fast}/{slow}",
    "rsi": "RSI {length}",
    "macd": "MACD",
    "bollinger": "Bollinger Bands",
    "keltner": "ATR Bands",
    "donchian": "Donchian Channel",
    "stochastic": "Stochastic",
    "supertrend": "Supertrend",
    "vwap": "VWAP + EMA",
    "volume_spike": "Volume Spikes",
    "pivots": "Pivot Points",
    "atr": "ATR",
}


def indicator_code(ip: IndicatorParams) -> str:
    p = ip.p
    k = ip.kind
    overlay = k in ("ma", "bollinger", "keltner", "donchian", "supertrend", "vwap", "pivots")
    title = _INDICATOR_TITLES[k].format(ma_name=MA_NAMES.get(ip.ma, ""), **p)
    body: list[str]
    bull = bear = ""
    hl = ""
    if k == "ma":
        body = [
            f'fastLen = input.int({p["fast"]}, "Fast length", minval=1)',
            f'slowLen = input.int({p["slow"]}, "Slow length", minval=1)',
            'src = input.source(close, "Source")',
            f"fastMa = ta.{ip.ma}(src, fastLen)",
            f"slowMa = ta.{ip.ma}(src, slowLen)",
            'plot(fastMa, "Fast", color=color.teal, linewidth=2)',
            'plot(slowMa, "Slow", color=color.orange, linewidth=2)',
        ]
        bull, bear, hl = "ta.crossover(fastMa, slowMa)", "ta.crossunder(fastMa, slowMa)", "fastMa > slowMa"
    elif k == "rsi":
        body = [
            f'len = input.int({p["length"]}, "Length", minval=1)',
            f'oversold = input.int({p["oversold"]}, "Oversold")',
            f'overbought = input.int({p["overbought"]}, "Overbought")',
            "rsiValue = ta.rsi(close, len)",
            'plot(rsiValue, "RSI", color=color.purple)',
            'obLine = hline(overbought, "Overbought", color=color.red, linestyle=hline.style_dashed)',
            'osLine = hline(oversold, "Oversold", color=color.green, linestyle=hline.style_dashed)',
            "fill(obLine, osLine, color=color.new(color.purple, 92))",
        ]
        bull, bear = "ta.crossover(rsiValue, oversold)", "ta.crossunder(rsiValue, overbought)"
        hl = "rsiValue < oversold"
    elif k == "macd":
        body = [
            f'fastLen = input.int({p["fast"]}, "Fast length")',
            f'slowLen = input.int({p["slow"]}, "Slow length")',
            f'signalLen = input.int({p["signal"]}, "Signal length")',
            "[macdLine, signalLine, hist] = ta.macd(close, fastLen, slowLen, signalLen)",
            "histColor = hist >= 0 ? (hist > hist[1] ? color.green : color.new(color.green, 50)) : "
            "(hist < hist[1] ? color.red : color.new(color.red, 50))",
            'plot(hist, "Histogram", color=histColor, style=plot.style_columns)',
            'plot(macdLine, "MACD", color=color.blue)',
            'plot(signalLine, "Signal", color=color.orange)',
            'hline(0, "Zero", color=color.gray)',
        ]
        bull, bear, hl = (
            "ta.crossover(macdLine, signalLine)",
            "ta.crossunder(macdLine, signalLine)",
            "hist > 0",
        )
    elif k == "bollinger":
        body = [
            f'len = input.int({p["length"]}, "Length", minval=1)',
            f'mult = input.float({_f(p["mult"])}, "StdDev", minval=0.1, step=0.1)',
            "[basis, upper, lower] = ta.bb(close, len, mult)",
            'plot(basis, "Basis", color=color.orange)',
            'p1 = plot(upper, "Upper", color=color.blue)',
            'p2 = plot(lower, "Lower", color=color.blue)',
            "fill(p1, p2, color=color.new(color.blue, 90))",
        ]
        bull, bear, hl = "ta.crossover(close, lower)", "ta.crossunder(close, upper)", "close > upper"
    elif k == "keltner":
        body = [
            f'len = input.int({p["length"]}, "EMA length", minval=1)',
            f'mult = input.float({_f(p["mult"])}, "ATR multiplier", minval=0.1, step=0.1)',
            "mid = ta.ema(close, len)",
            "rangeAtr = ta.atr(len)",
            "upper = mid + mult * rangeAtr",
            "lower = mid - mult * rangeAtr",
            'plot(mid, "Middle", color=color.gray)',
            'u = plot(upper, "Upper", color=color.teal)',
            'l = plot(lower, "Lower", color=color.teal)',
            "fill(u, l, color=color.new(color.teal, 92))",
        ]
        bull, bear, hl = "ta.crossover(close, upper)", "ta.crossunder(close, lower)", "close > upper"
    elif k == "donchian":
        body = [
            f'len = input.int({p["length"]}, "Length", minval=1)',
            "upper = ta.highest(high, len)",
            "lower = ta.lowest(low, len)",
            "mid = math.avg(upper, lower)",
            'u = plot(upper, "Upper", color=color.green)',
            'l = plot(lower, "Lower", color=color.red)',
            'plot(mid, "Mid", color=color.gray)',
            "fill(u, l, color=color.new(color.gray, 92))",
        ]
        bull, bear, hl = "high >= upper", "low <= lower", "close > mid"
    elif k == "stochastic":
        body = [
            f'kLen = input.int({p["k"]}, "%K length", minval=1)',
            f'smooth = input.int({p["smooth"]}, "%K smoothing", minval=1)',
            f'dLen = input.int({p["d"]}, "%D length", minval=1)',
            "k = ta.sma(ta.stoch(close, high, low, kLen), smooth)",
            "d = ta.sma(k, dLen)",
            'plot(k, "%K", color=color.blue)',
            'plot(d, "%D", color=color.orange)',
            'hline(80, "Upper", color=color.gray)',
            'hline(20, "Lower", color=color.gray)',
        ]
        bull, bear, hl = "ta.crossover(k, d) and k < 20", "ta.crossunder(k, d) and k > 80", "k > 80"
    elif k == "supertrend":
        body = [
            f'factor = input.float({_f(p["factor"])}, "Factor", minval=0.1, step=0.1)',
            f'atrPeriod = input.int({p["atr"]}, "ATR period", minval=1)',
            "[st, dir] = ta.supertrend(factor, atrPeriod)",
            'plot(dir < 0 ? st : na, "Up", color=color.green, style=plot.style_linebr, linewidth=2)',
            'plot(dir > 0 ? st : na, "Down", color=color.red, style=plot.style_linebr, linewidth=2)',
        ]
        bull, bear, hl = "ta.change(dir) < 0", "ta.change(dir) > 0", "dir < 0"
    elif k == "vwap":
        body = [
            f'emaLen = input.int({p["ema"]}, "EMA length", minval=1)',
            "vwapValue = ta.vwap(hlc3)",
            "emaValue = ta.ema(close, emaLen)",
            'plot(vwapValue, "VWAP", color=color.purple, linewidth=2)',
            'plot(emaValue, "EMA", color=color.gray)',
        ]
        bull, bear, hl = (
            "ta.crossover(close, vwapValue)",
            "ta.crossunder(close, vwapValue)",
            "close > vwapValue",
        )
    elif k == "volume_spike":
        body = [
            f'len = input.int({p["length"]}, "Average length", minval=1)',
            f'mult = input.float({_f(p["mult"])}, "Spike multiple", minval=1.0, step=0.1)',
            "avgVol = ta.sma(volume, len)",
            "spike = volume > mult * avgVol",
            'plot(volume, "Volume", color=spike ? color.orange : color.gray, style=plot.style_columns)',
            'plot(avgVol, "Average", color=color.blue)',
        ]
        bull, bear, hl = "spike and close > open", "spike and close < open", "spike"
    elif k == "pivots":
        body = [
            f'leftBars = input.int({p["left"]}, "Left bars", minval=1)',
            f'rightBars = input.int({p["right"]}, "Right bars", minval=1)',
            "ph = ta.pivothigh(high, leftBars, rightBars)",
            "pl = ta.pivotlow(low, leftBars, rightBars)",
            'plotshape(ph, "Pivot high", style=shape.triangledown, location=location.abovebar, '
            "color=color.red, offset=-rightBars)",
            'plotshape(pl, "Pivot low", style=shape.triangleup, location=location.belowbar, '
            "color=color.green, offset=-rightBars)",
        ]
        bull, bear, hl = "not na(pl)", "not na(ph)", "not na(ph) or not na(pl)"
    else:
        body = [
            f'len = input.int({p["length"]}, "ATR length", minval=1)',
            f'smoothLen = input.int({p["smooth"]}, "Average length", minval=1)',
            "atrValue = ta.atr(len)",
            "atrAvg = ta.sma(atrValue, smoothLen)",
            'plot(atrValue, "ATR", color=color.red)',
            'plot(atrAvg, "ATR average", color=color.gray)',
        ]
        bull, bear, hl = (
            "ta.crossover(atrValue, atrAvg)",
            "ta.crossunder(atrValue, atrAvg)",
            "atrValue > atrAvg",
        )
    lines = ["//@version=5", f'indicator("{title}", overlay={"true" if overlay else "false"})', "", *body]
    if ip.highlight:
        lines.append(f"bgcolor({hl} ? color.new(color.yellow, 85) : na)")
    if ip.alerts:
        lines += [
            f"bullSignal = {bull}",
            f"bearSignal = {bear}",
            'plotshape(bullSignal, "Bullish", style=shape.triangleup, location=location.bottom, '
            "color=color.green)",
            'plotshape(bearSignal, "Bearish", style=shape.triangledown, location=location.top, '
            "color=color.red)",
            f'alertcondition(bullSignal, title="{title} bullish", message="{title}: bullish signal on '
            f'{{{{ticker}}}}")',
            f'alertcondition(bearSignal, title="{title} bearish", message="{title}: bearish signal on '
            f'{{{{ticker}}}}")',
        ]
    return "\n".join(lines) + "\n"
