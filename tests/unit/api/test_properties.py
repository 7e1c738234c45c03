"""Property-based: malformed specs always give clear field-path messages, never a traceback."""

from __future__ import annotations

import copy
import re
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tradetune.api import parse_documents
from tradetune.errors import SpecError

VALID: dict[str, Any] = yaml.safe_load(
    """
apiVersion: tradetune.dev/v1alpha1
kind: FineTuneJob
metadata: {name: job}
spec:
  baseModel: {name: a/b, tokenSecretRef: {name: hf}}
  dataset: {generate: {train: 100, tasks: [pine_strategy]}}
  lora: {r: 8, targetModules: [q_proj]}
  training: {epochs: 1, learningRate: 0.001, earlyStopping: {patience: 2}}
  evaluation: {thresholds: {perplexity: {max: 20}}, compareToBase: true}
  promote: {modelServe: srv, create: true, auth: none}
  resources: {gpus: 1, cpu: 4, tolerations: [{key: a}], nodeSelector: {a: b}}
  output: {claimName: out, subPath: runs}
"""
)

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**12), max_value=10**12),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
    st.sampled_from(["qlora", "-1", "0", "1e400", "", "runs/../x", "/abs", "nf4", "True"]),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(min_size=1, max_size=10), inner, max_size=3)
    ),
    max_leaves=8,
)


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(node, dict):
        for key, child in node.items():
            out += _paths(child, (*prefix, key))
    elif isinstance(node, list):
        for index, child in enumerate(node):
            out += _paths(child, (*prefix, index))
    return out


PATHS = [p for p in _paths(VALID) if p]
SEGMENT = r'(\[(\d+|"(?:[^"\\]|\\.)*")\]|\.?[\w\-/]+)'
FIELD = rf"(\(document\)|\(file\)|line \d+(, column \d+)?|{SEGMENT}+)"
LINE = re.compile(rf"^(document \d+: )?{FIELD}: \S.*$")


def _check(text: str) -> None:
    try:
        parse_documents(text, source="fuzz.yaml")
    except SpecError as exc:
        assert exc.problems, "a SpecError always names at least one problem"
        for field, message in exc.problems:
            line = f"{field}: {message}"
            assert LINE.match(line), line
            assert "Input should" not in message and "errors.pydantic.dev" not in message, line
            assert len(line) < 400 and "\n" not in line, line


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(path=st.sampled_from(PATHS), value=values, drop=st.booleans())
def test_replacing_any_field_gives_a_clear_message(path: tuple[Any, ...], value: Any, drop: bool) -> None:
    obj = copy.deepcopy(VALID)
    parent = obj
    for part in path[:-1]:
        parent = parent[part]
    if drop and isinstance(parent, dict):
        del parent[path[-1]]
    else:
        parent[path[-1]] = value
    _check(yaml.safe_dump(obj))


@settings(max_examples=100, deadline=None)
@given(
    extra=st.dictionaries(st.text(min_size=1, max_size=12), values, min_size=1, max_size=3),
    where=st.sampled_from(PATHS),
)
def test_unknown_fields_anywhere(extra: dict[str, Any], where: tuple[Any, ...]) -> None:
    obj = copy.deepcopy(VALID)
    node = obj
    for part in where:
        node = node[part]
    if isinstance(node, dict):
        node.update(extra)
    _check(yaml.safe_dump(obj))


TOKENS = [
    *"ab:-[]{}!&*'\"\n #%@|>?,.0123456789",
    "spec",
    "kind",
    "  ",
    "FineTuneJob",
    "apiVersion",
    "\x00",
    "!!python/object:os.system ",
    "? ",
    "&a ",
    "*a",
    "\t",
]


@settings(max_examples=150, deadline=None)
@given(tokens=st.lists(st.sampled_from(TOKENS), max_size=40))
def test_arbitrary_yaml_text(tokens: list[str]) -> None:
    _check("".join(tokens))
