"""The generated CRDs: structural, documented, in agreement with the models and the examples."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.unit.api.k8s_schema import apply_defaults, crd, openapi, schema_errors
from tradetune.api import (
    FineTuneJob,
    ModelServe,
    load_documents,
    parse_finetunejob,
    parse_modelserve,
    printer_row,
)
from tradetune.api._crd import SchemaError, crd_documents, render_crds, structural_schema

ROOT = Path(__file__).resolve().parents[3]
EXAMPLES = sorted((ROOT / "examples").glob("*.yaml"))
KINDS = ("FineTuneJob", "ModelServe")


def _nodes(schema: dict[str, Any], path: str = "") -> list[tuple[str, dict[str, Any]]]:
    out = [(path, schema)]
    for name, child in schema.get("properties", {}).items():
        out += _nodes(child, f"{path}.{name}" if path else name)
    if "items" in schema:
        out += _nodes(schema["items"], f"{path}[]")
    if isinstance(schema.get("additionalProperties"), dict):
        out += _nodes(schema["additionalProperties"], f"{path}.*")
    return out


@pytest.mark.parametrize("kind", KINDS)
def test_schema_is_structural(kind: str) -> None:
    """The rules the API server enforces on CRD schemas (apiextensions structural schema)."""
    for path, node in _nodes(openapi(kind)):
        assert "$ref" not in node and "allOf" not in node and "oneOf" not in node, path
        assert "nullable" not in node, path
        if node.get("x-kubernetes-int-or-string"):
            assert node["anyOf"] == [{"type": "integer"}, {"type": "string"}], path
            assert "type" not in node, path
            continue
        assert "anyOf" not in node, path
        assert node.get("type") in {"object", "array", "string", "integer", "number", "boolean"}, path
        assert not ("properties" in node and "additionalProperties" in node), path
        if node.get("x-kubernetes-list-type") == "set":
            assert node["items"]["type"] in {"string", "integer", "number", "boolean"}, path
        if node.get("x-kubernetes-list-type") == "map":
            keys = node["x-kubernetes-list-map-keys"]
            assert set(keys) <= set(node["items"].get("required", [])), path
        assert node.get("x-kubernetes-preserve-unknown-fields", True) is True, path
        if node.get("exclusiveMinimum") is not None:
            assert node["exclusiveMinimum"] is True and "minimum" in node, path


@pytest.mark.parametrize("kind", KINDS)
def test_every_field_is_described(kind: str) -> None:
    """`kubectl explain` must have something to say about every field."""
    schema = openapi(kind)
    missing = [
        f"{path}.{name}" if path else name
        for path, node in _nodes(schema)
        for name, child in node.get("properties", {}).items()
        if not child.get("description")
    ]
    assert missing == []


@pytest.mark.parametrize("kind", KINDS)
def test_strings_under_cel_rules_are_bounded(kind: str) -> None:
    """Unbounded strings and lists make the API server reject CEL rules as too costly."""
    for path, node in _nodes(openapi(kind)):
        rules = [r["rule"] for r in node.get("x-kubernetes-validations", [])]
        if any("oldSelf" in r or "contains" in r for r in rules):
            for sub_path, sub in _nodes(node, path):
                if sub.get("type") == "string":
                    assert "maxLength" in sub, sub_path
                if sub.get("type") == "array":
                    assert "maxItems" in sub, sub_path


def test_names_columns_and_subresources() -> None:
    ftj = crd("FineTuneJob")["spec"]
    assert ftj["names"]["shortNames"] == ["ftj"] and ftj["names"]["categories"] == ["tradetune"]
    version = ftj["versions"][0]
    assert version["subresources"] == {"status": {}}
    main = [c["name"] for c in version["additionalPrinterColumns"] if not c.get("priority")]
    assert main == ["Phase", "Reason", "Progress", "Loss", "ETA", "Perplexity", "Pine", "Gate", "Age"]
    ms = crd("ModelServe")["spec"]
    assert ms["names"]["shortNames"] == ["mserve"] and ms["names"]["categories"] == ["tradetune"]
    version = ms["versions"][0]
    assert (
        "status" in version["subresources"]
        and version["subresources"]["scale"]["specReplicasPath"] == ".spec.replicas"
    )
    main = [c["name"] for c in version["additionalPrinterColumns"] if not c.get("priority")]
    assert main == ["Status", "Serving", "Rolling-Out", "Available", "Replicas", "Endpoint", "Age"]


@pytest.mark.parametrize("kind", KINDS)
def test_printer_columns_point_at_fields_that_exist(kind: str) -> None:
    schema = openapi(kind)
    for column in crd(kind)["spec"]["versions"][0]["additionalPrinterColumns"]:
        path = column["jsonPath"].split("[?")[0].strip(".").split(".")
        if path[0] == "metadata":
            continue
        node = schema
        for part in path:
            node = node["items"] if node.get("type") == "array" else node
            node = node["properties"][part]
        expected = {"string": "string", "number": "number", "integer": "integer", "boolean": "boolean"}
        if column["type"] in expected and node.get("type") != "array":
            assert node["type"] == column["type"], column


@pytest.mark.parametrize("kind", KINDS)
def test_status_keeps_unknown_fields_for_kopf(kind: str) -> None:
    status = openapi(kind)["properties"]["status"]
    assert status["x-kubernetes-preserve-unknown-fields"] is True
    assert "default" not in str(status), "the operator owns status: no defaults there"


@pytest.mark.parametrize("kind", KINDS)
def test_free_form_fields_preserve_unknown(kind: str) -> None:
    resources = openapi(kind)["properties"]["spec"]["properties"]["resources"]["properties"]
    assert resources["affinity"]["x-kubernetes-preserve-unknown-fields"] is True
    assert resources["tolerations"]["items"]["x-kubernetes-preserve-unknown-fields"] is True
    assert resources["cpu"]["x-kubernetes-int-or-string"] is True


def test_crd_defaults_equal_model_defaults() -> None:
    """The API server's defaulting and pydantic's produce the same spec."""
    minimal = {
        "apiVersion": "tradetune.dev/v1alpha1",
        "kind": "FineTuneJob",
        "metadata": {"name": "x"},
        "spec": {
            "baseModel": {"name": "a/b", "tokenSecretRef": {"name": "hf"}},
            "dataset": {"generate": {}},
            "training": {"earlyStopping": {}},
            "output": {"claimName": "out"},
        },
    }
    server = apply_defaults(openapi("FineTuneJob"), minimal)["spec"]
    model = parse_finetunejob(minimal).model_dump(by_alias=True, exclude_none=True, mode="json")["spec"]
    assert server == model
    serve = {
        "apiVersion": "tradetune.dev/v1alpha1",
        "kind": "ModelServe",
        "metadata": {"name": "s"},
        "spec": {"model": {"path": "m"}, "apiKeySecretRef": {"name": "k"}},
    }
    server = apply_defaults(openapi("ModelServe"), serve)["spec"]
    model = parse_modelserve(serve).model_dump(by_alias=True, exclude_none=True, mode="json")["spec"]
    assert server == model


def test_guide_defaults() -> None:
    spec = parse_finetunejob({"baseModel": {"name": "a/b"}, "dataset": {"generate": {}}}).spec
    assert (spec.method, spec.lora.r, spec.lora.alpha, spec.lora.dropout) == ("qlora", 16, 32, 0.05)
    assert spec.lora.target_modules == ["q_proj", "k_proj", "v_proj", "o_proj"]
    assert (spec.training.epochs, spec.training.learning_rate, spec.training.per_device_batch_size) == (
        3,
        2e-4,
        4,
    )
    assert (spec.training.gradient_accumulation_steps, spec.training.max_seq_length) == (4, 512)
    assert (spec.training.warmup_steps, spec.training.scheduler) == (100, "cosine")
    q = spec.effective_quantization
    assert q is not None and (q.type, q.double_quant, q.compute_dtype) == ("nf4", True, "bfloat16")
    assert spec.dataset.generate is not None
    assert (spec.dataset.generate.train, spec.dataset.generate.validation, spec.dataset.generate.test) == (
        10000,
        1000,
        1000,
    )
    assert spec.evaluation.samples == 100 and spec.resources.gpu_resource_name == "nvidia.com/gpu"


@pytest.mark.parametrize("example", EXAMPLES, ids=[e.name for e in EXAMPLES])
def test_examples_validate_against_crd_schema(example: Path) -> None:
    docs = list(yaml.safe_load_all(example.read_text()))
    assert docs
    for doc in docs:
        assert schema_errors(doc) == []
    assert len(load_documents(example)) == len(docs)  # and against the models


def test_examples_cover_the_three_use_cases() -> None:
    names = {e.name for e in EXAMPLES}
    assert {"finetunejob.yaml", "finetunejob-local.yaml", "modelserve.yaml"} <= names
    gpu = load_documents(ROOT / "examples/finetunejob.yaml")[0]
    assert isinstance(gpu, FineTuneJob)
    assert gpu.spec.base_model.name == "mistralai/Mistral-7B-v0.1" and gpu.spec.method == "qlora"
    assert gpu.spec.base_model.token_secret_ref is not None and gpu.spec.resources.gpus == 1
    assert gpu.spec.promote is not None and gpu.spec.dataset.generate is not None
    local = load_documents(ROOT / "examples/finetunejob-local.yaml")[0]
    assert isinstance(local, FineTuneJob)
    assert local.spec.base_model.path == "runs/tiny-base" and local.spec.resources.gpus == 0
    assert (
        local.spec.evaluation.compare_to_base and local.spec.promote is not None and local.spec.promote.create
    )
    serve = load_documents(ROOT / "examples/modelserve.yaml")[0]
    assert isinstance(serve, ModelServe) and serve.spec.model.from_fine_tune_job == gpu.metadata.name
    assert gpu.spec.promote.model_serve == serve.metadata.name


@pytest.mark.parametrize(
    ("change", "where"),
    [
        ({"training": {"learningRate": 0}}, "spec.training.learningRate"),
        ({"training": {"learningrate": 0.1}}, "spec.training"),
        ({"method": "dora"}, "spec.method"),
        ({"lora": {"r": "16"}}, "spec.lora.r"),
        ({"resources": {"gpus": -1}}, "spec.resources.gpus"),
    ],
)
def test_crd_schema_rejects_what_the_models_reject(change: dict[str, Any], where: str) -> None:
    obj = {
        "apiVersion": "tradetune.dev/v1alpha1",
        "kind": "FineTuneJob",
        "metadata": {"name": "x"},
        "spec": {"baseModel": {"name": "a/b"}, "dataset": {"generate": {}}, **change},
    }
    errors = schema_errors(obj)
    assert errors and errors[0].startswith(where), errors


def test_committed_crds_are_current() -> None:
    for name, text in render_crds().items():
        assert (ROOT / "crds" / name).read_text() == text, f"crds/{name} is stale: run `tradetune crds`"


def test_peering_crds_for_kopf() -> None:
    docs = crd_documents()["peering.yaml"]
    assert {(d["spec"]["group"], d["spec"]["names"]["kind"], d["spec"]["scope"]) for d in docs} == {
        ("kopf.dev", "ClusterKopfPeering", "Cluster"),
        ("kopf.dev", "KopfPeering", "Namespaced"),
    }
    for d in docs:
        status = d["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["status"]
        assert status["x-kubernetes-preserve-unknown-fields"] is True


def test_translator_refuses_untranslatable_shapes() -> None:
    with pytest.raises(SchemaError, match="unions"):
        structural_schema({"anyOf": [{"type": "string"}, {"type": "integer"}]}, {}, "x")
    with pytest.raises(SchemaError, match="no type"):
        structural_schema({}, {}, "spec.anything")


def test_printer_row_follows_the_columns() -> None:
    job = parse_finetunejob({"baseModel": {"name": "a/b"}, "dataset": {"generate": {}}}).to_yaml_dict()
    job["status"] = {
        "phase": "Failed",
        "metrics": {"perplexity": 9.5, "pineSyntaxScore": 0.4},
        "gate": {"passed": False, "summary": "Failed: perplexity"},
        "jobName": "x-train",
        "conditions": [{"type": "Ready", "status": "False", "reason": "GateFailed"}],
        "progress": {"progressPercentage": 100, "trainLoss": 1.25, "stage": "evaluating"},
    }
    assert printer_row(job) == {
        "Name": "finetunejob",
        "Phase": "Failed",
        "Reason": "GateFailed",
        "Progress": 100,
        "Loss": 1.25,
        "ETA": None,
        "Perplexity": 9.5,
        "Pine": 0.4,
        "Gate": "Failed: perplexity",
    }
    assert printer_row(job, wide=True)["Job"] == "x-train"
    serve = {
        "kind": "ModelServe",
        "metadata": {"name": "srv"},
        "spec": {"replicas": 2},
        "status": {
            "conditions": [{"type": "Progressing", "status": "True"}, {"type": "Ready", "status": "False"}],
            "state": "RollingOut",
            "servedModel": {"source": "FineTuneJob job", "name": "trading", "fineTuneJob": "job"},
            "rollingOut": {"source": "FineTuneJob job2", "name": "trading", "fineTuneJob": "job2"},
            "readyReplicas": 2,
        },
    }
    assert printer_row(serve) == {
        "Name": "srv",
        "Status": "RollingOut",
        "Serving": "FineTuneJob job",
        "Rolling-Out": "FineTuneJob job2",
        "Available": 2,
        "Replicas": 2,
        "Endpoint": None,
    }
    assert printer_row(serve, wide=True)["Ready"] == "False"
