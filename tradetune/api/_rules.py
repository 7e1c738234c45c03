"""Cross-field rules of spec objects, each stated once for both places that check it.

The API server checks a rule as CEL (`x-kubernetes-validations` in the CRD); `tradetune validate`,
`tradetune run` and the operator check it with pydantic. A `Rule` carries the CEL text, the
message both report, and its Python reading side by side, so the two cannot drift apart: one
message, one place to change. (The CEL half is also evaluated with cel-python in the tests, on
objects that pass and fail each rule.)

Field-level transition rules (`self == oldSelf`) stay CEL-only: pydantic never sees the old object.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel
from pydantic.config import JsonDict

VALIDATIONS = "x-kubernetes-validations"


@dataclass(frozen=True)
class Rule:
    """One rule on an object: `cel` for the API server, `holds` for pydantic, one `message`."""

    cel: str
    message: str
    holds: Callable[[Any], bool]

    def as_validation(self) -> JsonDict:
        return {"rule": self.cel, "message": self.message}


def cel_only(*rules: tuple[str, str]) -> JsonDict:
    """`x-kubernetes-validations` for a field's json_schema_extra: (CEL rule, message) pairs."""
    return {VALIDATIONS: [{"rule": rule, "message": message} for rule, message in rules]}


def has(model: BaseModel, name: str) -> bool:
    """CEL's `has(self.<name>)` on a model: the field named by its camelCase alias is set."""
    for field_name, info in type(model).model_fields.items():
        if name in (info.alias, field_name):
            return getattr(model, field_name) is not None
    raise KeyError(f"{type(model).__name__} has no field {name!r}")


def exactly_one(a: str, b: str) -> Rule:
    return Rule(
        f"has(self.{a}) != has(self.{b})",
        f"set exactly one of {a} or {b}",
        lambda m: has(m, a) != has(m, b),
    )


def at_least_one(a: str, b: str) -> Rule:
    return Rule(f"has(self.{a}) || has(self.{b})", f"set {a}, {b} or both", lambda m: has(m, a) or has(m, b))


def needs(a: str, b: str) -> Rule:
    """Field `a` may only be set together with field `b`."""
    return Rule(f"!has(self.{a}) || has(self.{b})", f"{a} needs {b}", lambda m: not has(m, a) or has(m, b))


def promote_needs_a_gate(metrics: tuple[str, ...]) -> Rule:
    """A job that promotes must check something: a bound on one of `metrics` or compareToBase.

    A gate with no checks passes, so without this rule `promote` alone would serve any model.
    """
    bounds = " || ".join(f"has(self.evaluation.thresholds.{m})" for m in metrics)
    cel = (
        "!has(self.promote) || (has(self.evaluation) && ("
        "(has(self.evaluation.compareToBase) && self.evaluation.compareToBase) || "
        f"(has(self.evaluation.thresholds) && ({bounds}))))"
    )

    def holds(spec: Any) -> bool:
        evaluation = spec.evaluation
        return (
            spec.promote is None
            or evaluation.compare_to_base
            or any(evaluation.thresholds.bound(m) is not None for m in metrics)
        )

    return Rule(
        cel,
        "promote needs a gate: set an evaluation.thresholds bound or evaluation.compareToBase: true",
        holds,
    )


def first_broken(model: BaseModel, rules: tuple[Rule, ...]) -> Rule | None:
    """The first rule `model` breaks, in declaration order (one clear message, like the server's first)."""
    return next((rule for rule in rules if not rule.holds(model)), None)


def add_validations(schema: JsonDict, rules: tuple[Rule, ...]) -> None:
    """Put the rules' CEL into an object's JSON schema (pydantic's json_schema_extra hook)."""
    if rules:
        schema[VALIDATIONS] = [rule.as_validation() for rule in rules]
