"""PineScript checks on generated code: the guide's four syntax checks and a real parse.

The guide scores code with four string checks; they are cheap and kept as `pineSyntaxScore`
for continuity, but they pass code that no Pine compiler would accept. `pineParseRate` adds a
real grammar check with pynescript. Its first parse in a process costs ~9 s (ANTLR warm-up),
so results are cached per code string and the parser is imported once.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

PINE_TASKS = frozenset({"pine_strategy", "pine_indicator", "pine_repair"})


def extract_code(text: str) -> str:
    """The program part of a response: the text before a line holding only `---`."""
    lines = text.split("\n")
    for i, line in enumerate(lines):
        if line.strip() == "---":
            return "\n".join(lines[:i]).rstrip()
    return text.rstrip()


def syntax_checks(code: str) -> list[bool]:
    """The guide's four checks, in its order."""
    return [
        code.startswith("//@version=5"),
        "strategy(" in code or "indicator(" in code,
        code.count("(") == code.count(")"),
        "ta." in code or "strategy." in code,
    ]


def syntax_score(code: str) -> float:
    """Share of the guide's checks passed, 0-1 (its `check_pinescript_syntax`)."""
    checks = syntax_checks(code)
    return sum(checks) / len(checks)


@functools.lru_cache(maxsize=4096)
def parses(code: str) -> bool:
    """Whether pynescript parses the code as a Pine script (cached per code string)."""
    if not code.strip():
        return False
    from pynescript.ast import parse

    try:
        parse(code)
    except Exception:  # pynescript raises SyntaxError, and ANTLR internals on odd input
        return False
    return True


def pine_metrics(generations: Sequence[str]) -> tuple[float | None, float | None]:
    """(mean syntax score, parse rate) over generated responses; (None, None) for no items."""
    if not generations:
        return None, None
    codes = [extract_code(g) for g in generations]
    score = sum(syntax_score(c) for c in codes) / len(codes)
    rate = sum(parses(c) for c in codes) / len(codes)
    return score, rate
