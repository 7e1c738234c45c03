"""values.schema.json: every value covered, bad values refused by helm with the schema's message."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from tests.integration.chart._support import CHART, Helm, load_yaml

SCHEMA = json.loads((CHART / "values.schema.json").read_text(encoding="utf-8"))


def _resolve(node: dict[str, Any]) -> dict[str, Any]:
    ref = node.get("$ref")
    if ref:
        target: dict[str, Any] = SCHEMA
        for part in ref.removeprefix("#/").split("/"):
            target = target[part]
        return target
    return node


def _schema_for(path: list[str]) -> dict[str, Any]:
    """The sub-schema that governs the value at `path` (keys and list indexes as strings)."""
    node: dict[str, Any] = SCHEMA
    for key in path:
        node = _resolve(node)
        if "items" in node and key.isdigit():
            node = node["items"]
        elif key in node.get("properties", {}):
            node = node["properties"][key]
        elif isinstance(node.get("additionalProperties"), dict):
            node = node["additionalProperties"]
        else:
            raise AssertionError(f"values.yaml key {'.'.join(path)} is not described in values.schema.json")
    return _resolve(node)


def _walk(value: Any, path: list[str]) -> list[list[str]]:
    paths = [path]
    if isinstance(value, dict):
        for key, child in value.items():
            paths += _walk(child, [*path, str(key)])
    elif isinstance(value, list):
        for index, child in enumerate(value):
            paths += _walk(child, [*path, str(index)])
    return paths


def test_every_default_value_is_in_the_schema() -> None:
    values = load_yaml(CHART / "values.yaml")
    for path in _walk(values, []):
        node = _schema_for(path)
        assert {"type", "const", "enum"} & node.keys(), f"{'.'.join(path)} has no type in the schema"


def _objects(node: Any, where: str) -> list[tuple[str, dict[str, Any]]]:
    found = []
    if isinstance(node, dict):
        if node.get("type") == "object" and "properties" in node:
            found.append((where, node))
        for key, child in node.items():
            found += _objects(child, f"{where}/{key}")
    elif isinstance(node, list):
        for index, child in enumerate(node):
            found += _objects(child, f"{where}/{index}")
    return found


def test_schema_closes_every_object() -> None:
    """Unknown keys are errors at every level (additionalProperties false, or a typed map)."""
    objects = _objects(SCHEMA, "#")
    assert len(objects) > 20
    for where, node in objects:
        assert node.get("additionalProperties") is False or isinstance(
            node.get("additionalProperties"), dict
        ), where


def test_values_yaml_is_commented() -> None:
    """Every top-level value, and every scalar value one level below, has a comment right above it
    (the profiles and resources blocks are data, commented as a whole)."""
    lines = (CHART / "values.yaml").read_text(encoding="utf-8").splitlines()
    checked = 0
    block = ""
    for i, line in enumerate(lines):
        if re.match(r"^[A-Za-z]\w*:", line):
            block = line.split(":", 1)[0]
        elif not re.match(r"^  [A-Za-z]\w*: *\S", line) or block in {"profiles", "resources"}:
            continue
        assert lines[i - 1].lstrip().startswith("#"), f"values.yaml line {i + 1} ({line!r}) has no comment"
        checked += 1
    assert checked >= 40


BAD_VALUES = {
    "wrong type": ("replicaCount: two\n", "at '/replicaCount': got string, want integer"),
    "unknown key": ("replicas: 3\n", "additional properties 'replicas' not allowed"),
    "nested unknown key": (
        "profiles:\n  a100-80gb:\n    gpu: 2\n",
        "at '/profiles/a100-80gb': additional properties 'gpu' not allowed",
    ),
    "wrong nested type": (
        'serviceMonitor:\n  enabled: "yes"\n',
        "at '/serviceMonitor/enabled': got string, want boolean",
    ),
    "bad namespace name": ("watchNamespaces: [ML_Team]\n", "at '/watchNamespaces/0'"),
    "privilege escalation": (
        "securityContext:\n  allowPrivilegeEscalation: true\n",
        "at '/securityContext/allowPrivilegeEscalation'",
    ),
    "zero replicas": ("replicaCount: 0\n", "at '/replicaCount': minimum: got 0, want 1"),
}


@pytest.mark.parametrize(("text", "message"), list(BAD_VALUES.values()), ids=list(BAD_VALUES))
def test_bad_values_fail_with_the_schema_message(helm: Helm, tmp_path: Path, text: str, message: str) -> None:
    bad = tmp_path / "bad-values.yaml"
    bad.write_text(text, encoding="utf-8")
    proc = helm.run("template", "tt", str(CHART), "-f", str(bad), check=False)
    assert proc.returncode != 0
    assert "values don't meet the specifications of the schema" in proc.stderr
    assert message in proc.stderr, proc.stderr
    assert proc.stdout == ""
