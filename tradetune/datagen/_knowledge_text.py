"""Reference text for the knowledge families: candlestick patterns and market structure.

Plain data, written once and checked by a human eye; the families combine it with the
instrument and timeframe a question mentions. Each pattern/topic has the same fields so every
question aspect can be answered for every entry.
"""

from __future__ import annotations

from typing import NamedTuple

__all__ = ["PATTERNS", "TOPICS", "Pattern", "Topic"]


class Pattern(NamedTuple):
    name: str
    bars: int
    bias: str  # bullish / bearish / neutral
    shape: str  # what it looks like
    psychology: str  # what the bars say about buyers and sellers
    trade: str  # how it is traded: entry
    stop: str  # where the stop goes and the first target
    confirm: str  # what makes it reliable, and when it fails


PATTERNS: tuple[Pattern, ...] = (
    Pattern(
        "pin bar",
        1,
        "reversal (bullish or bearish, by the wick's side)",
        "A single candle with a small body at one end of its range and a long wick (at least two thirds of "
        "the range, roughly two to three times the body) sticking out on the other side. The nose of a "
        "bullish pin bar points down; a bearish one points up.",
        "Price was pushed hard in the wick's direction during the bar and then rejected: the side that "
        "drove the wick could not hold the ground, and the close came back near the open.",
        "Enter on a break of the pin bar's body end (above the high for a bullish pin bar, below the low for "
        "a bearish one), or on a 50% retracement of the wick for a better price.",
        "Put the stop just beyond the tip of the wick: if price trades through the rejection, the idea is "
        "wrong. A first target of 2R or the next swing level is common.",
        "Pin bars work best at a level that matters (support/resistance, a round number, a moving average) "
        "and against an overextended move; in the middle of a range they are noise. A wick that is long "
        "relative to recent bars (compare with ATR) carries more weight.",
    ),
    Pattern(
        "hammer",
        1,
        "bullish reversal",
        "A candle after a decline with a small real body near the top of the range, a lower shadow at least "
        "twice the body and little or no upper shadow. The body's colour matters less than the shape, "
        "although a green body is slightly stronger.",
        "Sellers pushed price well below the open, but buyers absorbed the selling and drove the close back "
        "near the high: the downtrend's momentum has met demand.",
        "Wait for confirmation: buy when the next candle closes above the hammer's close or trades above its "
        "high.",
        "Place the stop below the hammer's low; aim first for the last lower high or 2R.",
        "It needs a preceding downtrend; the same shape after a rally is a hanging man. Higher volume on the "
        "hammer and a bounce from known support raise its reliability; a close back below the low "
        "invalidates it.",
    ),
    Pattern(
        "inverted hammer",
        1,
        "bullish reversal (needs confirmation)",
        "A candle after a decline with a small body near the low of the range and a long upper shadow, at "
        "least twice the body, and little or no lower shadow.",
        "Buyers tried to lift price during the bar and failed to hold the highs, but the attempt itself "
        "shows "
        "that selling pressure is fading.",
        "Only act on confirmation: a strong bullish candle that closes above the inverted hammer's body, "
        "ideally above its high.",
        "The stop goes below the pattern's low; the first target is the nearest resistance.",
        "It is weaker than a hammer because the close is still near the lows; without a bullish "
        "follow-through "
        "candle it is just a failed rally.",
    ),
    Pattern(
        "shooting star",
        1,
        "bearish reversal",
        "A candle after an advance with a small body near the low of the range and an upper shadow at least "
        "twice the body, with little or no lower shadow. It is the bearish mirror of the hammer.",
        "Buyers pushed price to new highs during the bar, but sellers took over and closed it near the open: "
        "the rally was rejected at higher prices.",
        "Sell (or exit longs) when the next candle breaks below the shooting star's low.",
        "Place the stop above the top of the upper shadow; target the last higher low or 2R.",
        "It needs a preceding uptrend and works best at resistance. A gap up into the star and high volume "
        "strengthen it; a close above its high cancels it.",
    ),
    Pattern(
        "hanging man",
        1,
        "bearish reversal (needs confirmation)",
        "A hammer-shaped candle (small body at the top, long lower shadow) that appears after an advance.",
        "The long lower shadow shows that sellers could drive price down hard during the bar; even though "
        "buyers recovered, the market has shown it can sell off.",
        "Only act when the next candle closes below the hanging man's body.",
        "Stop above the hanging man's high; first target at nearby support.",
        "It is one of the less reliable single-candle signals: in strong uptrends most hanging men are "
        "followed by higher prices. Demand confirmation.",
    ),
    Pattern(
        "bullish engulfing",
        2,
        "bullish reversal",
        "Two candles: a bearish (red) candle followed by a bullish (green) candle whose real body completely "
        "covers the first body - it opens at or below the first close and closes above the first open.",
        "Sellers were in control on the first bar; on the second, buyers overwhelmed them and closed price "
        "above where the sellers started. Control changed hands within one bar.",
        "Buy at the close of the engulfing candle or on a break above its high.",
        "Stop below the low of the two-candle pattern; target the last swing high or 2R.",
        "Stronger when the second body is large relative to recent bars, when it engulfs several prior "
        "bodies, at support, and with rising volume. In a range without a prior decline it means little.",
    ),
    Pattern(
        "bearish engulfing",
        2,
        "bearish reversal",
        "Two candles: a bullish (green) candle followed by a bearish (red) candle whose real body completely "
        "covers the first body - it opens at or above the first close and closes below the first open.",
        "Buyers controlled the first bar; on the second, sellers took over and erased all of it, closing "
        "below the first bar's open.",
        "Sell at the close of the engulfing candle or on a break of its low.",
        "Stop above the high of the pattern; target the last swing low or 2R.",
        "Most reliable after an extended advance into resistance with expanding volume; weak in choppy, "
        "sideways markets.",
    ),
    Pattern(
        "doji",
        1,
        "indecision (neutral)",
        "A candle whose open and close are (almost) equal - the body is at most about 5-10% of the range - "
        "with shadows on one or both sides. Variants: long-legged, dragonfly (long lower shadow) and "
        "gravestone (long upper shadow).",
        "Buyers and sellers ended the bar in balance. After a strong trend this balance means the "
        "trend's driving side has lost its edge.",
        "A doji is not a signal by itself; trade the break of its high or low in the direction of the "
        "next candle's close.",
        "Put the stop on the other side of the doji's range.",
        "Meaningful only after a trend or at a key level; in quiet ranges dojis are everywhere. A dragonfly "
        "at support or a gravestone at resistance is more telling than a plain doji.",
    ),
    Pattern(
        "bullish harami",
        2,
        "bullish reversal (weak until confirmed)",
        "Two candles: a large bearish candle followed by a small candle (often bullish) whose body sits "
        "entirely inside the first body. Harami means 'pregnant' in Japanese.",
        "After a strong selling bar the market suddenly contracts: sellers failed to extend the move and "
        "momentum is stalling.",
        "Buy on a break above the high of the large first candle, or when the next bar closes above the "
        "harami's body.",
        "Stop below the low of the first candle; target the prior swing high.",
        "A harami signals a pause more than a reversal; it needs confirmation. A doji as the second candle "
        "(harami cross) is a stronger version.",
    ),
    Pattern(
        "bearish harami",
        2,
        "bearish reversal (weak until confirmed)",
        "Two candles: a large bullish candle followed by a small candle (often bearish) whose body sits "
        "entirely inside the first body.",
        "After a strong buying bar the market stops expanding: buyers could not follow through.",
        "Sell on a break below the low of the first candle or on a close below the harami's body.",
        "Stop above the high of the first candle; target the nearest support.",
        "Like its bullish twin it is a warning rather than a trigger; look for confirmation and resistance "
        "nearby.",
    ),
    Pattern(
        "morning star",
        3,
        "bullish reversal",
        "Three candles after a decline: a long bearish candle, a small-bodied candle that gaps or trades "
        "lower (the star), and a long bullish candle that closes above the midpoint of the first candle's "
        "body.",
        "Selling exhausts on the first bar, the star shows indecision at the lows, and the third bar shows "
        "buyers taking control and recovering at least half of the first bar's losses.",
        "Buy at the close of the third candle or on a break of its high.",
        "Stop below the star's low; target the start of the prior decline's last leg.",
        "One of the more reliable reversal patterns, especially with rising volume on the third candle and "
        "at support. A doji star (morning doji star) is stronger.",
    ),
    Pattern(
        "evening star",
        3,
        "bearish reversal",
        "Three candles after an advance: a long bullish candle, a small-bodied star that gaps or trades "
        "higher, and a long bearish candle that closes below the midpoint of the first candle's body.",
        "Buying peaks on the first bar, the star shows hesitation at the highs, and the third bar shows "
        "sellers taking over and wiping out at least half of the first bar's gains.",
        "Sell at the close of the third candle or on a break of its low.",
        "Stop above the star's high; target the nearest support or 2R.",
        "Reliable at resistance after an extended rally, especially with volume expanding on the third "
        "candle.",
    ),
    Pattern(
        "inside bar",
        2,
        "continuation or reversal (breakout setup)",
        "Two bars: the second bar's high is below the first bar's high and its low is above the first bar's "
        "low - its whole range sits inside the previous bar (the 'mother bar').",
        "The market contracts after the mother bar: volatility compresses while participants wait, and "
        "energy builds for the next move.",
        "Place a buy stop above the mother bar's high and a sell stop below its low (or trade only the "
        "break in the direction of the trend).",
        "Stop at the opposite side of the mother bar (or of the inside bar for a tighter stop); target "
        "1.5-2R "
        "or the next level.",
        "Inside bars in the direction of a strong trend on the daily chart are the classic setup; on very "
        "low timeframes they are frequent and false breaks are common.",
    ),
    Pattern(
        "three white soldiers",
        3,
        "bullish reversal/continuation",
        "Three consecutive long bullish candles, each opening within the previous body and closing near its "
        "high, each close higher than the last.",
        "Buyers are in control for three sessions in a row with little selling into the closes.",
        "Buy on a pullback after the pattern rather than chasing the third candle.",
        "Stop below the middle of the first candle or below the pattern's low.",
        "After a long advance the pattern can mark exhaustion; long upper shadows on the soldiers weaken it.",
    ),
    Pattern(
        "three black crows",
        3,
        "bearish reversal",
        "Three consecutive long bearish candles, each opening within the previous body and closing near its "
        "low, each close lower than the last.",
        "Sellers dominate three sessions in a row; the uptrend's buyers are overwhelmed.",
        "Sell on a retracement after the pattern or on a break of the third candle's low.",
        "Stop above the pattern's high or the middle of the first candle.",
        "Powerful after a long advance; after an extended decline it can mark capitulation instead.",
    ),
)


class Topic(NamedTuple):
    name: str
    definition: str
    why: str  # why it matters / when to use it
    example: str  # slots {sym} {p} {bid} {spread} {lo} {mid} {hi} {hi2} {trail}: prices of the instrument
    risk: str  # pitfalls


TOPICS: tuple[Topic, ...] = (
    Topic(
        "market order",
        "A market order buys or sells immediately at the best price available in the order book. It "
        "guarantees execution, not price.",
        "Use it when getting filled matters more than the exact price: exiting a losing trade, reacting to "
        "news, or trading very liquid instruments where the spread is tiny.",
        "With {sym} offered at {p} and bid at {bid}, a market buy fills at {p} (or higher if the size at {p} "
        "is smaller than your order).",
        "Slippage: in thin markets or fast moves a market order walks the book and can fill far from the "
        "last "
        "price. Avoid market orders at the open, around news and in illiquid instruments.",
    ),
    Topic(
        "limit order",
        "A limit order buys at or below (sells at or above) a price you set. It guarantees the price or "
        "better, not execution.",
        "Use it to enter at a planned level (a pullback to support), to take profit at a target, and to "
        "avoid paying the spread; resting limit orders add liquidity and often get maker rebates.",
        "With {sym} trading at {p}, a buy limit at {lo} waits in the book and fills only if sellers bring "
        "the price down to {lo} or lower.",
        "It may never fill: the market can reverse just before your level and leave you out of the trade "
        "(missed-opportunity risk); a partial fill is also possible.",
    ),
    Topic(
        "stop order",
        "A stop (stop-market) order becomes a market order once price trades at or through the stop price. "
        "A sell stop sits below the market, a buy stop above it.",
        "Used for stop-losses that cap a loss, and for breakout entries (a buy stop above resistance).",
        "Long {sym} at {p} with a sell stop at {lo}: if {sym} trades at {lo}, the stop triggers and sells "
        "at the next available price.",
        "Once triggered it fills at market, so gaps and fast markets can fill it well beyond the stop price; "
        "stops at obvious levels can be run by liquidity sweeps.",
    ),
    Topic(
        "stop-limit order",
        "A stop-limit order turns into a limit order (not a market order) when the stop price trades. You "
        "set "
        "a stop price and a limit price.",
        "It controls the worst fill: useful for breakout entries where you refuse to chase beyond a price.",
        "A buy stop-limit on {sym} with stop {hi} and limit {hi2} triggers when {hi} trades and then buys "
        "only at {hi2} or better.",
        "If price gaps through the limit the order does not fill at all - dangerous for protective stops, "
        "where an unfilled stop leaves the loss open.",
    ),
    Topic(
        "trailing stop",
        "A trailing stop follows price at a fixed distance (points, percent or a multiple of ATR) in the "
        "trade's favour and never moves back; it exits when price reverses by that distance.",
        "It locks in profit in trending moves without choosing a target in advance.",
        "Long {sym} at {lo} with a trail of 2%: if price rises to {p}, the stop rises to {trail} (98% of "
        "{p}); a drop of 2% from the highest price reached closes the trade.",
        "Too tight a trail gets stopped out by normal noise; too wide gives back much of the move. ATR-based "
        "distances adapt to volatility.",
    ),
    Topic(
        "OCO order",
        "One-cancels-the-other: two linked orders where a fill of one cancels the other, typically a "
        "take-profit limit and a stop-loss around an open position.",
        "It brackets a position so that exactly one exit happens, even when you are away from the screen.",
        "Long {sym} at {p}: a sell limit at {hi} (target) and a sell stop at {lo} (stop) as an OCO pair - "
        "whichever fills first cancels the other.",
        "Check how your broker handles partial fills: a partially filled leg should reduce, not cancel, the "
        "other leg.",
    ),
    Topic(
        "bracket order",
        "A bracket order is an entry order with an attached take-profit and stop-loss (an OCO pair) that "
        "become active once the entry fills.",
        "It enforces the trading plan - entry, target and stop - in one ticket, so risk is defined before "
        "the trade exists.",
        "Buy {sym} at {p} with a bracket: take-profit at {hi}, stop-loss at {lo}.",
        "If the entry is a market order in a fast market, the actual fill shifts the reward-to-risk the "
        "bracket was planned with.",
    ),
    Topic(
        "time in force",
        "Time in force says how long an order stays working: DAY (until the session ends), GTC (good till "
        "cancelled), IOC (immediate or cancel: fill what you can now, cancel the rest) and FOK (fill or "
        "kill: "
        "all at once or nothing).",
        "It prevents stale orders from filling when conditions have changed and controls partial fills.",
        "A GTC buy limit on {sym} at {lo} can fill days later; an IOC for 1,000 units at {p} fills what is "
        "available at {p} and cancels the remainder.",
        "Forgotten GTC orders are a classic source of unwanted positions; some brokers cap GTC at 60-90 "
        "days.",
    ),
    Topic(
        "bid-ask spread",
        "The spread is the gap between the best bid (highest price a buyer pays) and the best ask (lowest "
        "price a seller accepts). Crossing it is an immediate cost of trading.",
        "It is a direct transaction cost; strategies that trade often or target small moves live or die by "
        "it.",
        "If {sym} is bid {bid} and offered {p}, the spread is {spread}, and a round trip with market "
        "orders pays it once.",
        "Spreads widen at the open, around news, outside main sessions and in illiquid instruments.",
    ),
    Topic(
        "slippage",
        "Slippage is the difference between the price you expected (the last price or your stop level) and "
        "the price you actually got.",
        "Backtests that ignore it overstate results, especially for stop entries, breakouts and "
        "high-turnover "
        "systems.",
        "A stop on {sym} at {lo} during a fast drop fills at {lo} minus a few ticks: those ticks are "
        "slippage.",
        "Model it in backtests (TradingView: the `slippage` parameter in ticks) and trade smaller in thin "
        "markets.",
    ),
    Topic(
        "liquidity and order book depth",
        "Liquidity is how much can be traded without moving the price; the order book's depth shows the "
        "resting size at each price level.",
        "Position size should fit the available depth; deep markets give tight spreads and small slippage.",
        "If only a small size is offered at {p} in {sym}, a large market buy consumes that level and the "
        "next "
        "ones above it, moving the average fill price up.",
        "Displayed depth can vanish (spoofing, cancelled orders) exactly when you need it.",
    ),
    Topic(
        "market structure (higher highs and higher lows)",
        "Market structure describes trend through swing points: an uptrend prints higher highs (HH) and "
        "higher "
        "lows (HL); a downtrend prints lower highs (LH) and lower lows (LL); a range alternates without "
        "progress.",
        "It defines the trend without indicators and tells you which side to favour and where a trend is "
        "invalidated (the last higher low in an uptrend).",
        "On {sym}, swing lows at {lo} then higher at {mid}, with highs climbing to {hi}, describe an "
        "uptrend; a close below {mid} would break the sequence.",
        "Swing points depend on the timeframe; define them consistently (e.g. fractals / pivot highs with a "
        "fixed number of bars).",
    ),
    Topic(
        "break of structure",
        "A break of structure (BOS) is a close beyond the last swing point in the direction of the trend - "
        "a new higher high in an uptrend or a new lower low in a downtrend - confirming continuation.",
        "It signals that the trend is still being extended, and pullbacks after a BOS are continuation "
        "entries.",
        "In an uptrend on {sym} with the last swing high at {p}, a close at {hi} above it is a bullish BOS.",
        "Wick-only breaks that close back inside are often liquidity grabs rather than real breaks.",
    ),
    Topic(
        "change of character",
        "A change of character (CHoCH) is the first break against the prevailing structure - in an "
        "uptrend, a "
        "close below the last higher low - and the first sign that the trend may be reversing.",
        "It warns trend followers to tighten stops and alerts reversal traders to look for a new structure.",
        "If {sym} has been making higher lows, the latest at {lo}, a close below {lo} is a bearish change of "
        "character.",
        "One CHoCH does not make a new trend; wait for a lower high to form to confirm.",
    ),
    Topic(
        "support and resistance",
        "Support is a price zone where buying has repeatedly stopped declines; resistance is a zone where "
        "selling has stopped advances. Broken support often becomes resistance, and vice versa.",
        "They mark where orders cluster, so they are natural places for entries, stops (beyond the zone) and "
        "targets.",
        "If {sym} bounced from around {lo} three times, that zone is support; a decisive close below it "
        "turns "
        "it into likely resistance on a retest.",
        "Treat them as zones, not exact lines; the more obvious a level, the more stops sit just beyond it.",
    ),
    Topic(
        "liquidity sweep",
        "A liquidity sweep (stop hunt) is a quick move beyond an obvious high or low that triggers the stops "
        "resting there and then reverses back inside the range.",
        "Large participants need liquidity to fill size; the stops beyond obvious levels provide it. A sweep "
        "followed by a strong rejection is a reversal setup.",
        "{sym} dips below the equal lows at {lo}, triggers the sell stops there, and closes back above {lo} "
        "on the same bar: a sweep of sell-side liquidity.",
        "Not every break is a sweep; without a quick close back inside the range it is simply a breakout.",
    ),
    Topic(
        "trading sessions",
        "Global markets trade through overlapping sessions - Asia (Tokyo), London and New York - each "
        "with its "
        "own liquidity and volatility; the London-New York overlap is usually the most active window.",
        "Volatility and spreads depend on the session, so breakouts, stops and position sizes should account "
        "for the time of day.",
        "An intraday range set in the Asian session on {sym} is often tested once London opens.",
        "Holidays and thin sessions produce erratic moves and wide spreads.",
    ),
    Topic(
        "price gaps",
        "A gap is a price area where no trading took place: the open is above the prior high (gap up) or "
        "below the prior low (gap down). Types: common, breakaway, runaway (continuation) and exhaustion.",
        "Gaps show strong overnight imbalance; breakaway gaps on volume start trends, exhaustion gaps end "
        "them.",
        "{sym} closed at {lo} and opened at {p}: a gap up; a 'gap fill' would trade back down to {lo}.",
        "Stops can be filled at the gap open, far beyond the stop price - gap risk cannot be fully stopped.",
    ),
)
