"""Ownership is an ownerReference with the owner's uid, decided in one function."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import pytest

from tradetune.operator.ownership import owned_by

OPERATOR = Path(__file__).resolve().parents[3] / "tradetune" / "operator"


def obj(*refs: dict[str, Any]) -> dict[str, Any]:
    return {"metadata": {"name": "x", "ownerReferences": list(refs)}}


@pytest.mark.parametrize(
    ("body", "uid", "owned"),
    [
        (obj({"uid": "u1"}), "u1", True),
        (obj({"uid": "u0"}, {"uid": "u1"}), "u1", True),
        (obj({"uid": "u2"}), "u1", False),
        ({"metadata": {"name": "x"}}, "u1", False),
        ({}, "u1", False),
        (obj({"name": "x"}), None, False),  # a reference without a uid is not ours when we have none
        (obj({"uid": ""}), "", False),
        ({"metadata": {"ownerReferences": ["u1"]}}, "u1", False),
    ],
)
def test_owned_by(body: dict[str, Any], uid: str | None, owned: bool) -> None:
    assert owned_by(body, uid) is owned


def test_no_other_operator_module_reads_owner_references() -> None:
    """The reconcilers and the runtime all ask `owned_by`; none reads ownerReferences itself."""
    readers = []
    for path in OPERATOR.rglob("*.py"):
        if path.name == "ownership.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Constant) and node.value == "ownerReferences":
                readers.append(path.relative_to(OPERATOR).as_posix())
    assert readers == ["builders/common.py"]  # the one place that writes them
