"""Strategy programs: draw a strategy's shape and numbers, write its PineScript, name it."""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterator
from typing import NamedTuple

from tradetune.datagen._base import pick
from tradetune.datagen._pine.common import MA_NAMES, MA_TYPES, num

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
                f'bbMult = input.float({num(p["mult"])}, "StdDev multiplier", minval=0.1, step=0.1)',
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
                f'factor = input.float({num(p["factor"])}, "Factor", minval=0.1, step=0.1)',
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
                f'atrMult = input.float({num(p["mult"])}, "ATR multiplier", minval=0.1, step=0.1)',
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
        lines.append(f'slPct = input.float({num(sp.sl)}, "Stop-loss %", minval=0.1, step=0.1) / 100')
    if sp.tp is not None:
        lines.append(f'tpPct = input.float({num(sp.tp)}, "Take-profit %", minval=0.1, step=0.1) / 100')
    if sp.sizing == "risk":
        lines.append(
            f'riskPct = input.float({num(sp.size_value)}, "Risk per trade %", minval=0.1, step=0.1) / 100'
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
