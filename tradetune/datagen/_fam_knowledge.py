"""Knowledge families: candlestick patterns and market structure / order types.

Their instruction space is finite (templates × subjects × chart contexts), so they report an
exact `capacity()`; `split` checks it before it starts and refuses a split that would need
more distinct instructions than exist.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from functools import cache
from typing import Any, TypeVar

from tradetune.datagen._base import Family, normalise_instruction, pick
from tradetune.datagen._knowledge_text import PATTERNS, TOPICS, Pattern, Topic
from tradetune.datagen._market import INSTRUMENTS, TIMEFRAMES, Instrument, pick_instrument

__all__ = ["CandlestickKnowledge", "MarketStructure"]

# Comparisons are asked within a group of related subjects (a hammer vs a shooting star, not a
# hammer vs a bracket order).
PATTERN_GROUPS = (
    ("pin bar", "hammer", "inverted hammer", "shooting star", "hanging man", "doji"),
    ("bullish engulfing", "bearish engulfing", "bullish harami", "bearish harami", "inside bar"),
    (
        "morning star",
        "evening star",
        "three white soldiers",
        "three black crows",
        "bullish engulfing",
        "bearish engulfing",
    ),
)
TOPIC_GROUPS = (
    (
        "market order",
        "limit order",
        "stop order",
        "stop-limit order",
        "trailing stop",
        "OCO order",
        "bracket order",
        "time in force",
    ),
    ("bid-ask spread", "slippage", "liquidity and order book depth", "market order", "limit order"),
    (
        "market structure (higher highs and higher lows)",
        "break of structure",
        "change of character",
        "support and resistance",
        "liquidity sweep",
        "price gaps",
        "trading sessions",
    ),
)

T = TypeVar("T", Pattern, Topic)


def _partners(name: str, groups: tuple[tuple[str, ...], ...], items: Sequence[T]) -> list[T]:
    """The subjects that a comparison with `name` may name (same group, not itself)."""
    related = {n for g in groups if name in g for n in g} - {name}
    return [i for i in items if i.name in related]


# Topic names that read without an article ("slippage", "price gaps") or with "the".
_NO_ARTICLE = {
    "time in force",
    "slippage",
    "liquidity and order book depth",
    "market structure (higher highs and higher lows)",
    "support and resistance",
    "trading sessions",
    "price gaps",
}


def _article(name: str) -> str:
    if name in _NO_ARTICLE:
        return name
    if name == "bid-ask spread":
        return "the bid-ask spread"
    return ("an " if name[0] in "aeiouAEIO" else "a ") + name


def _fill(template: str, a: str, b: str, sym: str = "") -> str:
    q = template.format(a=a, b=b, an_a=_article(a), an_b=_article(b), sym=sym)
    return q[0].upper() + q[1:]


CONTEXT_PREFIX = "I trade {sym} on the {tf} chart. "


def _contexts() -> list[tuple[str, str] | None]:
    return [None] + [(i.symbol, tf) for i in INSTRUMENTS for tf in TIMEFRAMES]


def _timeframe_note(tf: str) -> str:
    if tf in ("5-minute", "15-minute"):
        return (
            f"On a {tf} chart the pattern forms often and noise is high: demand a clean location (session "
            "high "
            "or low, VWAP, a higher-timeframe level) and size for wider relative spreads and slippage."
        )
    if tf in ("1-hour", "4-hour"):
        return (
            f"On the {tf} chart the pattern is a reasonable swing-trading signal; check that the daily trend "
            "or a daily level agrees with it."
        )
    return (
        f"On the {tf} chart the pattern carries more weight than on intraday charts, but stops are wider, so "
        "size the position from the stop distance."
    )


def _instrument_note(inst: Instrument) -> str:
    notes = {
        "crypto": f"{inst.name} trades around the clock, so 'open' and 'close' depend on the exchange's "
        "candle time (usually 00:00 UTC) and gaps are rare; wicks from liquidations are common.",
        "future": f"For {inst.name}, use the regular-session chart or the full electronic session "
        "consistently; the two give different candles.",
        "stock": f"{inst.name} can gap on earnings and news, which changes how engulfing and star "
        "patterns look on the daily chart.",
        "etf": f"{inst.symbol} is very liquid; patterns at the open are often noisy, so many traders wait "
        "for the first 30 minutes.",
        "metal": f"{inst.name} reacts to the US dollar and rates; patterns around major US data releases "
        "are less reliable.",
    }
    return notes[inst.kind]


class CandlestickKnowledge(Family):
    name = "candlestick_knowledge"
    category = "patterns"
    description = "Explain candlestick patterns: shape, psychology, trading plan, reliability, comparisons."
    # (aspect, template)
    aspects: tuple[tuple[str, str], ...] = (
        ("define", "What is {an_a} candlestick pattern?"),
        ("define", "Explain the {a} pattern."),
        ("define", "How do I recognise {an_a} on a price chart?"),
        ("psychology", "What does {an_a} tell you about buyers and sellers?"),
        ("psychology", "Explain the market psychology behind the {a} pattern."),
        ("trade", "How do you trade {an_a}? Include entry, stop-loss and target."),
        ("trade", "Give me a trading plan for {an_a} setup."),
        ("confirm", "How reliable is the {a} pattern, and what confirms it?"),
        ("confirm", "When does {an_a} pattern fail?"),
        ("compare", "What is the difference between {an_a} and {an_b}?"),
        ("compare", "{a} vs {b}: how do I tell them apart and trade them?"),
    )
    templates = tuple(t for _, t in aspects)

    def build(self, rng: random.Random) -> tuple[str, str, dict[str, Any]]:
        aspect, template = pick(rng, self.aspects)
        a: Pattern = pick(rng, PATTERNS)
        b: Pattern = pick(rng, _partners(a.name, PATTERN_GROUPS, PATTERNS))
        ctx_inst: Instrument | None = pick_instrument(rng) if rng.random() < 0.85 else None
        tf = pick(rng, TIMEFRAMES)
        question = _fill(template, a.name, b.name)
        question = question[0].upper() + question[1:]
        instruction = (CONTEXT_PREFIX.format(sym=ctx_inst.symbol, tf=tf) if ctx_inst else "") + question
        response = self._answer(aspect, a, b)
        if ctx_inst is not None:
            response += f"\n\n{_timeframe_note(tf)} {_instrument_note(ctx_inst)}"
        meta: dict[str, Any] = {"pattern": a.name, "aspect": aspect}
        if aspect == "compare":
            meta["other"] = b.name
        return instruction, response, meta

    @staticmethod
    def _answer(aspect: str, a: Pattern, b: Pattern) -> str:
        title = a.name[0].upper() + a.name[1:]
        kind = f"{title}: a {a.bars}-candle {a.bias} pattern."
        if aspect == "define":
            return f"{kind}\n\nWhat it looks like: {a.shape}\n\nWhat it means: {a.psychology}"
        if aspect == "psychology":
            return f"{kind}\n\n{a.psychology}\n\nThat is why it matters where it appears: {a.confirm}"
        if aspect == "trade":
            return (
                f"{kind}\n\nIdentify it: {a.shape}\n\nEntry: {a.trade}\n\nStop and target: {a.stop}\n\n"
                f"Filter: {a.confirm}"
            )
        if aspect == "confirm":
            return (
                f"{kind}\n\nReliability: {a.confirm}\n\nA typical trigger: {a.trade}\n\n"
                f"Invalidation: {a.stop}"
            )
        tb = b.name[0].upper() + b.name[1:]
        return (
            f"{title} ({a.bars}-candle, {a.bias}): {a.shape}\n\n{tb} ({b.bars}-candle, {b.bias}): "
            f"{b.shape}\n\n"
            f"Key difference: the {a.name} says that {a.psychology[0].lower() + a.psychology[1:]} The "
            f"{b.name} says "
            f"that {b.psychology[0].lower() + b.psychology[1:]}\n\nTrading them: for the {a.name}, "
            f"{a.trade[0].lower()}"
            f"{a.trade[1:]} For the {b.name}, {b.trade[0].lower()}{b.trade[1:]}"
        )

    def capacity(self) -> int | None:
        return _knowledge_capacity(self.name)


class MarketStructure(Family):
    name = "market_structure"
    category = "knowledge"
    description = "Explain order types, market microstructure and price structure concepts."
    aspects: tuple[tuple[str, str], ...] = (
        ("define", "Explain the term '{a}'."),
        ("define", "What is meant by {an_a} in trading?"),
        ("example", "Walk me through an example of {an_a}, with numbers."),
        ("use", "When is {an_a} useful, and what should a trader watch out for?"),
        ("beginner", "Describe {an_a} for a beginner trader."),
        ("risk", "What are the pitfalls of {an_a}?"),
        ("compare", "Compare {an_a} and {an_b}."),
        ("compare", "What is the difference between {an_a} and {an_b}?"),
        ("example", "Why should I care about {an_a} when I trade {sym}?"),
    )
    templates = tuple(t for _, t in aspects)

    def build(self, rng: random.Random) -> tuple[str, str, dict[str, Any]]:
        aspect, template = pick(rng, self.aspects)
        a: Topic = pick(rng, TOPICS)
        b: Topic = pick(rng, _partners(a.name, TOPIC_GROUPS, TOPICS))
        inst = pick_instrument(rng)
        ctx = rng.random() < 0.85 and "{sym}" not in template
        tf = pick(rng, TIMEFRAMES)
        question = _fill(template, a.name, b.name, inst.symbol)
        question = question[0].upper() + question[1:]
        instruction = (CONTEXT_PREFIX.format(sym=inst.symbol, tf=tf) if ctx else "") + question
        example = self._example(a, inst, rng)
        if aspect == "define":
            response = f"{a.definition}\n\n{a.why}"
        elif aspect == "example":
            response = f"{a.definition}\n\nExample: {example}\n\nWhy it matters: {a.why}"
        elif aspect == "use":
            response = f"{a.why}\n\nExample: {example}\n\nWatch out: {a.risk}"
        elif aspect == "beginner":
            response = (
                f"In short: {a.definition}\n\nWhy you care: {a.why}\n\nExample: "
                f"{example}\n\nCommon mistake: {a.risk}"
            )
        elif aspect == "risk":
            response = f"{a.risk}\n\nFor reference: {a.definition}\n\nExample: {example}"
        else:
            response = (
                f"{a.name[0].upper() + a.name[1:]}: {a.definition}\n\n{b.name[0].upper() + b.name[1:]}: "
                f"{b.definition}\n\n"
                f"When each fits: {a.why} By contrast, {b.why[0].lower() + b.why[1:]}\n\nExample: {example}"
            )
        meta: dict[str, Any] = {"topic": a.name, "aspect": aspect, "symbol": inst.symbol}
        if aspect == "compare":
            meta["other"] = b.name
        return instruction, response, meta

    @staticmethod
    def _example(topic: Topic, inst: Instrument, rng: random.Random) -> str:
        d = inst.decimals
        p = round(inst.price * (1 + rng.uniform(-0.1, 0.1)), d)
        tick = 10 ** (-d) * max(1, round(p * 0.0002 * 10**d))
        bid = round(p - tick, d)
        return topic.example.format(
            sym=inst.symbol,
            p=f"{p:,.{d}f}",
            bid=f"{bid:,.{d}f}",
            spread=f"{p - bid:,.{d}f}",
            lo=f"{p * 0.98:,.{d}f}",
            mid=f"{p * 0.99:,.{d}f}",
            hi=f"{p * 1.03:,.{d}f}",
            hi2=f"{p * 1.035:,.{d}f}",
            trail=f"{p * 0.98:,.{d}f}",
        )

    def capacity(self) -> int | None:
        return _knowledge_capacity(self.name)


@cache
def _knowledge_capacity(name: str) -> int:
    """Count the distinct normalised instructions a knowledge family can write (exact, enumerated)."""
    seen: set[str] = set()
    aspects: tuple[tuple[str, str], ...]
    groups: tuple[tuple[str, ...], ...]
    if name == CandlestickKnowledge.name:
        aspects, names, groups = CandlestickKnowledge.aspects, [p.name for p in PATTERNS], PATTERN_GROUPS
    else:
        aspects, names, groups = MarketStructure.aspects, [t.name for t in TOPICS], TOPIC_GROUPS
    symbols = [i.symbol for i in INSTRUMENTS]
    prefixes = [""] + [CONTEXT_PREFIX.format(sym=s, tf=tf) for s in symbols for tf in TIMEFRAMES]
    for _, template in aspects:
        pair = "{b}" in template or "{an_b}" in template
        for a in names:
            partners = (
                [n for n in names if n != a and any(a in g and n in g for g in groups)] if pair else [a]
            )
            for b in partners:
                for sym in symbols if "{sym}" in template else [""]:
                    q = _fill(template, a, b, sym)
                    for prefix in [""] if "{sym}" in template else prefixes:
                        seen.add(normalise_instruction(prefix + q))
    return len(seen)
