"""PineScript checks of generated code: the guide's string checks, a parse, and a v5 semantic check.

- `syntax_score` (pineSyntaxScore): the guide's four string checks, kept for continuity;
- `parses` (pineParseRate): pynescript's grammar accepts the program;
- `check_code` / `check_programs` (pineValidRate): it parses *and* passes a semantic pass over
  the AST (built-in names and arity from a v5 table, declarations and scopes, v5 version
  rules), the mistakes a compiler refuses and a grammar does not see.
pynescript is imported only when a program is parsed.
"""

from tradetune.evaluation.pine.builtins import Builtins, Signature, builtins_v5
from tradetune.evaluation.pine.check import CheckResult, check_code
from tradetune.evaluation.pine.findings import CODES, Finding
from tradetune.evaluation.pine.guide import PINE_TASKS, extract_code, syntax_checks, syntax_score
from tradetune.evaluation.pine.metrics import PineMetrics, parses, pine_metrics, pine_report
from tradetune.evaluation.pine.runner import check_programs

__all__ = [
    "CODES",
    "PINE_TASKS",
    "Builtins",
    "CheckResult",
    "Finding",
    "PineMetrics",
    "Signature",
    "builtins_v5",
    "check_code",
    "check_programs",
    "extract_code",
    "parses",
    "pine_metrics",
    "pine_report",
    "syntax_checks",
    "syntax_score",
]
