"""Computed from charts: candlestick pattern recognition and indicator arithmetic.

Each response shows the working and ends with `Answer: <value>`; the same value is kept in
`meta.answer`. Numbers come from the synthetic market (`_market`), so they look like prices.
"""

from __future__ import annotations

import random
from typing import Any

from tradetune.datagen import _indicators as ind
from tradetune.datagen._base import Family, answer_line, pick
from tradetune.datagen._candles import LABELS, NEEDS_TREND, build_bars, classify, describe_bar, evaluate
from tradetune.datagen._market import (
    PRICED_INSTRUMENTS,
    TIMEFRAMES,
    Bar,
    closes,
    ohlcv,
)

__all__ = ["IndicatorMath", "PatternRecognition"]


def _bars_table(bars: list[Bar]) -> str:
    return "\n".join(
        f"{i}: O {b.open:.2f} H {b.high:.2f} L {b.low:.2f} C {b.close:.2f}" for i, b in enumerate(bars, 1)
    )


class PatternRecognition(Family):
    name = "pattern_recognition"
    category = "patterns"
    description = "Name the candlestick patterns the last bars of an OHLC series form (rule-based)."
    computed = True
    # Several rules can hold on the same bars (a harami is often an inside bar as well): the
    # naming questions then accept each of them, and meta.answer lists them all.
    multi_answer = True
    templates = (
        "Which candlestick pattern, if any, do the last bars of this {sym} {tf} chart form?\n{bars}\n"
        "Answer with the patterns that apply, from: {labels}.",
        "Here are OHLC bars (oldest first):\n{bars}\nIdentify the candlestick pattern at the end of the "
        "series. Options: {labels}.",
        "Look at the final one to three candles below and name the pattern ({labels}).\n{bars}",
        "Classify the most recent candlestick pattern in this data:\n{bars}\nPossible answers: {labels}.",
        "What pattern do the latest candles show? ({labels})\n{sym}, {tf}:\n{bars}",
        "Do the last candles of this series form a {target}? Answer yes or no.\n{bars}",
        "Is there a {target} at the end of these {sym} bars? Answer yes or no.\n{bars}",
        "Check this {tf} {sym} data for a {target} on the last bars (yes/no):\n{bars}",
        "A scanner flagged a {target} on the last bars below. Is it right? Answer yes or no.\n{bars}",
    )

    def build(self, rng: random.Random) -> tuple[str, str, dict[str, Any]]:
        inst = pick(rng, PRICED_INSTRUMENTS)
        target = pick(rng, LABELS)
        bars = build_bars(rng, target, inst, rng.randint(4, 7))
        found, checks = classify(bars)
        k = int(rng.random() * len(self.templates))
        yes_no = "{target}" in self.templates[k]
        asked = target if target != "none" and rng.random() < 0.7 else pick(rng, LABELS[:-1])
        instruction = self.templates[k].format(
            sym=inst.symbol,
            tf=pick(rng, TIMEFRAMES),
            bars=_bars_table(bars),
            labels=", ".join(LABELS),
            target=asked,
        )
        n = len(bars)
        lines = [
            "Measure the last three candles (body = |close - open|, range = high - low, upper shadow = "
            "high - max(open, close), lower shadow = min(open, close) - low):",
            *(f"- {describe_bar(i + 1, bars[i])}" for i in range(n - 3, n)),
        ]
        value: str | list[str]
        if yes_no:
            _, ok, why = evaluate(asked, bars)
            need = NEEDS_TREND.get(asked)
            context = (
                f"a {asked} needs a prior {'fall' if need == 'down' else 'rise'}"
                if need
                else f"a {asked} needs no prior trend"
            )
            lines.append(f"Check the {asked} rule ({context}): {'yes' if ok else 'no'} - {why}.")
            value = "yes" if ok else "no"
            lines.append(f"The {asked} rule {'holds' if ok else 'does not hold'}, so the answer is {value}.")
        else:
            lines.append(
                "Check every rule; a reversal pattern also needs the prior move its definition names "
                "(the close before the pattern's first bar against bar 1's close):"
            )
            lines += [
                f"- {lab[0].upper() + lab[1:]}: {'yes' if ok else 'no'} - {why}." for lab, ok, why in checks
            ]
            if found == ["none"]:
                lines.append("No rule holds, so there is no pattern on the last bars.")
            elif len(found) == 1:
                lines.append(f"Only the {found[0]} rule holds.")
            else:
                lines.append(
                    f"{len(found)} rules hold: {' and '.join(found)}. Each is a correct name for these bars."
                )
            value = found[0] if len(found) == 1 else found
        text, stored = answer_line(value)
        lines.append(text)
        meta = {
            "answer": stored,
            "patterns": found,
            "asked": asked if yes_no else None,
            "symbol": inst.symbol,
        }
        return instruction, "\n".join(lines), meta


def _closes_text(values: list[float]) -> str:
    return ", ".join(f"{v:.2f}" for v in values)


class IndicatorMath(Family):
    name = "indicator_math"
    category = "indicators"
    description = "Compute SMA, EMA, RSI, ATR, Bollinger Bands or MACD exactly from given data."
    computed = True
    templates = (
        "Calculate the {ind} for the following {sym} data:\n{data}",
        "Given these {tf} {sym} prices, what is the {ind} on the last bar?\n{data}",
        "Compute the {ind} at the last bar. Show your working.\n{data}",
        "What is the current {ind}? Data ({sym}, {tf}):\n{data}",
        "Work out the {ind} step by step from this data:\n{data}",
        "Here are recent {sym} prices:\n{data}\nWhat is the {ind}?",
        "Using TradingView's conventions, find the {ind} at the final bar.\n{data}",
        "I'm checking my indicator by hand. What should the {ind} read on the latest bar?\n{data}",
        "Determine the {ind} for {sym} given:\n{data}",
    )
    kinds = (
        "sma",
        "ema",
        "rsi",
        "atr",
        "bb_upper",
        "bb_lower",
        "bb_width",
        "bb_percent_b",
        "macd",
        "macd_signal",
        "macd_hist",
    )

    def build(self, rng: random.Random) -> tuple[str, str, dict[str, Any]]:
        inst = pick(rng, PRICED_INSTRUMENTS)
        kind = pick(rng, self.kinds)
        r = rng.randint
        decimals = 2
        params: dict[str, Any]
        if kind == "sma":
            n = r(3, 20)
            values = closes(rng, n + r(0, 5), inst)
            value, steps = ind.sma(values, n)
            name, data, params = (
                f"{n}-period SMA of the close",
                f"Closes (oldest first): {_closes_text(values)}",
                {"n": n},
            )
        elif kind == "ema":
            n = r(3, 12)
            values = closes(rng, n + r(1, 6), inst)
            value, steps = ind.ema(values, n)
            name, data, params = (
                f"{n}-period EMA of the close",
                f"Closes (oldest first): {_closes_text(values)}",
                {"n": n},
            )
        elif kind == "rsi":
            n = r(3, 14)
            values = closes(rng, n + 1 + r(0, 5), inst)
            value, steps = ind.rsi(values, n)
            name, data, params = (
                f"RSI({n}) (Wilder's smoothing)",
                f"Closes (oldest first): {_closes_text(values)}",
                {"n": n},
            )
        elif kind == "atr":
            n = r(3, 14)
            bars = ohlcv(rng, n + 1 + r(0, 4), inst, decimals=2)
            value, steps = ind.atr(bars, n)
            name, data, params = (
                f"ATR({n}) (Wilder's smoothing)",
                "Bars (oldest first):\n" + _bars_table(bars),
                {"n": n},
            )
        elif kind.startswith("bb_"):
            n = r(5, 20)
            k = pick(rng, (1.5, 2.0, 2.0, 2.5, 3.0))
            values = closes(rng, n + r(0, 3), inst)
            (mid, upper, lower), steps = ind.bollinger(values, n, k)
            params = {"n": n, "k": k}
            data = f"Closes (oldest first): {_closes_text(values)}"
            if kind == "bb_upper":
                value, name = upper, f"upper Bollinger Band ({n}, {k:g})"
            elif kind == "bb_lower":
                value, name = lower, f"lower Bollinger Band ({n}, {k:g})"
            elif kind == "bb_width":
                value = (upper - lower) / mid * 100
                name = f"Bollinger Band width in percent of the middle band ({n}, {k:g})"
                steps.append(f"Width = ({upper:.4f} - {lower:.4f}) / {mid:.4f} × 100 = {value:.4f}%.")
            else:
                value = (values[-1] - lower) / (upper - lower)
                decimals = 4
                name = f"Bollinger %B of the last close ({n}, {k:g})"
                steps.append(
                    f"%B = ({values[-1]:.2f} - {lower:.4f}) / ({upper:.4f} - {lower:.4f}) = {value:.4f}."
                )
        else:
            fast, slow, sig = pick(rng, ((12, 26, 9), (12, 26, 9), (8, 17, 9), (5, 35, 5), (6, 13, 5)))
            bars = ohlcv(rng, 3, inst, decimals=2)
            base = bars[0].close
            prev_fast = round(base * (1 + rng.gauss(0, inst.vol)), 2)
            prev_slow = round(base * (1 + rng.gauss(0, inst.vol)), 2)
            prev_signal = round((prev_fast - prev_slow) * rng.uniform(0.5, 1.3), 2)
            price = bars[-1].close
            (macd, signal, hist), steps = ind.macd_update(
                prev_fast, prev_slow, prev_signal, price, fast, slow, sig
            )
            value = {"macd": macd, "macd_signal": signal, "macd_hist": hist}[kind]
            which = {"macd": "MACD line", "macd_signal": "MACD signal line", "macd_hist": "MACD histogram"}[
                kind
            ]
            name = f"{which} ({fast}, {slow}, {sig})"
            data = (
                f"Previous bar: EMA{fast} = {prev_fast:.2f}, EMA{slow} = {prev_slow:.2f}, signal = "
                f"{prev_signal:.2f}. "
                f"Today's close = {price:.2f}."
            )
            params = {"fast": fast, "slow": slow, "signal": sig}
        instruction = pick(rng, self.templates).format(
            ind=name, data=data, sym=inst.symbol, tf=pick(rng, TIMEFRAMES)
        )
        text, stored = answer_line(value, decimals)
        response = "\n".join([*steps, f"The {name} is {value:.{decimals}f}.", text])
        return (
            instruction,
            response,
            {"answer": stored, "indicator": kind, "params": params, "symbol": inst.symbol},
        )
