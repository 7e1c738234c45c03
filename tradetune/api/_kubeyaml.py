"""YAML scalars resolved as kubectl resolves them, so a file means the same here and in the cluster.

kubectl (and client-go, Helm, the API server's YAML endpoint) turn YAML into JSON with
sigs.k8s.io/yaml's YAMLToJSON, which decodes with go-yaml v2 (go.yaml.in/yaml/v2) into
interface{}. PyYAML's SafeLoader follows YAML 1.1 instead, and the two disagree on plain
scalars users write every day:

    scalar        kubectl (go-yaml v2)    PyYAML SafeLoader
    2e-4, 1e9     float                   string (YAML 1.1 floats need a dot)
    +.5           float                   string
    08            float 8.0               string
    0o17          int 15                  string
    y, n, Y, N    bool                    string
    1:20          string                  int 80 (sexagesimal)
    2024-01-01    string                  datetime.date

The rules below are go-yaml v2's `resolve()` (resolve.go) and its decoder's rule that a
timestamp decoded into interface{} stays a string (decode.go). `yes`/`no`/`on`/`off` are
booleans in both: sigs.k8s.io/yaml documents that on YAMLToJSON ("As per the YAML 1.1
specification, which yaml.v2 used underneath implements, literal 'yes' and 'no' strings
without quotation marks will be converted to true/false implicitly"), and its own test
table maps `t: no` to `{"t":false}`.

`KubeDumper` uses the same rules to decide when a string must be quoted, so what we write is
read back by kubectl as the same value (PyYAML would leave `y` or `1e9` unquoted).
"""

from __future__ import annotations

import math
import re
import struct
from typing import Any

import yaml

__all__ = ["KubeDumper", "KubeLoader", "resolve_plain"]

STR, BOOL, NULL = "tag:yaml.org,2002:str", "tag:yaml.org,2002:bool", "tag:yaml.org,2002:null"
INT, FLOAT = "tag:yaml.org,2002:int", "tag:yaml.org,2002:float"
MERGE = "tag:yaml.org,2002:merge"

_TRUE = {"y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON"}
_FALSE = {"n", "N", "no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF"}
_NULL = {"", "~", "null", "Null", "NULL"}
_SPECIAL_FLOATS = {
    **dict.fromkeys((".nan", ".NaN", ".NAN"), math.nan),
    **dict.fromkeys((".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF"), math.inf),
    **dict.fromkeys(("-.inf", "-.Inf", "-.INF"), -math.inf),
}
# go-yaml v2's yamlStyleFloat, and Go's strconv.ParseInt(s, 0, 64) syntax (base prefixes; a
# leading 0 is octal). go-yaml removes every '_' before it tries a number.
_GO_FLOAT = re.compile(r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?")
_GO_INT = re.compile(r"[-+]?(0[xX][0-9a-fA-F]+|0[bB][01]+|0[oO][0-7]+|0[0-7]*|[1-9][0-9]*)")
_INT64 = (-(2**63), 2**64 - 1)  # ParseInt, then ParseUint


def _go_int(text: str) -> int | None:
    if not _GO_INT.fullmatch(text):
        return None
    sign = -1 if text[0] == "-" else 1
    digits = text.lstrip("+-")
    if len(digits) > 1 and digits[0] == "0" and digits[1] in "xXbBoO":
        value = int(digits[2:], {"x": 16, "b": 2, "o": 8}[digits[1].lower()])
    elif len(digits) > 1 and digits[0] == "0":
        value = int(digits, 8)
    else:
        value = int(digits)
    value *= sign
    return value if _INT64[0] <= value <= _INT64[1] else None


def resolve_plain(text: str) -> tuple[str, Any]:
    """(tag, value) of a plain (unquoted) scalar, exactly as go-yaml v2 decodes it into interface{}."""
    if text in _TRUE:
        return BOOL, True
    if text in _FALSE:
        return BOOL, False
    if text in _NULL:
        return NULL, None
    if text == "<<":
        return MERGE, text
    if text in _SPECIAL_FLOATS:
        return FLOAT, _SPECIAL_FLOATS[text]
    first = text[0]
    if first == ".":  # Go's ParseFloat on the text as written
        if _GO_FLOAT.fullmatch(text):
            return FLOAT, float(text)
    elif first in "+-0123456789":
        plain = text.replace("_", "")
        number = _go_int(plain)
        if number is not None:
            return INT, number
        if _GO_FLOAT.fullmatch(plain):
            return FLOAT, float(plain)
    return STR, text  # timestamps included: into interface{} they stay strings


def _go_float_key(value: float) -> str:
    """strconv.FormatFloat(value, 'g', -1, 32): the shortest text that reads back as the same float32."""
    if math.isnan(value):
        return ".nan"
    if math.isinf(value):
        return ".inf" if value > 0 else "-.inf"
    single = struct.unpack("f", struct.pack("f", value))[0]
    for digits in range(1, 10):
        text = f"{single:.{digits}g}"
        if struct.unpack("f", struct.pack("f", float(text)))[0] == single:
            return text
    return repr(single)


def json_key(key: Any, node: yaml.Node) -> str:
    """A mapping key as JSON text: the conversion sigs.k8s.io/yaml's convertToJSONableObject does."""
    if isinstance(key, str):
        return key
    if isinstance(key, bool):
        return "true" if key else "false"
    if isinstance(key, int):
        return str(key)
    if isinstance(key, float):
        return _go_float_key(key)
    raise yaml.constructor.ConstructorError(
        None, None, f"a mapping key must be a string, number or boolean, not {key!r}", node.start_mark
    )


class KubeLoader(yaml.SafeLoader):
    """SafeLoader whose plain scalars resolve as kubectl's do (see the module docstring)."""

    def resolve(self, kind: Any, value: Any, implicit: Any) -> str:
        if kind is yaml.ScalarNode and implicit[0]:
            return resolve_plain(value)[0]
        if kind is yaml.ScalarNode:
            return STR
        return str(super().resolve(kind, value, implicit))  # type: ignore[no-untyped-call]

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        """A mapping whose keys are JSON strings, as sigs.k8s.io/yaml makes them (`no: a` is "false")."""
        mapping = super().construct_mapping(node, deep=deep)
        return {json_key(key, node): value for key, value in mapping.items()}

    def _plain_value(self, node: yaml.ScalarNode, tag: str, what: str) -> Any:
        found, value = resolve_plain(node.value)
        if found != tag:
            raise yaml.constructor.ConstructorError(
                None, None, f"cannot read {node.value!r} as {what}", node.start_mark
            )
        return value

    def construct_kube_int(self, node: yaml.ScalarNode) -> Any:
        return self._plain_value(node, INT, "an integer")

    def construct_kube_float(self, node: yaml.ScalarNode) -> Any:
        found, value = resolve_plain(node.value)
        if found == INT:  # `!!float 1` is 1.0, as in go-yaml
            return float(value)
        return self._plain_value(node, FLOAT, "a number")

    def construct_kube_bool(self, node: yaml.ScalarNode) -> Any:
        return self._plain_value(node, BOOL, "a boolean")


KubeLoader.add_constructor(INT, KubeLoader.construct_kube_int)
KubeLoader.add_constructor(FLOAT, KubeLoader.construct_kube_float)
KubeLoader.add_constructor(BOOL, KubeLoader.construct_kube_bool)


class KubeDumper(yaml.SafeDumper):
    """SafeDumper that quotes every string kubectl would read as something else."""

    def resolve(self, kind: Any, value: Any, implicit: Any) -> str:
        if kind is yaml.ScalarNode and implicit[0]:
            return resolve_plain(value)[0]
        return str(super().resolve(kind, value, implicit))  # type: ignore[no-untyped-call]
