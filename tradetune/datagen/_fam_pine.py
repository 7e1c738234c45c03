"""The PineScript families: write a strategy, write an indicator, repair code, explain code."""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

from tradetune.datagen._base import Family, pick
from tradetune.datagen._market import pick_instrument
from tradetune.datagen._pine import (
    draw_indicator,
    draw_strategy,
    explain_strategy,
    indicator_code,
    indicator_shapes,
    indicator_summary,
    options_sentence,
    strategy_code,
    strategy_shapes,
    strategy_summary,
)

__all__ = ["PineIndicator", "PineRepair", "PineStrategy", "StrategyExplanation"]

TIMEFRAMES = ("1-minute", "5-minute", "15-minute", "1-hour", "4-hour", "daily", "weekly")


def _context(rng: random.Random) -> tuple[str, str]:
    return pick_instrument(rng).symbol, pick(rng, TIMEFRAMES)


class PineStrategy(Family):
    name = "pine_strategy"
    category = "pinescript"
    description = "Write a PineScript v5 strategy from a description (signals, stops, sizing)."
    writes_pine = True
    templates = (
        "Write a PineScript v5 strategy for {desc}. {opts}",
        "Create a TradingView strategy in Pine Script v5 that trades {desc}. {opts}",
        "I need a Pine v5 backtest script based on {desc}. {opts}",
        "Code a PineScript version 5 strategy: {desc}. {opts}",
        "Can you write a Pine Script strategy for {symbol} on the {tf} chart using {desc}? {opts}",
        "Build a TradingView strategy (//@version=5) implementing {desc}. {opts}",
        "Please give me a complete PineScript v5 strategy script for {desc}. {opts}",
        "Turn this idea into a Pine Script v5 strategy I can backtest: {desc}. {opts}",
        "Write Pine Script (v5) for a {tf} {symbol} strategy that uses {desc}. {opts}",
        "Generate a strategy() script in PineScript v5 using {desc}. {opts}",
    )

    def build(self, rng: random.Random) -> tuple[str, str, dict[str, Any]]:
        sp = draw_strategy(rng)
        symbol, tf = _context(rng)
        instruction = pick(rng, self.templates).format(
            desc=strategy_summary(sp), opts=options_sentence(sp), symbol=symbol, tf=tf
        )
        meta = {
            "kind": sp.kind,
            "ma": sp.ma or None,
            "params": sp.p,
            "stop_loss_pct": sp.sl,
            "take_profit_pct": sp.tp,
            "sizing": sp.sizing,
            "size_value": sp.size_value,
            "direction": sp.direction,
        }
        return instruction, strategy_code(sp), meta

    def pine_shapes(self) -> Iterator[tuple[str, str]]:
        for name, sp in strategy_shapes():
            yield name, strategy_code(sp)


class PineIndicator(Family):
    name = "pine_indicator"
    category = "pinescript"
    description = "Write a PineScript v5 indicator (plots, bands, fills, alerts)."
    writes_pine = True
    templates = (
        "Write a PineScript v5 indicator that plots {desc}.{extra}",
        "Create a TradingView indicator in Pine Script v5 showing {desc}.{extra}",
        "I want a Pine v5 indicator for {desc}.{extra}",
        "Code an indicator() script in PineScript version 5 for {desc}.{extra}",
        "Can you write a Pine Script v5 study that displays {desc} on my {tf} {symbol} chart?{extra}",
        "Please write PineScript v5 code to plot {desc}.{extra}",
        "Make a custom TradingView indicator (Pine v5) with {desc}.{extra}",
        "Show me a complete //@version=5 indicator for {desc}.{extra}",
        "Write an overlay or pane indicator in Pine Script 5 for {desc}.{extra}",
    )

    def build(self, rng: random.Random) -> tuple[str, str, dict[str, Any]]:
        ip = draw_indicator(rng)
        symbol, tf = _context(rng)
        extra = ""
        if ip.alerts:
            extra += " Add alert conditions and markers for bullish and bearish signals."
        if ip.highlight:
            extra += " Highlight the background when the condition is active."
        instruction = pick(rng, self.templates).format(
            desc=indicator_summary(ip), extra=extra, symbol=symbol, tf=tf
        )
        meta = {
            "kind": ip.kind,
            "ma": ip.ma or None,
            "params": ip.p,
            "alerts": ip.alerts,
            "highlight": ip.highlight,
        }
        return instruction, indicator_code(ip), meta

    def pine_shapes(self) -> Iterator[tuple[str, str]]:
        for name, ip in indicator_shapes():
            yield name, indicator_code(ip)


# A breakage: (id, applies-to substring, break function, compiler-style error, explanation).
def _replace_first(old: str, new: str) -> Any:
    def apply(code: str, rng: random.Random) -> str:
        return code.replace(old, new, 1)

    return apply


def _drop_version(code: str, rng: random.Random) -> str:
    return code.replace("//@version=5\n", "", 1)


def _v4_namespace(code: str, rng: random.Random) -> str:
    for fn in ("ta.crossover(", "ta.crossunder(", "ta.sma(", "ta.ema(", "ta.rsi(", "ta.atr(", "ta.highest("):
        if fn in code:
            return code.replace(fn, fn[3:])
    return code


def _missing_paren(code: str, rng: random.Random) -> str:
    lines = code.split("\n")
    candidates = [i for i, line in enumerate(lines) if line.rstrip().endswith(")") and "input." in line]
    i = candidates[int(rng.random() * len(candidates))]
    lines[i] = lines[i].rstrip()[:-1]
    return "\n".join(lines)


def _unindent(code: str, rng: random.Random) -> str:
    lines = code.split("\n")
    candidates = [i for i, line in enumerate(lines) if line.startswith("    ")]
    i = candidates[int(rng.random() * len(candidates))]
    lines[i] = lines[i].lstrip()
    return "\n".join(lines)


def _v4_input(code: str, rng: random.Random) -> str:
    start = code.index("input.int(")
    end = code.index(")", start)
    inner = code[start + len("input.int(") : end]
    args = [a.strip() for a in inner.split(",") if "=" not in a]
    return code[:start] + f"input({', '.join(args)}, type=input.integer)" + code[end + 1 :]


def _unterminated(code: str, rng: random.Random) -> str:
    start = code.index('", ')
    return code[:start] + code[start + 1 :]


def _reassign(code: str, rng: random.Random) -> str:
    return code.replace("longTrail := ", "longTrail = ", 1)


def _transp(code: str, rng: random.Random) -> str:
    start = code.index("color=color.new(") + len("color=")
    end = code.index(")", start)
    colour, transp = code[start + len("color.new(") : end].split(", ")
    return code[:start] + f"{colour}, transp={transp}" + code[end + 1 :]


def _bare_colour(code: str, rng: random.Random) -> str:
    for c in ("color.teal", "color.orange", "color.purple", "color.blue", "color.green", "color.red"):
        if f"color={c}" in code:
            return code.replace(f"color={c}", f"color={c[6:]}", 1)
    return code


def _direction_bool(code: str, rng: random.Random) -> str:
    return code.replace('strategy.entry("Long", strategy.long', 'strategy.entry("Long", true', 1)


BREAKAGES: tuple[tuple[str, str, Any, str, str], ...] = (
    (
        "missing_version",
        "//@version=5",
        _drop_version,
        "Script without a version annotation is compiled as Pine v1",
        "The first line `//@version=5` was missing, so TradingView compiles the script with the oldest "
        "Pine version, where `ta.*`, `input.*` and `strategy.*` namespaces do not exist. Adding the "
        "version annotation as the very first line fixes every follow-on error.",
    ),
    (
        "study_v4",
        'indicator("',
        _replace_first('indicator("', 'study("'),
        "Could not find function or function reference 'study'",
        "`study()` is the Pine v4 name of the declaration. In v5 every indicator starts with "
        "`indicator()`; the arguments (title, overlay) stay the same.",
    ),
    (
        "no_namespace",
        "ta.",
        _v4_namespace,
        "Could not find function or function reference",
        "Since v5 the built-in technical-analysis functions live in the `ta.` namespace "
        "(`ta.sma`, `ta.ema`, `ta.rsi`, `ta.crossover`, ...). The bare v4 names are undeclared in v5, "
        "so the `ta.` prefix has to be restored on every call.",
    ),
    (
        "missing_paren",
        "input.",
        _missing_paren,
        "Mismatched input 'end of line without line continuation' expecting ')'",
        "An `input.*()` call was missing its closing parenthesis, so the parser ran into the end of the "
        "line while it still expected arguments. Closing the call fixes the syntax error.",
    ),
    (
        "unindented_block",
        "\n    ",
        _unindent,
        "Mismatched input or no viable alternative: the block of an `if` must be indented",
        "Pine uses indentation (4 spaces or a tab) for the body of `if` blocks. A statement that "
        "belongs to the `if` was written at column 0, which leaves the `if` with an empty body. "
        "Indenting it back under its `if` restores the intended logic.",
    ),
    (
        "v4_input",
        "input.int(",
        _v4_input,
        "The 'type' argument of input() is not supported in v5; use input.int()",
        "`input(..., type=input.integer)` is v4 syntax. Pine v5 has typed input functions: "
        "`input.int()`, `input.float()`, `input.bool()`, `input.source()`. The call becomes "
        "`input.int(default, title, minval=...)`.",
    ),
    (
        "unterminated_string",
        '", ',
        _unterminated,
        "Token recognition error: unterminated string literal",
        "A string literal lost its closing double quote, so the rest of the line was read as part of "
        "the string. Closing the quote restores the argument list.",
    ),
    (
        "reassign_with_equals",
        "longTrail := ",
        _reassign,
        "'longTrail' is already defined",
        "`longTrail` is declared once with `var float longTrail = na`; later updates must use the "
        "reassignment operator `:=`. Writing `=` tries to declare a second variable with the same name, "
        "which Pine rejects (and even where shadowing is allowed, the `var` state would never update).",
    ),
    (
        "transp_argument",
        "color=color.new(",
        _transp,
        "The 'transp' argument is deprecated; use color.new() instead",
        "Pine v5 removed the `transp` parameter. Transparency is part of the colour itself: "
        "`color.new(baseColor, transparency)` with 0 (opaque) to 100 (invisible).",
    ),
    (
        "bare_colour",
        "color=color.",
        _bare_colour,
        "Undeclared identifier",
        "Colour constants live in the `color.` namespace in v5 (`color.teal`, `color.red`, ...). A "
        "bare name like `teal` is an undeclared identifier.",
    ),
    (
        "entry_direction_bool",
        'strategy.entry("Long", strategy.long',
        _direction_bool,
        "Cannot call 'strategy.entry' with argument 'direction'='true'. An argument of 'literal bool' "
        "type was used but a 'series strategy_direction' is expected",
        "In v5 the direction of `strategy.entry()` must be `strategy.long` or `strategy.short`; the v3/v4 "
        "habit of passing `true` for long is a type error.",
    ),
)
SYNTAX_BREAKAGES = frozenset({"missing_paren", "unindented_block", "unterminated_string"})


class PineRepair(Family):
    name = "pine_repair"
    category = "pinescript"
    description = "Broken PineScript in, the corrected v5 program and the fix explained out."
    writes_pine = True
    templates = (
        "Fix this PineScript code:\n\n{code}",
        'My Pine Script won\'t compile. Error: "{error}". Here is the script:\n\n{code}',
        "What's wrong with this TradingView script? Please correct it.\n\n{code}",
        "Debug this Pine v5 code and return the fixed version:\n\n{code}",
        'I get "{error}" when adding this to the chart. Can you repair it?\n\n{code}',
        "This PineScript has a bug. Find it, fix it and explain the fix.\n\n{code}",
        "Correct the following Pine Script so it runs as version 5:\n\n{code}",
        "TradingView shows an error for this code ({error}). Rewrite it correctly:\n\n{code}",
        "Please review and fix my PineScript {what}:\n\n{code}",
    )

    def build(self, rng: random.Random) -> tuple[str, str, dict[str, Any]]:
        if rng.random() < 0.5:
            code = strategy_code(draw_strategy(rng))
            what = "strategy"
        else:
            code = indicator_code(draw_indicator(rng))
            what = "indicator"
        applicable = [b for b in BREAKAGES if b[1] in code]
        bid, _, breaker, error, explanation = pick(rng, applicable)
        broken = breaker(code, rng)
        instruction = pick(rng, self.templates).format(code=broken.rstrip("\n"), error=error, what=what)
        response = f"{code}---\nWhat was wrong: {error}.\n\nThe fix: {explanation}"
        return (
            instruction,
            response,
            {"breakage": bid, "syntax_error": bid in SYNTAX_BREAKAGES, "program": what},
        )

    def pine_shapes(self) -> Iterator[tuple[str, str]]:
        # The corrected programs are strategy and indicator programs: their shapes are those.
        return iter(())


class StrategyExplanation(Family):
    name = "strategy_explanation"
    category = "pinescript"
    description = "PineScript strategy in, plain-language explanation out."
    templates = (
        "Explain what this PineScript strategy does:\n\n{code}",
        "Can you walk me through this TradingView strategy in plain English?\n\n{code}",
        "What are the entry and exit rules of this Pine Script?\n\n{code}",
        "Summarise the logic of the following Pine v5 strategy for a non-programmer:\n\n{code}",
        "I found this strategy script. How does it trade, and what are its risks?\n\n{code}",
        "Describe, step by step, how this PineScript decides when to buy and sell:\n\n{code}",
        "Review this strategy code and explain its signals, risk management and sizing:\n\n{code}",
        "Break down this Pine Script strategy for me:\n\n{code}",
    )

    def build(self, rng: random.Random) -> tuple[str, str, dict[str, Any]]:
        sp = draw_strategy(rng)
        code = strategy_code(sp).rstrip("\n")
        instruction = pick(rng, self.templates).format(code=code)
        return (
            instruction,
            explain_strategy(sp),
            {"kind": sp.kind, "direction": sp.direction, "sizing": sp.sizing},
        )
