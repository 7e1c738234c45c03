"""Risk and performance maths: position sizing and backtest statistics.

Each response shows the working and ends with `Answer: <value>`; the same value is kept in
`meta.answer`. Prices come from the synthetic market's instruments (`_market`).
"""

from __future__ import annotations

import math
import random
from typing import Any, ClassVar

from tradetune.datagen._base import Family, answer_line, fmt, pick
from tradetune.datagen._futures import FUTURES
from tradetune.datagen._market import PRICED_INSTRUMENTS, Instrument

__all__ = ["BacktestStats", "PositionSizing"]

# Share sizing buys shares: stocks and ETFs, not futures or coins quoted as a price level.
_EQUITIES = tuple(i for i in PRICED_INSTRUMENTS if i.kind in ("stock", "etf"))


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
        "My cash account is ${acct} and I risk {risk}% per trade. I want to buy {sym} at {entry} with a "
        "stop at {stop}. How many shares should I buy?",
        "Position size: cash account ${acct} (no margin), risk {risk}%, long entry {entry}, "
        "stop-loss {stop}. How many units?",
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
        inst: Instrument = pick(rng, PRICED_INSTRUMENTS)
        acct = pick(rng, (2500, 5000, 10000, 15000, 25000, 50000, 100000, 250000)) * rng.choice((1, 1, 2))
        risk = pick(rng, (0.25, 0.5, 0.5, 1.0, 1.0, 1.0, 1.5, 2.0, 3.0))
        price = round(inst.price * math.exp(rng.gauss(0, 0.1)), 2)
        t = self.templates
        value: float | int
        decimals = 2
        lines: list[str]
        meta: dict[str, Any] = {"kind": kind}
        if kind == "shares":
            inst = pick(rng, _EQUITIES)
            price = round(inst.price * math.exp(rng.gauss(0, 0.1)), 2)
            stop = round(price * (1 - rng.uniform(0.005, 0.08)), 2)
            q = pick(rng, t[0:2]).format(
                acct=f"{acct:,}", risk=f"{risk:g}", sym=inst.symbol, entry=f"{price:.2f}", stop=f"{stop:.2f}"
            )
            risk_usd = acct * risk / 100
            per = price - stop
            by_risk = math.floor(risk_usd / per + 1e-9)
            lines = [
                f"Dollar risk = {acct:,} × {risk:g}% = {fmt(risk_usd)}.",
                f"Risk per share = entry - stop = {price:.2f} - {stop:.2f} = {per:.2f}.",
                f"Shares = {fmt(risk_usd)} / {per:.2f} = {risk_usd / per:.2f}, rounded down to {by_risk}.",
            ]
            if by_risk * price > acct:
                # A cash account cannot buy more than its balance: buying power caps the size.
                value = math.floor(acct / price + 1e-9)
                lines += [
                    f"Position value = {by_risk} × {price:.2f} = {fmt(by_risk * price)}, more than the "
                    f"{fmt(acct)} account: a cash account's buying power caps the size.",
                    f"Most shares the account can pay for = {acct:,} / {price:.2f} = {acct / price:.2f}, "
                    f"rounded down to {value} (risking {fmt(value * per)}, under the budget).",
                ]
            else:
                value = by_risk
                lines.append(
                    f"Position value = {value} × {price:.2f} = {fmt(value * price)}, within the "
                    f"{fmt(acct)} account."
                )
        elif kind == "contracts":
            spec = pick(rng, FUTURES)
            dec = spec.decimals
            entry = spec.on_tick(rng.uniform(spec.low, spec.high))
            acct = max(acct, 25000)
            # A stop distance that usually fits one to a dozen contracts in the risk budget, a
            # whole number of ticks and at least four of them.
            points = max(
                4 * spec.tick, spec.on_tick(acct * risk / 100 * rng.uniform(0.08, 1.1) / spec.point_value)
            )
            stop = spec.on_tick(entry - points)
            pv = spec.point_value
            q = t[2].format(
                fut=spec.symbol,
                pv=f"{pv:g}",
                acct=f"{acct:,}",
                risk=f"{risk:g}",
                entry=f"{entry:.{dec}f}",
                stop=f"{stop:.{dec}f}",
            )
            risk_usd = acct * risk / 100
            per = (entry - stop) * pv
            value = math.floor(risk_usd / per + 1e-9)
            lines = [
                f"Dollar risk = {acct:,} × {risk:g}% = {fmt(risk_usd)}.",
                f"Risk per contract = ({entry:.{dec}f} - {stop:.{dec}f}) points × ${pv:g} = {fmt(per)}.",
                f"Contracts = {fmt(risk_usd)} / {fmt(per)} = {risk_usd / per:.2f}, rounded down to {value}.",
            ]
            if value == 0:
                lines.append(
                    "Even one contract risks more than the budget: skip the trade"
                    + (f" or use the micro contract ({spec.micro})." if spec.micro else ".")
                )
            meta["contract"] = spec.symbol
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
    # The trades always stand on lines of their own (a table row per line, or the P&L list),
    # never run into the question's sentences.
    templates = (
        "Here are the closed trades of a backtest (P&L in USD), starting equity {cap}:\n{trades}\n"
        "What is the {metric}?",
        "A strategy produced these trade results:\n{trades}\nCalculate the {metric}.",
        "Given this trade list, compute the {metric}:\n{trades}\nInitial capital: {cap}.",
        "From the following backtest trades, what is the {metric}?\n{trades}",
        "My {sym} system's last {n} trades were:\n{trades}\nWhat's the {metric}?",
        "Calculate the {metric} of this trade log (starting balance {cap}):\n{trades}",
        "Backtest report needed: {metric}. Trades:\n{trades}",
        "Evaluate these trades and give the {metric}. Account started at {cap}.\n{trades}",
        "What {metric} do these {n} trades give?\n{trades}",
    )

    @property
    def _with_capital(self) -> tuple[str, ...]:
        return tuple(t for t in self.templates if "{cap}" in t)

    def build(self, rng: random.Random) -> tuple[str, str, dict[str, Any]]:
        inst = pick(rng, PRICED_INSTRUMENTS)
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
