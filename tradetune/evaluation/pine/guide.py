"""The guide's four PineScript string checks (`pineSyntaxScore`) and the code part of a response.

They are cheap and kept for continuity, but they pass code no Pine compiler would accept
(and fail most real scripts, which start with a licence comment): see check.py for the
real check.
"""

from __future__ import annotations

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
