"""What the checker reports: a finding per mistake, with its line, code and message.

Codes are stable (tests and users grep for them); `CODES` is the one list of them, with the
rule each stands for, and docs/evaluation-pine.md repeats it for users.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Severity = Literal["error", "warning"]

CODES: dict[str, str] = {
    "PINE-E001": "syntax error: the program does not parse",
    "PINE-E002": "the check ran past its time limit",
    "PINE-E003": "empty program",
    "PINE-E101": "unknown function",
    "PINE-E102": "unknown built-in variable or constant",
    "PINE-E103": "undefined variable",
    "PINE-E104": "unknown method",
    "PINE-E201": "required argument missing",
    "PINE-E202": "unknown keyword argument",
    "PINE-E203": "too many arguments",
    "PINE-E204": "argument given twice",
    "PINE-E301": "`:=` (or +=, -=, ...) on a variable not declared in scope",
    "PINE-E302": "variable declared twice in the same scope",
    "PINE-E303": "a function cannot modify a global variable with `:=`",
    "PINE-W301": "declaration shadows a variable of an enclosing scope (did you mean `:=`?)",
    "PINE-E401": "a Pine v4 form in a v5 script",
    "PINE-E402": "strategy.* call in a script that is not a strategy()",
    "PINE-E403": "no indicator(), strategy() or library() declaration",
    "PINE-E404": "more than one indicator()/strategy()/library() declaration",
    "PINE-E405": "no //@version=5 annotation",
    "PINE-E406": "the script declares another Pine version than 5",
}


@dataclass(frozen=True, order=True)
class Finding:
    """One mistake: `line` is 1-based (0 when it concerns the whole program)."""

    line: int
    code: str
    message: str
    severity: Severity = "error"

    def __str__(self) -> str:
        return f"{self.line}: {self.code} {self.message}"

    def to_tuple(self) -> tuple[int, str, str, str]:
        """A picklable, JSON-friendly form (the process pool sends findings as tuples)."""
        return (self.line, self.code, self.message, self.severity)

    @classmethod
    def from_tuple(cls, t: tuple[int, str, str, str] | list[object]) -> Finding:
        line, code, message, severity = t
        return cls(int(str(line)), str(code), str(message), "warning" if severity == "warning" else "error")


def error(line: int, code: str, message: str) -> Finding:
    if code not in CODES:
        raise ValueError(f"unknown Pine finding code {code!r}: add it to CODES")
    return Finding(line, code, message, "warning" if code.startswith("PINE-W") else "error")
