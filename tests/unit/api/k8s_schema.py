"""What the API server does with a CRD schema, enough to test ours without a cluster.

- `apply_defaults`: structural defaulting (nulls pruned, defaults filled in, recursively);
- `json_schema`: the openAPIV3Schema as a JSON Schema (draft 4, whose boolean exclusive
  bounds match OpenAPI v3.0) with unknown fields rejected, like `kubectl apply --validate=strict`;
- `cel_rules` / `cel_failures`: every `x-kubernetes-validations` rule, evaluated with cel-python
  on the values at its place in the object, numbers typed by the schema as Kubernetes does,
  transition rules only where the old object has a value.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from functools import cache
from typing import Any

import celpy
import jsonschema

from tradetune.api._crd import crd_documents

Schema = dict[str, Any]


@cache
def crd(kind: str) -> Schema:
    file = {"FineTuneJob": "finetunejobs.yaml", "ModelServe": "modelserves.yaml"}[kind]
    return crd_documents()[file][0]


def openapi(kind: str) -> Schema:
    """The CRD's openAPIV3Schema (cached: callers must not change it)."""
    schema: Schema = crd(kind)["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    return schema


def apply_defaults(schema: Schema, value: Any) -> Any:
    """Prune nulls and fill in defaults, as the API server does on create/update."""
    if isinstance(value, dict) and schema.get("type") == "object":
        out = {k: v for k, v in value.items() if v is not None}
        for name, child in schema.get("properties", {}).items():
            if name not in out and "default" in child:
                out[name] = copy.deepcopy(child["default"])
            if name in out:
                out[name] = apply_defaults(child, out[name])
        if "additionalProperties" in schema:
            out = {k: apply_defaults(schema["additionalProperties"], v) for k, v in out.items()}
        return out
    if isinstance(value, list) and schema.get("type") == "array":
        return [apply_defaults(schema["items"], v) for v in value]
    return value


def _to_json_schema(node: Schema) -> Schema:
    out: Schema = {}
    for key, val in node.items():
        if key == "properties":
            out[key] = {k: _to_json_schema(v) for k, v in val.items()}
        elif key in ("items", "additionalProperties") and isinstance(val, dict):
            out[key] = _to_json_schema(val)
        elif key == "anyOf":
            out[key] = [_to_json_schema(v) for v in val]
        elif key.startswith("x-kubernetes-") or key in ("description", "default", "format"):
            continue
        else:
            out[key] = val
    if (
        node.get("type") == "object"
        and "properties" in node
        and not node.get("x-kubernetes-preserve-unknown-fields")
    ):
        out["additionalProperties"] = False
    return out


@cache
def _validator(kind: str) -> jsonschema.Draft4Validator:
    schema = _to_json_schema(openapi(kind))
    schema["properties"]["metadata"]["additionalProperties"] = True
    jsonschema.Draft4Validator.check_schema(schema)
    return jsonschema.Draft4Validator(schema)


def _list_type_errors(schema: Schema, value: Any, path: str) -> list[str]:
    """`x-kubernetes-list-type: set` lists must not repeat an item (the API server checks this)."""
    out: list[str] = []
    if isinstance(value, list) and schema.get("type") == "array":
        if schema.get("x-kubernetes-list-type") == "set":
            seen: list[Any] = []
            for item in value:
                if item in seen:
                    out.append(f"{path}: duplicate value {item!r}")
                seen.append(item)
        for i, item in enumerate(value):
            out += _list_type_errors(schema.get("items", {}), item, f"{path}[{i}]")
    elif isinstance(value, dict) and schema.get("type") == "object":
        for name, child in schema.get("properties", {}).items():
            if name in value:
                out += _list_type_errors(child, value[name], f"{path}.{name}" if path else name)
    return out


def schema_errors(obj: dict[str, Any]) -> list[str]:
    """Problems the openAPIV3Schema finds in an object (after defaulting), as 'path: message'."""
    kind = obj.get("kind", "FineTuneJob")
    defaulted = apply_defaults(openapi(kind), obj)
    errors = [
        f"{'.'.join(str(p) for p in e.absolute_path)}: {e.message}"
        for e in _validator(kind).iter_errors(defaulted)
    ]
    return errors or _list_type_errors(openapi(kind), defaulted, "")


@dataclass(frozen=True)
class Rule:
    path: tuple[str, ...]  # property names; "[]" for "every item", "*" for "every map value"
    rule: str
    message: str

    @property
    def transition(self) -> bool:
        return "oldSelf" in self.rule


def cel_rules(schema: Schema, path: tuple[str, ...] = ()) -> list[Rule]:
    found = [Rule(path, r["rule"], r["message"]) for r in schema.get("x-kubernetes-validations", [])]
    for name, child in schema.get("properties", {}).items():
        found += cel_rules(child, (*path, name))
    if "items" in schema:
        found += cel_rules(schema["items"], (*path, "[]"))
    if isinstance(schema.get("additionalProperties"), dict):
        found += cel_rules(schema["additionalProperties"], (*path, "*"))
    return found


def _typed(schema: Schema, value: Any) -> Any:
    """JSON value with numbers typed by the schema (a `number` field is a CEL double)."""
    kind = schema.get("type")
    if kind == "number" and isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if kind == "object" and isinstance(value, dict):
        props = schema.get("properties", {})
        extra = schema.get("additionalProperties")
        return {
            k: _typed(props.get(k, extra if isinstance(extra, dict) else {}), v) for k, v in value.items()
        }
    if kind == "array" and isinstance(value, list):
        return [_typed(schema.get("items", {}), v) for v in value]
    return value


def _values_at(schema: Schema, value: Any, path: tuple[str, ...]) -> list[tuple[str, Schema, Any]]:
    if not path:
        return [("", schema, value)]
    head, rest = path[0], path[1:]
    out: list[tuple[str, Schema, Any]] = []
    if head == "[]" and isinstance(value, list):
        for i, item in enumerate(value):
            out += [(f"[{i}]{p}", s, v) for p, s, v in _values_at(schema["items"], item, rest)]
    elif head == "*" and isinstance(value, dict):
        for k, item in value.items():
            out += [(f".{k}{p}", s, v) for p, s, v in _values_at(schema["additionalProperties"], item, rest)]
    elif isinstance(value, dict) and head in value:
        out += [
            (f".{head}{p}", s, v) for p, s, v in _values_at(schema["properties"][head], value[head], rest)
        ]
    return out


_ENV = celpy.Environment()


@cache
def _program(rule: str) -> Any:
    return _ENV.program(_ENV.compile(rule))


def evaluate(rule: str, self_value: Any, old_value: Any = None) -> bool:
    activation = {"self": celpy.json_to_cel(self_value)}
    if old_value is not None:
        activation["oldSelf"] = celpy.json_to_cel(old_value)
    result = _program(rule).evaluate(activation)
    if not isinstance(result, celpy.celtypes.BoolType):
        raise AssertionError(f"rule {rule!r} did not give a bool: {result!r}")
    return bool(result)


def cel_failures(
    obj: dict[str, Any], old: dict[str, Any] | None = None, record: dict[Rule, set[bool]] | None = None
) -> list[str]:
    """Messages of the CEL rules the (defaulted) object breaks; `old` enables transition rules."""
    kind = obj.get("kind", "FineTuneJob")
    schema = openapi(kind)
    new = _typed(schema, apply_defaults(schema, obj))
    prior = _typed(schema, apply_defaults(schema, old)) if old is not None else None
    failures = []
    for rule in cel_rules(schema):
        old_values = {p: v for p, _, v in _values_at(schema, prior, rule.path)} if prior is not None else {}
        for where, _, value in _values_at(schema, new, rule.path):
            if rule.transition and where not in old_values:
                continue  # transition rules run only on updates where the old value exists
            ok = evaluate(rule.rule, value, old_values.get(where) if rule.transition else None)
            if record is not None:
                record.setdefault(rule, set()).add(ok)
            if not ok:
                failures.append(f"{where.lstrip('.')}: {rule.message}")
    return failures
