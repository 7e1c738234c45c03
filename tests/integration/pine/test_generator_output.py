"""The generator's own PineScript passes the check, and every checked mutation of it is caught.

- every template shape (and a sample of records, repair answers and explained programs) has no
  finding at all;
- the repair family's deliberate breakages are invalid, with the code of the rule they break;
- mutations of generated programs (rename a built-in, drop a declaration, remove a required
  argument, swap := and =) are tried at every site in a sample of programs: each is caught,
  on the right line, with the right code.
"""

from __future__ import annotations

import random

import pytest

from tests.integration.pine.mutations import KINDS
from tradetune.datagen import TASKS, generate_records
from tradetune.datagen._fam_pine import BREAKAGES
from tradetune.evaluation.pine import check_code

pytestmark = pytest.mark.slow

SHAPES = [shape for task in ("pine_strategy", "pine_indicator") for shape in TASKS[task].pine_shapes()]


def _findings(programs: list[tuple[str, str]]) -> list[str]:
    return [f"{name}: {f}" for name, code in programs for f in check_code(code).findings]


def test_every_template_shape_passes_the_check() -> None:
    assert len(SHAPES) > 300
    assert _findings(SHAPES) == []


def test_generated_records_pass_the_check() -> None:
    records = list(generate_records(60, seed=2024, tasks=["pine_strategy", "pine_indicator", "pine_repair"]))
    programs = [(f"{r['task']}#{i}", r["response"].split("\n---\n")[0]) for i, r in enumerate(records)]
    explained = list(generate_records(10, seed=2024, tasks=["strategy_explanation"]))
    programs += [(f"explained#{i}", r["instruction"].split("\n\n", 1)[1]) for i, r in enumerate(explained)]
    assert _findings(programs) == []


# The code each repair breakage must produce. `entry_direction_bool` (true where strategy.long is
# expected) is a type error: the check has no types, so it is not expected to catch it.
BREAKAGE_CODES = {
    "missing_version": "PINE-E405",
    "study_v4": "PINE-E401",
    "no_namespace": "PINE-E401",
    "missing_paren": "PINE-E001",
    "unindented_block": "PINE-E001",
    "v4_input": "PINE-E202",
    "unterminated_string": "PINE-E001",
    "reassign_with_equals": "PINE-E302",
    "transp_argument": "PINE-E202",
    "bare_colour": "PINE-E401",
}


@pytest.mark.parametrize("breakage", sorted(BREAKAGE_CODES))
def test_repair_breakages_fail_with_their_code(breakage: str) -> None:
    _, applies, breaker, _, _ = next(b for b in BREAKAGES if b[0] == breakage)
    # the first template shape the breakage applies to and changes
    code, broken = next(
        (code, broken)
        for _, code in SHAPES
        if applies in code and (broken := breaker(code, random.Random(5))) != code
    )
    assert check_code(code).valid
    result = check_code(broken)
    assert not result.valid
    assert BREAKAGE_CODES[breakage] in {f.code for f in result.findings}, [str(f) for f in result.findings]


def _sample_programs() -> list[tuple[str, str]]:
    """One program per strategy kind and per indicator kind, with every option on."""
    by_kind: dict[str, tuple[str, str]] = {}
    for name, code in SHAPES:
        kind = name.split("/")[1]
        if "True" in name and ("/both" in name or name.startswith("indicator")):
            by_kind.setdefault(kind, (name, code))
    return sorted(by_kind.values())


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_every_mutation_of_a_checked_kind_is_caught(kind: str) -> None:
    tried = 0
    missed = []
    for name, code in _sample_programs():
        for mutated, line, codes in KINDS[kind](code):
            tried += 1
            got = {(f.line, f.code) for f in check_code(mutated).findings}
            if not any((line, c) in got for c in codes):
                missed.append(f"{name} line {line}: expected {sorted(codes)}, got {sorted(got)}")
    assert tried >= 20, f"too few {kind} sites to mean anything"
    assert missed == []
