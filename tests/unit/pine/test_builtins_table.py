"""The v5 built-ins table and the signature matching, without the parser (fast)."""

from __future__ import annotations

import pytest

from tradetune.evaluation.pine.arity import best_misfit, misfit
from tradetune.evaluation.pine.builtins import builtins_v5, parse_signature
from tradetune.evaluation.pine.findings import CODES, Finding, error

NAMESPACES = [
    *("ta", "math", "str", "strategy", "request", "array", "matrix", "map", "color", "line", "label"),
    *("box", "table", "chart", "syminfo", "timeframe", "barstate", "input", "ticker"),
]


def test_the_table_names_its_source_and_version() -> None:
    table = builtins_v5()
    assert table.version == 5
    assert "Reference Manual" in table.source


@pytest.mark.parametrize("namespace", NAMESPACES)
def test_every_namespace_the_issue_lists_is_in_the_table(namespace: str) -> None:
    table = builtins_v5()
    members = [n for n in [*table.functions, *table.variables] if n.startswith(namespace + ".")]
    assert namespace in table.namespaces and len(members) >= 3, members


def test_common_globals_are_present() -> None:
    table = builtins_v5()
    for fn in ("plot", "plotshape", "hline", "fill", "bgcolor", "alertcondition", "nz", "na", "indicator"):
        assert fn in table.functions
    for var in ("close", "open", "high", "low", "volume", "bar_index", "time", "hl2", "na"):
        assert var in table.variables


def test_every_v4_replacement_that_names_a_builtin_exists() -> None:
    table = builtins_v5()
    dotted = {old: new for old, new in table.v4_renamed.items() if " " not in new}
    missing = {old: new for old, new in dotted.items() if not table.is_known(new) and new != "indicator"}
    assert missing == {}
    assert not set(table.v4_renamed) & {n for n in table.functions if "." not in n}, (
        "a v4 name is a v5 global"
    )


def test_methods_come_from_the_method_namespaces() -> None:
    methods = builtins_v5().method_names
    assert {"push", "get", "size", "put", "set_x1", "cell"} <= methods


def test_signature_notation() -> None:
    sig = parse_signature("source, length, biased?")
    assert [(p.name, p.required) for p in sig.params] == [
        ("source", True),
        ("length", True),
        ("biased", False),
    ]
    assert not sig.open_ended and parse_signature("number0, ...").open_ended
    assert parse_signature("").params == ()


def test_misfit_names_each_way_a_call_fails() -> None:
    sma = parse_signature("source, length")
    assert misfit(sma, 2, []) == []
    assert misfit(sma, 1, []) == [("PINE-E201", "required argument 'length' missing")]
    assert misfit(sma, 1, ["length"]) == []
    assert misfit(sma, 1, ["lenght"])[0] == ("PINE-E202", "unknown keyword argument 'lenght'")
    assert misfit(sma, 3, [])[0][0] == "PINE-E203"
    assert misfit(sma, 2, ["source"]) == [("PINE-E204", "argument 'source' given twice")]
    assert misfit(parse_signature("number0, number1, ..."), 5, ["anything"]) == []


def test_an_overload_that_fits_wins() -> None:
    highest = builtins_v5().functions["ta.highest"]
    assert best_misfit(highest, 1, []) == [] and best_misfit(highest, 2, []) == []
    assert [code for code, _ in best_misfit(highest, 0, [])] == ["PINE-E201"]


def test_findings_render_as_line_code_message() -> None:
    f = error(3, "PINE-E101", "unknown function strategy.entri")
    assert str(f) == "3: PINE-E101 unknown function strategy.entri"
    assert Finding.from_tuple(f.to_tuple()) == f
    assert error(1, "PINE-W301", "x").severity == "warning"
    assert all(code.startswith(("PINE-E", "PINE-W")) for code in CODES)
    with pytest.raises(ValueError, match="PINE-E999"):
        error(1, "PINE-E999", "not a code")
