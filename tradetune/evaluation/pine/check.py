"""Check one Pine v5 program: parse with pynescript, then the version, declaration and semantic rules.

`check_code` is the in-process entry point, cached per program text (pynescript's parser is
slow on constructs it has not met yet in the process, and an evaluation run sees the same
programs often). The process pool in `runner` bounds the time of each check.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Any

from tradetune.errors import require
from tradetune.evaluation.pine.builtins import builtins_v5
from tradetune.evaluation.pine.findings import Finding, error
from tradetune.evaluation.pine.semantics import SemanticPass

_VERSION = re.compile(r"^\s*//\s*@version\s*=\s*(\d+)\s*$", re.MULTILINE)
PARSE_CODES = frozenset({"PINE-E001", "PINE-E002", "PINE-E003"})
NO_DECLARATION = "PINE-E403"


@dataclass(frozen=True)
class CheckResult:
    """Findings of one program; `parsed` says whether pynescript accepted its grammar."""

    findings: tuple[Finding, ...]
    parsed: bool

    @property
    def script(self) -> bool:
        """Parses and declares itself (indicator/strategy/library): a program, not a fragment.

        pynescript's grammar accepts a lone `plot(close, 10)`; TradingView does not (every
        script holds one declaration statement), and a model that answers "write an RSI
        indicator" with such a line has not written a program. `pineParseRate` counts these.
        """
        return self.parsed and not any(f.code == NO_DECLARATION for f in self.findings)

    @property
    def valid(self) -> bool:
        """Parses and no error (warnings do not make a program invalid)."""
        return self.parsed and not any(f.severity == "error" for f in self.findings)

    @property
    def errors(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.severity == "error")


def parse_program(code: str) -> tuple[Any | None, Finding | None]:
    """(pynescript Script, None), or (None, the syntax-error finding with its line)."""
    from pynescript.ast import parse
    from pynescript.ast.error import SyntaxError as PineSyntaxError

    try:
        return parse(code), None
    except PineSyntaxError as exc:
        details = getattr(exc, "details", None)
        line = int(details.lineno) if details is not None else 0
        return None, error(line, "PINE-E001", f"syntax error: {exc.message}")
    except Exception as exc:  # ANTLR internals on odd input (RecursionError, IndexError...)
        return None, error(0, "PINE-E001", f"syntax error: the parser gave up ({type(exc).__name__})")


def version_findings(code: str) -> list[Finding]:
    """PINE-E405/E406: the script must say //@version=5."""
    match = _VERSION.search(code)
    if match is None:
        return [error(1, "PINE-E405", "no //@version=5 annotation: add '//@version=5' as the first line")]
    if match.group(1) != "5":
        line = code.count("\n", 0, match.start()) + 1
        return [
            error(
                line,
                "PINE-E406",
                f"the script declares //@version={match.group(1)}; this check is for Pine v5",
            )
        ]
    return []


def declaration_kind(script: Any) -> tuple[str | None, list[Finding]]:
    """The script's kind (indicator/strategy/library) and PINE-E403/E404 findings."""
    names = {*builtins_v5().declarations, "study"}
    calls = [
        stmt.value
        for stmt in script.body or []
        if type(stmt).__name__ == "Expr"
        and type(stmt.value).__name__ == "Call"
        and type(stmt.value.func).__name__ == "Name"
        and stmt.value.func.id in names
    ]
    if not calls:
        return None, [
            error(
                1,
                NO_DECLARATION,
                "no declaration: the script needs one indicator(), strategy() or library() call",
            )
        ]
    kinds = ["indicator" if c.func.id == "study" else c.func.id for c in calls]
    extra = [
        error(int(c.lineno), "PINE-E404", f"second declaration {c.func.id}(): a script has exactly one")
        for c in calls[1:]
    ]
    return kinds[0], extra


@functools.lru_cache(maxsize=8192)
def check_code(code: str) -> CheckResult:
    """All findings of one program (cached per text). No time bound: see runner.check_programs."""
    if not code.strip():
        return CheckResult((error(0, "PINE-E003", "empty program"),), parsed=False)
    script, syntax = parse_program(code)
    if script is None:
        return CheckResult((require(syntax, "the syntax finding of an unparsed program"),), parsed=False)
    kind, findings = declaration_kind(script)
    findings = version_findings(code) + findings + SemanticPass(kind).run(script)
    return CheckResult(tuple(sorted(findings)), parsed=True)
