"""`kubectl explain` for TradeTune's kinds, rendered from the generated CRD schema.

Works without a cluster (`tradetune explain ftj.spec.training`), and renders the field
reference in docs/api-reference.md, so the docs say exactly what the API server knows.
"""

from __future__ import annotations

import json
import textwrap
from typing import Any

from tradetune.errors import InvalidInput

Schema = dict[str, Any]

_ALIASES = {
    "finetunejob": "FineTuneJob",
    "finetunejobs": "FineTuneJob",
    "ftj": "FineTuneJob",
    "modelserve": "ModelServe",
    "modelserves": "ModelServe",
    "mserve": "ModelServe",
}


def _crd(kind: str) -> Schema:
    from tradetune.api._crd import finetunejob_crd, modelserve_crd

    return finetunejob_crd() if kind == "FineTuneJob" else modelserve_crd()


def type_name(node: Schema) -> str:
    """kubectl's spelling of a schema type: <string>, <[]Object>, <map[string]string>, ..."""
    if node.get("x-kubernetes-int-or-string"):
        return "IntOrString"
    kind = node.get("type", "Object")
    if kind == "array":
        inner = type_name(node.get("items", {}))
        return f"[]{inner}"
    if kind == "object":
        extra = node.get("additionalProperties")
        if isinstance(extra, dict):
            return f"map[string]{type_name(extra)}"
        return "Object"
    return str(kind)


def _facts(node: Schema) -> list[str]:
    facts = []
    if "default" in node and node["default"] not in ({}, []):
        facts.append(f"default: {json.dumps(node['default'])}")
    if "enum" in node:
        facts.append("enum: " + ", ".join(str(v) for v in node["enum"]))
    low, high = node.get("minimum"), node.get("maximum")
    if low is not None:
        facts.append(f"minimum: {low}" + (" (exclusive)" if node.get("exclusiveMinimum") else ""))
    if high is not None:
        facts.append(f"maximum: {high}" + (" (exclusive)" if node.get("exclusiveMaximum") else ""))
    if "pattern" in node:
        facts.append(f"pattern: {node['pattern']}")
    for rule in node.get("x-kubernetes-validations", []):
        facts.append(f"rule: {rule['message']}  [{rule['rule']}]")
    return facts


def resolve(target: str) -> tuple[str, list[str]]:
    """'ftj.spec.training' -> ('FineTuneJob', ['spec', 'training'])."""
    head, *path = target.split(".")
    kind = _ALIASES.get(head.lower())
    if kind is None:
        raise InvalidInput(f"{target}: unknown resource {head!r} (use finetunejob/ftj or modelserve/mserve)")
    return kind, path


def _walk(root: Schema, kind: str, path: list[str]) -> Schema:
    node = root
    for i, part in enumerate(path):
        while node.get("type") == "array":
            node = node.get("items", {})
        props = node.get("properties", {})
        if part not in props:
            where = ".".join([kind.lower(), *path[:i]])
            known = ", ".join(props) or "none"
            raise InvalidInput(f"field {part!r} does not exist in {where} (fields: {known})")
        node = props[part]
    return node


def explain(target: str, *, recursive: bool = False) -> str:
    """Text in the shape of `kubectl explain TARGET` (plus defaults, enums, bounds and rules)."""
    kind, path = resolve(target)
    crd = _crd(kind)
    version = crd["spec"]["versions"][0]
    root = version["schema"]["openAPIV3Schema"]
    node = _walk(root, kind, path)
    lines = [
        f"GROUP:      {crd['spec']['group']}",
        f"KIND:       {kind}",
        f"VERSION:    {version['name']}",
        "",
    ]
    if path:
        lines += [f"FIELD: {path[-1]} <{type_name(node)}>", ""]
    lines.append("DESCRIPTION:")
    lines += textwrap.wrap(
        node.get("description", "<empty>"), 76, initial_indent="    ", subsequent_indent="    "
    )
    facts = _facts(node)
    if facts:
        lines.append("")
        for fact in facts:
            lines += textwrap.wrap(fact, 76, initial_indent="    ", subsequent_indent="      ")
    body = node
    while body.get("type") == "array":
        body = body.get("items", {})
    if body.get("properties"):
        lines += ["", "FIELDS:"]
        lines += _fields(body, 1, recursive)
    return "\n".join(lines) + "\n"


def _fields(node: Schema, depth: int, recursive: bool) -> list[str]:
    required = set(node.get("required", []))
    pad = "  " * depth
    out: list[str] = []
    for name, child in node.get("properties", {}).items():
        flag = " -required-" if name in required else ""
        out.append(f"{pad}{name}\t<{type_name(child)}>{flag}")
        if recursive:
            inner = child
            while inner.get("type") == "array":
                inner = inner.get("items", {})
            out += _fields(inner, depth + 1, True)
        else:
            for line in textwrap.wrap(
                child.get("description", ""), 76, initial_indent=pad + "  ", subsequent_indent=pad + "  "
            ):
                out.append(line)
            out.append("")
    return out


def _rows(node: Schema, prefix: str) -> list[tuple[str, Schema, bool]]:
    rows: list[tuple[str, Schema, bool]] = []
    required = set(node.get("required", []))
    for name, child in node.get("properties", {}).items():
        path = f"{prefix}.{name}" if prefix else name
        rows.append((path, child, name in required))
        inner = child
        suffix = ""
        while inner.get("type") == "array":
            inner, suffix = inner.get("items", {}), suffix + "[]"
        if inner.get("properties"):
            rows += _rows(inner, path + suffix)
    return rows


def _md_fact(fact: str) -> str:
    name, _, value = fact.partition(": ")
    return f"{name} `{value}`" if name in ("pattern", "default") else f"*{fact}*"


def markdown_reference() -> str:
    """The field reference of both kinds as Markdown tables (docs/api-reference.md)."""
    out = [
        "# API field reference",
        "",
        "Generated by `tradetune explain --markdown --output docs/api-reference.md` from the CRD",
        "schema, which is generated from the models in `tradetune/api`; a test fails when this file",
        "is stale. For one field, run",
        "`tradetune explain ftj.spec.training.learningRate` (or `kubectl explain` against a cluster).",
        "",
    ]
    for kind in ("FineTuneJob", "ModelServe"):
        root = _crd(kind)["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
        out += [f"## {kind}", "", root.get("description", ""), ""]
        for part in ("spec", "status"):
            out += [f"### {kind} `{part}`", "", "| Field | Type | Description |", "| --- | --- | --- |"]
            for path, node, required in _rows(root["properties"][part], part):
                text = node.get("description", "")
                facts = [f for f in _facts(node) if not f.startswith("rule:")]
                rules = [r["message"] for r in node.get("x-kubernetes-validations", [])]
                if required:
                    facts.insert(0, "required")
                if facts:
                    text += " " + "; ".join(_md_fact(f) for f in facts)
                if rules:
                    text += " Rules: " + "; ".join(rules) + "."
                text = text.replace("|", "\\|")
                out.append(f"| `{path}` | `{type_name(node)}` | {text} |")
            out.append("")
    return "\n".join(out)
