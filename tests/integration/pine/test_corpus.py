"""The checker on programs we wrote: every v5 construct passes, every broken rule is caught.

The valid corpus (corpus/*.pine) covers the v5 constructs a model writes: type, method, enum,
import/export, switch, for...in, arrays, maps, request.security, multi-line calls and tabs.
Each broken variant below breaks one rule and must fail with that rule's code on its line.
pynescript's first parses in a process are slow (ANTLR warm-up), hence the slow mark.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tradetune.evaluation.pine import CODES, check_code

pytestmark = pytest.mark.slow

CORPUS = Path(__file__).parent / "corpus"
PROGRAMS = sorted(CORPUS.glob("*.pine"))
I = '//@version=5\nindicator("t")\n'  # noqa: E741 - header of an indicator, line 3 is the first body line
S = '//@version=5\nstrategy("t")\n'


@pytest.mark.parametrize("path", PROGRAMS, ids=lambda p: p.stem)
def test_corpus_program_passes_without_findings(path: Path) -> None:
    result = check_code(path.read_text())
    assert result.parsed and result.valid
    assert [str(f) for f in result.findings] == []


def _node_kinds(code: str) -> set[str]:
    from pynescript.ast import parse, walk

    kinds = set()
    for node in walk(parse(code)):
        kinds.add(type(node).__name__)
        if type(node).__name__ == "FunctionDef":
            kinds |= {"method"} if node.method else set()
            kinds |= {"export"} if node.export else set()
        if type(node).__name__ == "ForIn" and type(node.target).__name__ == "Tuple":
            kinds.add("ForIn-tuple")
        if type(node).__name__ == "Call" and (node.end_lineno or node.lineno) > node.lineno:
            kinds.add("multi-line call")
    return kinds


def test_the_corpus_covers_every_v5_construct() -> None:
    kinds: set[str] = set()
    text = ""
    for path in PROGRAMS:
        code = path.read_text()
        text += code
        kinds |= _node_kinds(code)
    wanted = {"TypeDef", "EnumDef", "method", "export", "Import", "Switch", "ForIn", "ForIn-tuple", "ForTo"}
    wanted |= {"While", "Specialize", "multi-line call", "Conditional", "Subscript", "AugAssign", "ReAssign"}
    assert wanted - kinds == set()
    for source in ("request.security(", "array.", "map.new<", "library(", "strategy(", "varip ", "\n\t"):
        assert source in text, source


BROKEN: list[tuple[str, str, int, str]] = [
    # (name, program, line, code)
    ("syntax", I + "plot(close))\nplot(open)\n", 3, "PINE-E001"),
    ("one-line function without =>", I + "f(x) x * 2\nplot(f(close))\n", 3, "PINE-E001"),
    ("empty", "   \n", 0, "PINE-E003"),
    ("misspelled strategy function", S + 'strategy.entri("L", strategy.long)\n', 3, "PINE-E101"),
    ("unknown global function", I + "plot(smma(close, 3))\n", 3, "PINE-E101"),
    ("unknown ta function", I + "x = ta.smaa(close, 3)\n", 3, "PINE-E101"),
    ("misspelled constant", I + "plot(close, color=color.bleu)\n", 3, "PINE-E102"),
    ("unknown enum member", I + "enum E\n    a\n    b\nx = E.c\n", 6, "PINE-E102"),
    ("undefined variable", I + "plot(fastMa)\n", 3, "PINE-E103"),
    ("used before declared", I + "plot(x)\nx = close\n", 3, "PINE-E103"),
    ("block variable used outside", I + "if close > open\n    y = 1\nplot(y)\n", 5, "PINE-E103"),
    ("unknown method", I + "a = array.new_float()\na.pushh(close)\n", 4, "PINE-E104"),
    ("missing required argument", I + "x = ta.sma(close)\n", 3, "PINE-E201"),
    ("missing argument of own function", I + "f(a, b) => a + b\nplot(f(close))\n", 4, "PINE-E201"),
    ("unknown keyword", I + "plot(close, colour=color.red)\n", 3, "PINE-E202"),
    ("unknown keyword of input", I + 'x = input.int(5, "n", minimum=1)\n', 3, "PINE-E202"),
    ("too many arguments", I + "x = ta.rsi(close, 14, 2)\n", 3, "PINE-E203"),
    ("argument twice", I + "x = ta.sma(close, 14, source=open)\n", 3, "PINE-E204"),
    ("reassign undeclared", I + "x := close\n", 3, "PINE-E301"),
    ("augmented undeclared", I + "total += close\n", 3, "PINE-E301"),
    ("duplicate declaration", I + "x = 1\nx = 2\n", 4, "PINE-E302"),
    ("duplicate in a block", I + "if true\n    y = 1\n    y = 2\n", 5, "PINE-E302"),
    ("global modified in function", I + "c = 0\nf() =>\n    c := c + 1\n", 5, "PINE-E303"),
    ("study in v5", '//@version=5\nstudy("t")\nplot(close)\n', 2, "PINE-E401"),
    ("v4 rsi", I + "r = rsi(close, 14)\n", 3, "PINE-E401"),
    ("v4 sma", I + "r = sma(close, 14)\n", 3, "PINE-E401"),
    ("v4 security", I + 'r = security(syminfo.tickerid, "D", close)\n', 3, "PINE-E401"),
    ("v4 colour", I + "plot(close, color=red)\n", 3, "PINE-E401"),
    ("strategy call in indicator", I + 'strategy.entry("L", strategy.long)\n', 3, "PINE-E402"),
    ("strategy call in library", '//@version=5\nlibrary("l")\nstrategy.close_all()\n', 3, "PINE-E402"),
    ("no declaration", "//@version=5\nplot(close)\n", 1, "PINE-E403"),
    ("two declarations", I + 'strategy("again")\n', 3, "PINE-E404"),
    ("no version", 'indicator("t")\nplot(close)\n', 1, "PINE-E405"),
    ("version 4", '//@version=4\nindicator("t")\nplot(close)\n', 1, "PINE-E406"),
]


@pytest.mark.parametrize(("name", "program", "line", "code"), BROKEN, ids=[b[0] for b in BROKEN])
def test_broken_variant_fails_with_its_code(name: str, program: str, line: int, code: str) -> None:
    result = check_code(program)
    assert not result.valid
    assert (line, code) in [(f.line, f.code) for f in result.findings], [str(f) for f in result.findings]


def test_every_error_code_has_a_broken_variant() -> None:
    covered = {b[3] for b in BROKEN} | {"PINE-E002"}  # the timeout: test_runner.py
    assert {c for c in CODES if c.startswith("PINE-E")} == covered


def test_shadowing_is_a_warning_not_an_error() -> None:
    result = check_code(I + "x = 0\nif close > open\n    x = 1\nplot(x)\n")
    assert result.valid
    assert [(f.line, f.code, f.severity) for f in result.findings] == [(5, "PINE-W301", "warning")]


def test_findings_name_a_fix() -> None:
    (f,) = check_code(S + 'strategy.entri("L", strategy.long)\n').findings
    assert str(f) == "3: PINE-E101 unknown function strategy.entri (did you mean strategy.entry?)"
    (v4,) = check_code(I + "r = rsi(close, 14)\n").findings
    assert "ta.rsi" in v4.message
