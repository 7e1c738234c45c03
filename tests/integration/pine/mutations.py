"""Mutations of valid programs, each of a kind the checker must catch, with the code it must give.

Each function yields (mutated program, 1-based line of the mutation, accepted codes) for every
site of its kind in a program, so a test can try them all.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from tradetune.evaluation.pine.arity import best_misfit
from tradetune.evaluation.pine.builtins import builtins_v5

Mutation = tuple[str, int, frozenset[str]]
_CALL = re.compile(r"\b([a-z]+(?:\.[a-z_]+)+)\(")
_DECL = re.compile(r"^([A-Za-z_]\w*) = (?!=)", re.MULTILINE)


def _line_of(code: str, offset: int) -> int:
    return code.count("\n", 0, offset) + 1


def _close_paren(code: str, open_at: int) -> int:
    depth, i, quote = 0, open_at, ""
    while i < len(code):
        ch = code[i]
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "\"'":
            quote = ch
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    raise ValueError("unbalanced call")


def _split_args(text: str) -> list[str]:
    parts, depth, quote, start = [], 0, "", 0
    for i, ch in enumerate(text):
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "\"'":
            quote = ch
        elif ch in "([":
            depth += 1
        elif ch in ")]":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    if text[start:].strip():
        parts.append(text[start:])
    return parts


def rename_builtin(code: str) -> Iterator[Mutation]:
    """`ta.sma(` → `ta.smaa(`: an unknown function (PINE-E101)."""
    functions = builtins_v5().functions
    for m in _CALL.finditer(code):
        name = m.group(1)
        if name in functions:
            wrong = name + name[-1]
            assert wrong not in functions
            yield (
                code[: m.start(1)] + wrong + code[m.end(1) :],
                _line_of(code, m.start()),
                frozenset({"PINE-E101"}),
            )


def drop_declaration(code: str) -> Iterator[Mutation]:
    """Delete a top-level `name = ...` line that later lines use: PINE-E103 (or E301 for `name :=`)."""
    lines = code.split("\n")
    for m in _DECL.finditer(code):
        name, line = m.group(1), _line_of(code, m.start())
        rest = "\n".join(lines[line:])
        use = re.search(rf"(?<![\w.]){re.escape(name)}\b(?!\s*=[^=])", rest)
        if use is None:
            continue
        mutated = "\n".join([*lines[: line - 1], "", *lines[line:]])  # keep line numbers
        yield mutated, line + rest.count("\n", 0, use.start()) + 1, frozenset({"PINE-E103", "PINE-E301"})


def remove_required_argument(code: str) -> Iterator[Mutation]:
    """Drop the last positional argument of a built-in call that then fits no overload (PINE-E201)."""
    functions = builtins_v5().functions
    for m in _CALL.finditer(code):
        name = m.group(1)
        if name not in functions:
            continue
        open_at = m.end() - 1
        close_at = _close_paren(code, open_at)
        args = _split_args(code[open_at + 1 : close_at])
        positional = [i for i, a in enumerate(args) if not re.match(r"\s*\w+\s*=[^=]", a)]
        if not positional:
            continue
        keywords = [a.split("=", 1)[0].strip() for a in args if re.match(r"\s*\w+\s*=[^=]", a)]
        problems = best_misfit(functions[name], len(positional) - 1, keywords)
        if not any(problem == "PINE-E201" for problem, _ in problems):
            continue
        kept = [a for i, a in enumerate(args) if i != positional[-1]]
        mutated = code[: open_at + 1] + ",".join(kept).lstrip() + code[close_at:]
        yield mutated, _line_of(code, m.start()), frozenset({"PINE-E201"})


def swap_assignment(code: str) -> Iterator[Mutation]:
    """`x := v` → `x = v` (E302; W301 in a nested block); `x = v` → `x := v` (E301)."""
    for m in re.finditer(r"(?m)^(\s*)([A-Za-z_]\w*) := ", code):
        start = m.start(2) + len(m.group(2))
        nested = bool(m.group(1))
        yield (
            code[:start] + " = " + code[start + 4 :],
            _line_of(code, m.start(2)),
            frozenset({"PINE-W301"} if nested else {"PINE-E302"}),
        )
    for m in _DECL.finditer(code):
        start = m.start() + len(m.group(1))
        yield code[:start] + " := " + code[start + 3 :], _line_of(code, m.start()), frozenset({"PINE-E301"})


KINDS = {
    "rename a built-in": rename_builtin,
    "drop a declaration": drop_declaration,
    "remove a required argument": remove_required_argument,
    "swap := and =": swap_assignment,
}
