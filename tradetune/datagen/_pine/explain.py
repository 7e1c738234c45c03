"""Plain-language explanations of the strategy programs, rule by rule."""

from __future__ import annotations

from tradetune.datagen._pine.common import MA_LONG
from tradetune.datagen._pine.strategy import StrategyParams

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
