"""The evaluation's PineScript numbers over generated responses: syntax score, parse and valid rates."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from tradetune.evaluation.pine.check import CheckResult, check_code
from tradetune.evaluation.pine.guide import extract_code, syntax_score
from tradetune.evaluation.pine.runner import DEFAULT_TIMEOUT_S, check_programs


@dataclass(frozen=True)
class PineMetrics:
    """pineSyntaxScore, pineParseRate and pineValidRate (None when there was nothing to check).

    pineParseRate counts whole scripts: the grammar accepts the code and it holds its
    declaration statement (`CheckResult.script`); pineValidRate adds the version and the
    semantic rules.
    """

    syntax_score: float | None
    parse_rate: float | None
    valid_rate: float | None
    results: tuple[CheckResult, ...] = ()


def parses(code: str) -> bool:
    """Whether pynescript parses the code as a whole Pine script, declaration included (cached)."""
    return check_code(code).script


def pine_report(
    generations: Sequence[str],
    *,
    workers: int | None = None,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    on_done: Callable[[int], None] | None = None,
) -> PineMetrics:
    """All three numbers over generated responses, each program checked once, in the pool."""
    if not generations:
        return PineMetrics(None, None, None)
    codes = [extract_code(g) for g in generations]
    results = check_programs(codes, workers=workers, timeout_s=timeout_s, on_done=on_done)
    n = len(codes)
    return PineMetrics(
        syntax_score=sum(syntax_score(c) for c in codes) / n,
        parse_rate=sum(r.script for r in results) / n,
        valid_rate=sum(r.valid for r in results) / n,
        results=tuple(results),
    )


def pine_metrics(generations: Sequence[str]) -> tuple[float | None, float | None]:
    """(mean syntax score, parse rate) over generated responses, in this process; (None, None) for none."""
    report = pine_report(generations, workers=0)
    return report.syntax_score, report.parse_rate
