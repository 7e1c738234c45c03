"""Computed families: pattern recognition, indicator arithmetic, position sizing, backtest stats.

Each response shows the working and ends with `Answer: <value>`; the same value is kept in
`meta.answer`. Numbers come from the synthetic market (`_market`), so they look like prices.
"""

from __future__ import annotations

import math
import random
from typing import Any, ClassVar

from tradetune.datagen import _indicators as ind
from tradetune.datagen._base import Family, answer_line, fmt, pick
from tradetune.datagen._candles import LABELS, build_bars, classify, describe_bar
from tradetune.datagen._market import INSTRUMENTS, Bar, Instrument, closes, ohlcv

__all__ = ["BacktestStats", "IndicatorMath", "PatternRecognition", "PositionSizing"]

TIMEFRAMES = ("5-minute", "15-minute", "1-hour", "4-hour", "daily", "weekly")
# Indicator exercises use instruments priced well above 1, where a 0.01 tolerance is tight.
_PRICED = tuple(i for i in INSTRUMENTS if 20 <= i.price <= 5000)


def _bars_table(bars: list[Bar]) -> str:
    return "\n".join(
        f"{i}: O {b.open:.2f} H {b.high:.2f} L {b.low:.2f} C {b.close:.2f}" for i, b in enumerate(bars, 1)
    )


class PatternRecognition(Family):
    name = "pattern_recognition"
    category = "patterns"
    description = "Name the candlestick pattern the last bars of an OHLC series form (rule-based)."
    computed = True
    templates = (
        "Which candlestick pattern, if any, do the last bars of this {sym} {tf} chart form?\n{bars}\n"
        "Answer with one of: {labels}.",
        "Here are OHLC bars (oldest first):\n{bars}\nIdentify the candlestick pattern at the end of the "
        "series. "
        "Options: {labels}.",
        "Look at the final one to three candles below and name the pattern ({labels}).\n{bars}",
        "Classify the most recent candlestick pattern in this data:\n{bars}\nPossible answers: {labels}.",
        "What pattern do the latest candles show? ({labels})\n{sym}, {tf}:\n{bars}",
        "Do the last candles of this series form a {target}? Answer yes or no.\n{bars}",
        "Is there a {target} at the end of these {sym} bars? Answer yes or no.\n{bars}",
        "Check this {tf} {sym} data for a {target} on the last bars (yes/no):\n{bars}",
        "A scanner flagged a {target} on the last bars below. Is it right? Answer yes or no.\n{bars}",
    )

    def build(self, rng: random.Random) -> tuple[str, str, dict[str, Any]]:
        inst = pick(rng, _PRICED)
        target = pick(rng, LABELS)
        bars = build_bars(rng, target, inst, rng.randint(4, 7))
        label, checks = classify(bars)
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
            "high - "
            "max(open, close), lower shadow = min(open, close) - low):",
            *(f"- {describe_bar(i + 1, bars[i])}" for i in range(n - 3, n)),
            f"Prior move: close of bar {n - 1} ({bars[-2].close:.2f}) vs bar 1 ({bars[0].close:.2f}) -> "
            f"{'down' if bars[-2].close < bars[0].close else 'up'}.",
            "Check the rules in order (three-bar, two-bar, then one-bar patterns):",
        ]
        lines += [
            f"- {lab[0].upper() + lab[1:]}: {'yes' if ok else 'no'} - {why}." for lab, ok, why in checks
        ]
        if label == "none":
            lines.append("No rule matches, so there is no pattern on the last bars.")
        else:
            lines.append(f"The first rule that matches is {label}.")
        if yes_no:
            value = "yes" if label == asked else "no"
            lines.append(
                f"The question asks about a {asked}: the bars show {label}, so the answer is {value}."
            )
        else:
            value = label
        text, stored = answer_line(value)
        lines.append(text)
        meta = {"answer": stored, "pattern": label, "asked": asked if yes_no else None, "symbol": inst.symbol}
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
        inst = pick(rng, _PRICED)
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


_FUTURES = (("ES", 50.0), ("NQ", 20.0), ("CL", 1000.0), ("MES", 5.0), ("GC", 100.0), ("YM", 5.0))


class PositionSizing(Family):
    name = "position_sizing"
    category = "risk"
    description = "Fixed-fractional sizing, futures contracts, R-multiples, Kelly, targets, drawdown maths."
    computed = True
    kinds = (
        "shares",
        "contracts",
        "r_multiple",
        "kelly",
        "half_kelly",
        "target",
        "risk_amount",
        "recovery",
        "streak",
    )
    templates = (
        # shares
        "My account is ${acct} and I risk {risk}% per trade. I want to buy {sym} at {entry} with a stop "
        "at {stop}. "
        "How many shares should I buy?",
        "Position size: account ${acct}, risk {risk}%, long entry {entry}, stop-loss {stop}. How many units?",
        # contracts
        "I trade {fut} futures (${pv} per point) with a ${acct} account and risk {risk}% per trade. Entry "
        "{entry}, "
        "stop {stop}. How many contracts can I trade?",
        # r multiple
        "I went {side} {sym} at {entry} with a stop at {stop} and exited at {exit}. What R-multiple did I "
        "make?",
        "Entry {entry}, initial stop {stop}, exit {exit} on a {side} trade. Express the result in R.",
        # kelly
        "A system wins {p}% of trades with an average win/loss ratio of {b}. What fraction of capital "
        "does the "
        "Kelly criterion suggest (in percent)?",
        "Kelly sizing: win rate {p}%, payoff ratio {b}. What is the {which} fraction, in percent?",
        # target
        "I'm {side} {sym} at {entry} with a stop at {stop}. Where is my take-profit for a {rr}:1 "
        "reward-to-risk?",
        # risk amount
        "How many dollars do I risk per trade with a ${acct} account at {risk}% risk per trade?",
        # recovery
        "My account fell {dd}%. What percentage gain do I need to get back to break-even?",
        # streak
        "Starting with ${acct} and risking {risk}% of current equity per trade, what is my balance after {k} "
        "losing trades in a row?",
    )

    def build(self, rng: random.Random) -> tuple[str, str, dict[str, Any]]:
        kind = pick(rng, self.kinds)
        inst: Instrument = pick(rng, _PRICED)
        acct = pick(rng, (2500, 5000, 10000, 15000, 25000, 50000, 100000, 250000)) * rng.choice((1, 1, 2))
        risk = pick(rng, (0.25, 0.5, 0.5, 1.0, 1.0, 1.0, 1.5, 2.0, 3.0))
        price = round(inst.price * math.exp(rng.gauss(0, 0.1)), 2)
        t = self.templates
        value: float | int
        decimals = 2
        lines: list[str]
        meta: dict[str, Any] = {"kind": kind}
        if kind == "shares":
            stop = round(price * (1 - rng.uniform(0.005, 0.08)), 2)
            q = pick(rng, t[0:2]).format(
                acct=f"{acct:,}", risk=f"{risk:g}", sym=inst.symbol, entry=f"{price:.2f}", stop=f"{stop:.2f}"
            )
            risk_usd = acct * risk / 100
            per = price - stop
            value = math.floor(risk_usd / per + 1e-9)
            lines = [
                f"Dollar risk = {acct:,} × {risk:g}% = {fmt(risk_usd)}.",
                f"Risk per share = entry - stop = {price:.2f} - {stop:.2f} = {per:.2f}.",
                f"Shares = {fmt(risk_usd)} / {per:.2f} = {risk_usd / per:.2f}, rounded down to {value}.",
                f"Position value = {value} × {price:.2f} = {fmt(value * price)}"
                + (
                    " (more than the account: size is capped by buying power/leverage)."
                    if value * price > acct
                    else "."
                ),
            ]
        elif kind == "contracts":
            fut, pv = pick(rng, _FUTURES)
            fprice = round(pick(rng, [i.price for i in INSTRUMENTS if i.symbol == fut] or [price]), 2)
            acct = max(acct, 25000)
            # A stop distance that usually fits one to a dozen contracts in the risk budget.
            points = max(0.25, round(acct * risk / 100 * rng.uniform(0.08, 1.1) / pv, 2))
            stop = round(fprice - points, 2)
            q = t[2].format(
                fut=fut,
                pv=f"{pv:g}",
                acct=f"{acct:,}",
                risk=f"{risk:g}",
                entry=f"{fprice:.2f}",
                stop=f"{stop:.2f}",
            )
            risk_usd = acct * risk / 100
            per = (fprice - stop) * pv
            value = math.floor(risk_usd / per + 1e-9)
            lines = [
                f"Dollar risk = {acct:,} × {risk:g}% = {fmt(risk_usd)}.",
                f"Risk per contract = ({fprice:.2f} - {stop:.2f}) points × ${pv:g} = {fmt(per)}.",
                f"Contracts = {fmt(risk_usd)} / {fmt(per)} = {risk_usd / per:.2f}, rounded down to {value}.",
            ]
            if value == 0:
                lines.append(
                    "Even one contract risks more than the budget: skip the trade or use a micro contract."
                )
            meta["contract"] = fut
        elif kind in ("r_multiple", "target"):
            side = pick(rng, ("long", "short"))
            dist = round(price * rng.uniform(0.005, 0.05), 2) or 0.01
            stop = round(price - dist if side == "long" else price + dist, 2)
            if kind == "r_multiple":
                move = dist * rng.uniform(-1.2, 4.0)
                exit_ = round(price + move if side == "long" else price - move, 2)
                q = pick(rng, t[3:5]).format(
                    side=side, sym=inst.symbol, entry=f"{price:.2f}", stop=f"{stop:.2f}", exit=f"{exit_:.2f}"
                )
                pnl = (exit_ - price) if side == "long" else (price - exit_)
                risk_pt = abs(price - stop)
                value = pnl / risk_pt
                lines = [
                    f"Initial risk (1R) = |{price:.2f} - {stop:.2f}| = {risk_pt:.2f} per unit.",
                    f"Result per unit = {'exit - entry' if side == 'long' else 'entry - exit'} = {pnl:+.2f}.",
                    f"R-multiple = {pnl:+.2f} / {risk_pt:.2f} = {value:+.2f}R.",
                ]
            else:
                rr = pick(rng, (1.5, 2, 2, 2.5, 3, 4))
                q = t[7].format(
                    side=side, sym=inst.symbol, entry=f"{price:.2f}", stop=f"{stop:.2f}", rr=f"{rr:g}"
                )
                risk_pt = abs(price - stop)
                value = price + rr * risk_pt if side == "long" else price - rr * risk_pt
                lines = [
                    f"Risk per unit = |{price:.2f} - {stop:.2f}| = {risk_pt:.2f}.",
                    f"Reward = {rr:g} × {risk_pt:.2f} = {rr * risk_pt:.2f}.",
                    f"Target = {price:.2f} {'+' if side == 'long' else '-'} {rr * risk_pt:.2f} = "
                    f"{value:.2f}.",
                ]
        elif kind in ("kelly", "half_kelly"):
            p = rng.randint(30, 70)
            b = round(rng.uniform(0.6, 3.5), 2)
            which = "full Kelly" if kind == "kelly" else "half-Kelly"
            q = (t[5] if kind == "kelly" and rng.random() < 0.5 else t[6]).format(
                p=p, b=f"{b:g}", which=which
            )
            f = p / 100 - (1 - p / 100) / b
            lines = [
                f"Kelly fraction f* = p - (1 - p) / b = {p / 100:.2f} - {1 - p / 100:.2f} / {b:g} = {f:.4f}."
            ]
            if kind == "half_kelly":
                lines.append(f"Half-Kelly = f* / 2 = {f / 2:.4f}.")
                f /= 2
            if f <= 0:
                lines.append(
                    "The fraction is not positive: the system has no edge, so Kelly says bet nothing."
                )
                f = 0.0
            value = f * 100
            lines.append(f"As a percentage of capital: {value:.2f}%.")
            meta.update(p=p, b=b)
        elif kind == "risk_amount":
            acct = rng.randint(10, 2000) * 250
            q = t[8].format(acct=f"{acct:,}", risk=f"{risk:g}")
            value = acct * risk / 100
            lines = [f"Risk per trade = {acct:,} × {risk:g} / 100 = {value:.2f} dollars."]
        elif kind == "recovery":
            dd = (
                pick(rng, (5, 10, 15, 20, 25, 30, 33, 40, 50, 60, 75))
                if rng.random() < 0.3
                else round(rng.uniform(1.0, 85.0), 1)
            )
            q = t[9].format(dd=f"{dd:g}")
            value = dd / (100 - dd) * 100
            lines = [
                f"After a {dd:g}% loss, {100 - dd:g}% of the capital is left.",
                f"Required gain = {dd:g} / {100 - dd:g} × 100 = {value:.2f}%.",
            ]
        else:
            k = rng.randint(3, 15)
            q = t[10].format(acct=f"{acct:,}", risk=f"{risk:g}", k=k)
            value = acct * (1 - risk / 100) ** k
            lines = [
                f"Each loss leaves {1 - risk / 100:.4f} of the equity, so after {k} losses: {acct:,} × "
                f"{1 - risk / 100:.4f}^{k} = {value:.2f}.",
                f"That is a drawdown of {(1 - value / acct) * 100:.2f}%.",
            ]
        text, stored = answer_line(value, decimals)
        lines.append(text)
        meta["answer"] = stored
        return q, "\n".join(lines), meta


_NEEDS_CAPITAL = frozenset({"max_drawdown_pct", "total_return_pct"})


class BacktestStats(Family):
    name = "backtest_stats"
    category = "backtest"
    description = "Win rate, profit factor, expectancy, drawdown and returns from a trade list."
    computed = True
    metrics = (
        "win_rate",
        "profit_factor",
        "expectancy",
        "max_drawdown",
        "max_drawdown_pct",
        "net_profit",
        "payoff_ratio",
        "total_return_pct",
    )
    metric_names: ClassVar[dict[str, str]] = {
        "win_rate": "win rate (in percent)",
        "profit_factor": "profit factor",
        "expectancy": "expectancy per trade (in dollars)",
        "max_drawdown": "maximum drawdown in dollars (closed-trade equity)",
        "max_drawdown_pct": "maximum drawdown in percent (closed-trade equity)",
        "net_profit": "net profit (in dollars)",
        "payoff_ratio": "average win / average loss ratio",
        "total_return_pct": "total return in percent",
    }
    templates = (
        "Here are the closed trades of a backtest (P&L in USD): {trades}. Starting equity {cap}. What is "
        "the {metric}?",
        "A strategy produced these trade results: {trades}. Calculate the {metric}.",
        "Given this trade list, compute the {metric}:\n{trades}\nInitial capital: {cap}.",
        "From the following backtest trades, what is the {metric}?\n{trades}",
        "My {sym} system's last {n} trades were: {trades}. What's the {metric}?",
        "Calculate the {metric} of this trade log (starting balance {cap}):\n{trades}",
        "Backtest report needed: {metric}. Trades:\n{trades}",
        "Evaluate these trades and give the {metric}. Account started at {cap}.\n{trades}",
        "What {metric} do these {n} trades give?\n{trades}",
    )

    @property
    def _with_capital(self) -> tuple[str, ...]:
        return tuple(t for t in self.templates if "{cap}" in t)

    def build(self, rng: random.Random) -> tuple[str, str, dict[str, Any]]:
        inst = pick(rng, _PRICED)
        n = rng.randint(6, 16)
        cap = pick(rng, (5000, 10000, 10000, 25000, 50000, 100000))
        win_p = rng.uniform(0.3, 0.65)
        risk = cap * pick(rng, (0.005, 0.01, 0.01, 0.02))
        table = rng.random() < 0.4
        pnls: list[float] = []
        rows: list[str] = []
        price = inst.price * math.exp(rng.gauss(0, 0.1))
        rand, gauss, exp = rng.random, rng.gauss, math.exp
        step = inst.vol * 2
        while True:
            pnls, rows = [], []
            for i in range(n):
                # Winners: lognormal R multiples (median ~1.1R); losers: 0.5-1.2R (slippage, early exits).
                r_mult = exp(0.1 + 0.6 * gauss(0.0, 1.0)) if rand() < win_p else -(0.5 + 0.7 * rand())
                if table:
                    long_side = rand() < 0.5
                    stop_dist = price * (0.01 + 0.03 * rand())
                    qty = max(1, int(risk / stop_dist))
                    entry = round(price, 2)
                    move = r_mult * stop_dist
                    exit_ = round(entry + move if long_side else entry - move, 2)
                    pnl = round((exit_ - entry) * qty if long_side else (entry - exit_) * qty, 2)
                    side = "long" if long_side else "short"
                    rows.append(f"{i + 1}. {side} {qty} @ {entry:.2f} -> {exit_:.2f}")
                    price *= exp(gauss(0.0, step))
                else:
                    pnl = round(r_mult * risk, 2)
                pnls.append(pnl)
            if any(p > 0 for p in pnls) and any(p < 0 for p in pnls):
                break
        metric = pick(rng, self.metrics)
        trades_text = "\n".join(rows) if table else ", ".join(f"{p:+.2f}" for p in pnls)
        # Percent drawdown and return need the starting capital, so only templates that state it.
        templates = self.templates if metric not in _NEEDS_CAPITAL else self._with_capital
        q = pick(rng, templates).format(
            trades=trades_text, cap=f"{cap:,}", metric=self.metric_names[metric], sym=inst.symbol, n=n
        )
        lines: list[str] = []
        if table:
            lines.append("P&L per trade = (exit - entry) × qty for longs, (entry - exit) × qty for shorts:")
            lines.append(", ".join(f"{p:+.2f}" for p in pnls) + ".")
        wins = [p for p in pnls if p > 0]
        losses = [p for p in pnls if p < 0]
        gross_win, gross_loss = math.fsum(wins), -math.fsum(losses)
        net = math.fsum(pnls)
        value: float
        if metric == "win_rate":
            value = len(wins) / n * 100
            lines.append(f"Winning trades: {len(wins)} of {n}.")
            lines.append(f"Win rate = {len(wins)} / {n} × 100 = {value:.2f}%.")
        elif metric == "profit_factor":
            value = gross_win / gross_loss
            lines.append(f"Gross profit = {' + '.join(f'{w:.2f}' for w in wins)} = {gross_win:.2f}.")
            lines.append(f"Gross loss = {' + '.join(f'{-x:.2f}' for x in losses)} = {gross_loss:.2f}.")
            lines.append(f"Profit factor = {gross_win:.2f} / {gross_loss:.2f} = {value:.2f}.")
        elif metric in ("expectancy", "net_profit", "total_return_pct"):
            lines.append(f"Net profit = sum of all P&L = {net:.2f}.")
            if metric == "net_profit":
                value = net
            elif metric == "expectancy":
                value = net / n
                lines.append(f"Expectancy = {net:.2f} / {n} trades = {value:.2f} per trade.")
            else:
                value = net / cap * 100
                lines.append(f"Total return = {net:.2f} / {cap:,} × 100 = {value:.2f}%.")
        elif metric == "payoff_ratio":
            avg_w, avg_l = gross_win / len(wins), gross_loss / len(losses)
            value = avg_w / avg_l
            lines.append(f"Average win = {gross_win:.2f} / {len(wins)} = {avg_w:.2f}.")
            lines.append(f"Average loss = {gross_loss:.2f} / {len(losses)} = {avg_l:.2f}.")
            lines.append(f"Payoff ratio = {avg_w:.2f} / {avg_l:.2f} = {value:.2f}.")
        else:
            equity = cap
            peak = cap
            dd_usd = dd_pct = 0.0
            curve = [f"{cap:,.2f}"]
            for p in pnls:
                equity += p
                curve.append(f"{equity:,.2f}")
                peak = max(peak, equity)
                dd_usd = max(dd_usd, peak - equity)
                dd_pct = max(dd_pct, (peak - equity) / peak * 100)
            lines.append("Equity after each trade: " + " -> ".join(curve) + ".")
            lines.append("Track the running peak and the largest fall from it.")
            if metric == "max_drawdown":
                value = dd_usd
                lines.append(f"The largest peak-to-trough fall is {dd_usd:.2f} dollars.")
            else:
                value = dd_pct
                lines.append(f"The largest fall relative to its peak is {dd_pct:.2f}%.")
        text, stored = answer_line(value)
        lines.append(text)
        return (
            q,
            "\n".join(lines),
            {"answer": stored, "metric": metric, "trades": n, "format": "table" if table else "pnl"},
        )
