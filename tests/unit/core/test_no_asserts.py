"""Production code checks its invariants with `require`, never `assert` (python -O strips it)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tradetune.errors import InternalError, RuntimeFailure, require

PACKAGE = Path(__file__).resolve().parents[3] / "tradetune"


def test_no_assert_statement_in_the_package() -> None:
    found = [
        f"{path.relative_to(PACKAGE)}:{node.lineno}"
        for path in sorted(PACKAGE.rglob("*.py"))
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Assert)
    ]
    assert found == []


def test_require_returns_the_value_or_fails_as_a_runtime_failure_naming_it() -> None:
    assert require(0, "zero") == 0  # falsy values are values
    with pytest.raises(InternalError, match=r"spec\.promote is missing") as err:
        require(None, "spec.promote")
    assert isinstance(err.value, RuntimeFailure) and err.value.reason == "InternalError"
