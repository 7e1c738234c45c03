"""Indicator programs: draw an indicator's shape and numbers, write its PineScript, name it."""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterator
from typing import NamedTuple

from tradetune.datagen._base import pick
from tradetune.datagen._pine.common import MA_NAMES, MA_TYPES, num

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
            f'mult = input.float({num(p["mult"])}, "StdDev", minval=0.1, step=0.1)',
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
            f'mult = input.float({num(p["mult"])}, "ATR multiplier", minval=0.1, step=0.1)',
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
            f'factor = input.float({num(p["factor"])}, "Factor", minval=0.1, step=0.1)',
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
            f'mult = input.float({num(p["mult"])}, "Spike multiple", minval=1.0, step=0.1)',
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
