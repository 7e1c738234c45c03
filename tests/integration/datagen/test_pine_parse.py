"""Every PineScript template and parameter shape the generator writes parses with pynescript.

pynescript is kept off the generation path; this test is where it checks the templates. One
parser warm-up per session (ANTLR builds its tables on the first parse, several seconds),
then one program per shape plus a sample of generated records.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tradetune.datagen import TASKS, generate_records
from tradetune.datagen._fam_pine import BREAKAGES, SYNTAX_BREAKAGES
from tradetune.datagen._pine import draw_indicator, draw_strategy, indicator_code, strategy_code

pytestmark = pytest.mark.slow

Parse = Callable[[str], None]


@pytest.fixture(scope="session")
def parse() -> Parse:
    from pynescript.ast import parse as pyne_parse

    pyne_parse('//@version=5\nindicator("warm-up")\nplot(close)\n')

    def _parse(code: str) -> None:
        pyne_parse(code)

    return _parse


def _failures(parse: Parse, programs: list[tuple[str, str]]) -> list[str]:
    failed = []
    for name, code in programs:
        try:
            parse(code)
        except Exception as exc:  # pynescript raises its own SyntaxError subclasses
            failed.append(f"{name}: {str(exc).splitlines()[0]}")
    return failed


def test_every_template_shape_parses(parse: Parse) -> None:
    programs = [shape for task in ("pine_strategy", "pine_indicator") for shape in TASKS[task].pine_shapes()]
    assert (
        len(programs) > 300
    )  # 9 strategy kinds (4 MA types) × stops × sizing × direction, 12 indicator kinds
    assert _failures(parse, programs) == []


def test_generated_pine_records_parse(parse: Parse) -> None:
    records = list(generate_records(60, seed=2024, tasks=["pine_strategy", "pine_indicator", "pine_repair"]))
    programs = [(f"{r['task']}#{i}", r["response"].split("\n---\n")[0]) for i, r in enumerate(records)]
    explained = list(generate_records(10, seed=2024, tasks=["strategy_explanation"]))
    programs += [(f"explained#{i}", r["instruction"].split("\n\n", 1)[1]) for i, r in enumerate(explained)]
    assert _failures(parse, programs) == []


@pytest.mark.parametrize("breakage", sorted(SYNTAX_BREAKAGES))
def test_syntax_breakages_really_break(parse: Parse, breakage: str) -> None:
    """Repair items that claim a syntax error hand the model code the parser rejects."""
    import random

    rng = random.Random(5)
    _, applies, breaker, _, _ = next(b for b in BREAKAGES if b[0] == breakage)
    code = strategy_code(draw_strategy(rng, "macd", sl=True, tp=True, sizing="risk", direction="both"))
    if applies not in code:
        code = indicator_code(draw_indicator(rng, "rsi", alerts=True, highlight=True))
    parse(code)
    broken = breaker(code, rng)
    assert broken != code
    with pytest.raises(Exception):  # noqa: B017 - pynescript's SyntaxError is not builtins.SyntaxError
        parse(broken)
