"""`tradetune explain`: kubectl-explain-style field docs from the CRD schema, and the reference doc."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.unit.api.k8s_schema import openapi
from tradetune.api._explain import explain, markdown_reference, resolve
from tradetune.errors import InvalidInput

ROOT = Path(__file__).resolve().parents[3]


def test_explain_a_leaf_field() -> None:
    text = explain("ftj.spec.training.learningRate")
    lines = text.splitlines()
    assert lines[:6] == [
        "GROUP:      tradetune.dev",
        "KIND:       FineTuneJob",
        "VERSION:    v1alpha1",
        "",
        "FIELD: learningRate <number>",
        "",
    ]
    assert "Peak learning rate" in text
    assert "    default: 0.0002" in lines and "    minimum: 0 (exclusive)" in lines


def test_explain_an_object_lists_fields_with_types_and_required() -> None:
    text = explain("mserve.spec")
    assert "  model\t<Object> -required-" in text
    assert "  replicas\t<integer>" in text and "  engine\t<Object>" in text
    assert "rule: mode adapter with model.path needs model.adapterPath" in text
    assert "  tolerations\t<[]Object>" in explain("modelserve.spec.resources")
    assert "  nodeSelector\t<map[string]string>" in explain("finetunejob.spec.resources")


def test_explain_recursive_and_arrays() -> None:
    text = explain("ftj.status", recursive=True)
    assert "  conditions\t<[]Object>" in text and "    lastTransitionTime\t<string> -required-" in text
    assert "FIELD: verdicts <[]Object>" in explain("ftj.status.gate.verdicts")
    assert "  metric\t<string>" in explain("ftj.status.gate.verdicts")


def test_explain_errors_name_the_known_fields() -> None:
    with pytest.raises(InvalidInput, match=r"field 'learnRate' does not exist in finetunejob.spec.training"):
        explain("ftj.spec.training.learnRate")
    with pytest.raises(InvalidInput, match="unknown resource 'pod'"):
        explain("pod.spec")
    assert resolve("FineTuneJobs.spec") == ("FineTuneJob", ["spec"])


def test_reference_doc_is_current_and_complete() -> None:
    text = markdown_reference()
    assert (ROOT / "docs/api-reference.md").read_text() == text, (
        "run: tradetune explain --markdown --output docs/api-reference.md"
    )
    spec = openapi("FineTuneJob")["properties"]["spec"]["properties"]
    for field in spec:
        assert f"| `spec.{field}` |" in text
    assert "| `spec.training.learningRate` | `number` |" in text
    assert "| `status.conditions[].reason` | `string` |" in text
