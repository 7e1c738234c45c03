"""Do a call's arguments fit a signature? Positional then keyword, as Pine binds them."""

from __future__ import annotations

from collections.abc import Sequence

from tradetune.evaluation.pine.builtins import Signature


def misfit(sig: Signature, positional: int, keywords: Sequence[str]) -> list[tuple[str, str]]:
    """(code, detail) for each way the call does not fit `sig`; empty when it fits."""
    problems: list[tuple[str, str]] = []
    names = sig.names
    if positional > len(names) and not sig.open_ended:
        problems.append(
            ("PINE-E203", f"{positional} positional arguments given, it takes at most {len(names)}")
        )
    bound = set(names[:positional])
    for kw in keywords:
        if kw not in names:
            if not sig.open_ended:
                problems.append(("PINE-E202", f"unknown keyword argument '{kw}'"))
        elif kw in bound:
            problems.append(("PINE-E204", f"argument '{kw}' given twice"))
        bound.add(kw)
    for p in sig.params:
        if p.required and p.name not in bound:
            problems.append(("PINE-E201", f"required argument '{p.name}' missing"))
    return problems


def best_misfit(
    overloads: Sequence[Signature], positional: int, keywords: Sequence[str]
) -> list[tuple[str, str]]:
    """Empty when some overload fits; otherwise the problems of the closest one (fewest problems)."""
    best: list[tuple[str, str]] | None = None
    for sig in overloads:
        problems = misfit(sig, positional, keywords)
        if not problems:
            return []
        if best is None or len(problems) < len(best):
            best = problems
    return best or []
