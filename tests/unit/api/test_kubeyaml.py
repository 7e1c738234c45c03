"""The loader reads plain YAML scalars as kubectl does, not as PyYAML's YAML 1.1 does.

Expected values are what kubectl sends the API server for `v: SCALAR`, i.e. sigs.k8s.io/yaml's
YAMLToJSON, which decodes with go-yaml v2 (go.yaml.in/yaml/v2, v2.4.x) into interface{}:
- go-yaml v2 resolve.go: the boolean/null/.inf/.nan table (`y`, `yes`, `on`, `n`, `no`, `off`
  in their three spellings are booleans), integers through strconv.ParseInt(s, 0, 64) after
  removing every `_` (so `0x`, `0o`, `0b` prefixes, and a leading 0 is octal), then
  ParseUint, then floats matching `^[-+]?(\\.[0-9]+|[0-9]+(\\.[0-9]*)?)([eE][-+]?[0-9]+)?$`
  (so `2e-4`, `1e9`, `.5`, `+.5`, `5.` and even `08` are floats); anything else is a string.
- go-yaml v2 decode.go: a timestamp decoded into interface{} "for backward compatibility" is
  set as the string it was written as.
- sigs.k8s.io/yaml yaml.go: YAMLToJSON's doc ("literal 'yes' and 'no' strings without
  quotation marks will be converted to true/false"), its test table (`t: no` -> false,
  `no: a` -> {"false": "a"}, `1.2: a` -> {"1.2": "a"}, `1e+36: a` -> {"1e+36": "a"},
  9007199254740993 kept as an integer, 1000000000000000000000000000000000000 -> 1e+36),
  and convertToJSONableObject, which turns bool/int/float keys into JSON strings.
"""

from __future__ import annotations

import math
from typing import Any

import pytest
import yaml

from tradetune.api import dump_yaml, parse_documents
from tradetune.api._kubeyaml import KubeLoader

# (plain scalar, what kubectl's YAML->JSON gives, what PyYAML's SafeLoader gives where it differs)
KUBECTL: list[tuple[str, Any]] = [
    ("2e-4", 0.0002),  # the guide's learning rate, written as everyone writes it
    ("2.0e-4", 0.0002),
    ("1e9", 1e9),
    ("1E+3", 1000.0),
    (".5", 0.5),
    ("+.5", 0.5),
    ("-.5", -0.5),
    ("5.", 5.0),
    ("08", 8.0),  # not octal, not an integer: ParseInt fails, the float pattern matches
    ("1.5_0", 1.5),
    ("42", 42),
    ("+42", 42),
    ("-42", -42),
    ("1_000", 1000),
    ("012", 10),  # a leading 0 is octal for strconv.ParseInt(s, 0, 64)
    ("0o17", 15),
    ("0x1F", 31),
    ("0b101", 5),
    ("-0b101", -5),
    ("9007199254740993", 9007199254740993),
    ("1000000000000000000000000000000000000", 1e36),
    ("yes", True),
    ("Yes", True),
    ("YES", True),
    ("y", True),
    ("Y", True),
    ("on", True),
    ("ON", True),
    ("true", True),
    ("True", True),
    ("no", False),
    ("n", False),
    ("N", False),
    ("off", False),
    ("Off", False),
    ("FALSE", False),
    ("yEs", "yEs"),
    ("null", None),
    ("~", None),
    ("NULL", None),
    ("", None),
    (".inf", math.inf),
    ("-.Inf", -math.inf),
    ("1:20", "1:20"),  # YAML 1.1 sexagesimal (80 in PyYAML) is a string to go-yaml
    ("2024-01-01", "2024-01-01"),  # a timestamp stays a string in interface{}
    ("2001-12-14t21:59:43.10-05:00", "2001-12-14t21:59:43.10-05:00"),
    ("0x", "0x"),
    ("1e", "1e"),
    ("e5", "e5"),
    ("1.2.3", "1.2.3"),
    ("500m", "500m"),
    ("16Gi", "16Gi"),
]


@pytest.mark.parametrize(("scalar", "expected"), KUBECTL, ids=[repr(s) for s, _ in KUBECTL])
def test_plain_scalars_resolve_as_kubectl_does(scalar: str, expected: Any) -> None:
    got = yaml.load(f"v: {scalar}\n", Loader=KubeLoader)["v"]
    assert type(got) is type(expected) and got == expected


@pytest.mark.parametrize("scalar", ['"2e-4"', "'yes'", '"012"', "'1:20'", "!!str 1e9"])
def test_quoted_or_tagged_strings_stay_strings(scalar: str) -> None:
    got = yaml.load(f"v: {scalar}\n", Loader=KubeLoader)["v"]
    assert isinstance(got, str)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("no: a", {"false": "a"}),
        ("y: 1", {"true": 1}),
        ("1: a", {"1": "a"}),
        ("1.2: a", {"1.2": "a"}),
        ("1e+36: a", {"1e+36": "a"}),
        ('"1e+36": a', {"1e+36": "a"}),
        ("base: &b {x: 1}\nderived: {<<: *b, y2: 2}", {"base": {"x": 1}, "derived": {"x": 1, "y2": 2}}),
    ],
)
def test_mapping_keys_become_json_strings(text: str, expected: dict[str, Any]) -> None:
    assert yaml.load(text, Loader=KubeLoader) == expected


def test_pyyaml_alone_would_disagree() -> None:
    """The table is not vacuous: PyYAML's SafeLoader reads these differently."""
    for scalar in ("2e-4", "1e9", "+.5", "08", "0o17", "y", "1:20", "2024-01-01"):
        mine = yaml.load(f"v: {scalar}", Loader=KubeLoader)["v"]
        theirs = yaml.safe_load(f"v: {scalar}")["v"]
        assert (type(mine), mine) != (type(theirs), theirs), scalar


JOB = """\
apiVersion: tradetune.dev/v1alpha1
kind: FineTuneJob
metadata:
  name: job
spec:
  baseModel: {{name: a/b}}
  dataset: {{generate: {{}}}}
  training:
    learningRate: {lr}
"""


@pytest.mark.parametrize(("written", "value"), [("2e-4", 2e-4), ("1e-5", 1e-5), (".0002", 2e-4)])
def test_a_finetunejob_takes_the_learning_rate_as_written(written: str, value: float) -> None:
    (job,) = parse_documents(JOB.format(lr=written))
    assert job.spec.training.learning_rate == value


def test_dump_quotes_every_string_kubectl_would_read_as_something_else() -> None:
    (job,) = parse_documents(JOB.format(lr="2e-4"))
    tricky = ["y", "n", "on", "1e9", "08", "0o17", "+.5", "2e-4", "plain"]
    job.metadata.labels = {f"k{i}": value for i, value in enumerate(tricky)}
    text = dump_yaml(job)
    labels = yaml.load(text, Loader=KubeLoader)["metadata"]["labels"]
    assert list(labels.values()) == tricky
    assert "k8: plain" in text  # ordinary strings stay unquoted
