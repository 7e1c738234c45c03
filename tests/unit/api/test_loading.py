"""Reading YAML into models: every problem named by field path (and line), never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from tradetune.api import (
    FineTuneJob,
    ModelServe,
    load_documents,
    load_finetunejob,
    parse_documents,
    parse_finetunejob,
)
from tradetune.errors import InvalidInput, SpecError

GOOD = """\
apiVersion: tradetune.dev/v1alpha1
kind: FineTuneJob
metadata:
  name: job
spec:
  baseModel:
    name: a/b
  dataset:
    generate: {}
"""


def problems(text: str) -> list[str]:
    with pytest.raises(SpecError) as info:
        parse_documents(text, source="job.yaml")
    assert info.value.source == "job.yaml"
    return [f"{path}: {msg}" for path, msg in info.value.problems]


def test_good_document() -> None:
    (job,) = parse_documents(GOOD)
    assert isinstance(job, FineTuneJob) and job.metadata.name == "job"


def test_field_path_in_camel_case_with_line() -> None:
    text = GOOD + "  training:\n    learningRate: 0\n    epochs: -1\n"
    assert problems(text) == [
        "spec.training.epochs: must be > 0 (got -1) (line 12)",
        "spec.training.learningRate: must be > 0 (got 0) (line 11)",
    ] or problems(text) == [
        "spec.training.learningRate: must be > 0 (got 0) (line 11)",
        "spec.training.epochs: must be > 0 (got -1) (line 12)",
    ]


def test_every_problem_is_reported() -> None:
    text = (
        GOOD.replace("name: a/b", "name: a/b\n    path: /m") + "  method: dora\n  lora: {r: '16', alfa: 3}\n"
    )
    found = problems(text)
    assert "spec.baseModel: set exactly one of name or path (line 6)" in found
    assert "spec.method: must be one of qlora, lora, full (got 'dora') (line 11)" in found
    assert "spec.lora.r: must be an integer (got '16') (line 12)" in found
    assert "spec.lora.alfa: unknown field (did you mean alpha?) (line 12)" in found
    assert len(found) == 4


def test_unknown_top_level_and_nested_fields() -> None:
    found = problems(GOOD + "  trainng:\n    epochs: 1\nstatuss: {}\n")
    assert "spec.trainng: unknown field (did you mean training?) (line 10)" in found
    assert "statuss: unknown field (did you mean status?) (line 12)" in found


def test_wrong_kind_and_api_version() -> None:
    assert problems(GOOD.replace("kind: FineTuneJob", "kind: Deployment")) == [
        "kind: must be FineTuneJob or ModelServe (got 'Deployment') (line 2)"
    ]
    assert problems(GOOD.replace("tradetune.dev/v1alpha1", "tradetune.dev/v1")) == [
        "apiVersion: must be tradetune.dev/v1alpha1 (got 'tradetune.dev/v1') (line 1)"
    ]
    assert problems("apiVersion: v1\nkind: ConfigMap\n") == [
        "apiVersion: must be tradetune.dev/v1alpha1 (got 'v1') (line 1)",
        "kind: must be FineTuneJob or ModelServe (got 'ConfigMap') (line 2)",
    ]
    assert problems("spec: {}\n") == ["kind: required (FineTuneJob or ModelServe) (line 1)"]


def test_yaml_syntax_error_names_the_line() -> None:
    found = problems(GOOD + "  training:\n    epochs: [1\n")
    assert len(found) == 1 and found[0].startswith("line 12, column 1: invalid YAML")


def test_duplicate_keys_are_an_error() -> None:
    found = problems(GOOD + "  method: lora\n  method: full\n")
    assert found == ["line 11, column 3: invalid YAML: duplicate key 'method'"]


def test_metadata_name_rules() -> None:
    assert problems(GOOD.replace("  name: job\n", "  labels: {}\n")) == ["metadata.name: required (line 3)"]
    assert problems(GOOD.replace("name: job", "name: My_Job")) == [
        "metadata.name: must be a lowercase DNS label of at most 52 characters (got 'My_Job') (line 4)"
    ]


def test_multi_document_file(tmp_path: Path) -> None:
    serve = "apiVersion: tradetune.dev/v1alpha1\nkind: ModelServe\n"
    serve += "metadata: {name: srv}\nspec:\n  model: {path: m}\n  auth: none\n"
    path = tmp_path / "all.yaml"
    path.write_text(GOOD + "---\n" + serve + "---\n")
    job, srv = load_documents(path)
    assert isinstance(job, FineTuneJob) and isinstance(srv, ModelServe)
    path.write_text(GOOD + "---\n" + serve.replace("{path: m}", "{}") + "---\n- just a list\n")
    with pytest.raises(SpecError) as info:
        load_documents(path)
    lines = str(info.value).splitlines()
    assert lines == [
        f"{path}: document 2: spec.model: set exactly one of fromFineTuneJob or path (line 15)",
        f"{path}: document 3: (document): must be a mapping with apiVersion, kind, metadata and spec "
        "(got list) (line 18)",
    ]


def test_empty_and_missing_files(tmp_path: Path) -> None:
    empty = tmp_path / "empty.yaml"
    empty.write_text("# nothing\n---\n")
    with pytest.raises(SpecError, match="no FineTuneJob or ModelServe"):
        load_documents(empty)
    with pytest.raises(InvalidInput, match="cannot read"):
        load_documents(tmp_path / "absent.yaml")


def test_strict_types_like_the_api_server() -> None:
    found = problems(
        GOOD + "  suspend: 'yes'\n  backoffLimit: 2.5\n  resources:\n    nodeSelector: {gpu: 1}\n"
    )
    assert "spec.suspend: must be true or false (got 'yes') (line 10)" in found
    assert "spec.backoffLimit: must be an integer (got 2.5) (line 11)" in found
    assert "spec.resources.nodeSelector.gpu: must be a string (got 1) (line 13)" in found


def test_quantities_accept_numbers_and_reject_words() -> None:
    job = parse_finetunejob(
        {"baseModel": {"name": "a"}, "dataset": {"path": "d"}, "resources": {"cpu": 4, "memory": "16Gi"}}
    )
    assert (job.spec.resources.cpu, job.spec.resources.memory) == ("4", "16Gi")
    with pytest.raises(SpecError, match=r"spec.resources.memory: must be a Kubernetes quantity"):
        parse_finetunejob(
            {"baseModel": {"name": "a"}, "dataset": {"path": "d"}, "resources": {"memory": "lots"}}
        )


def test_null_means_unset() -> None:
    job = parse_finetunejob(
        {"baseModel": {"name": "a", "revision": None}, "dataset": {"path": "d"}, "training": None}
    )
    assert job.spec.base_model.revision == "main" and job.spec.training.epochs == 3
    with pytest.raises(SpecError, match=r"spec.baseModel: required"):
        parse_finetunejob({"baseModel": None, "dataset": {"path": "d"}})


def test_parse_finetunejob_accepts_bare_spec_named_after_the_file() -> None:
    job = parse_finetunejob(
        {"baseModel": {"path": "m"}, "dataset": {"generate": {}}}, source="runs/My Job.yaml"
    )
    assert job.metadata.name == "my-job" and job.kind == "FineTuneJob"
    with pytest.raises(SpecError) as info:
        parse_finetunejob(
            {"baseModel": {"path": "m"}, "dataset": {"generate": {"train": 0}}}, source="x.yaml"
        )
    assert str(info.value) == "x.yaml: spec.dataset.generate.train: must be >= 1 (got 0)"
    with pytest.raises(SpecError, match="kind: must be FineTuneJob"):
        parse_finetunejob({"kind": "ModelServe", "spec": {}})


def test_load_finetunejob_adds_lines(tmp_path: Path) -> None:
    path = tmp_path / "job.yaml"
    path.write_text(GOOD + "  training:\n    warmupSteps: -5\n")
    with pytest.raises(SpecError) as info:
        load_finetunejob(path)
    assert str(info.value) == f"{path}: spec.training.warmupSteps: must be >= 0 (got -5) (line 11)"
    path.write_text("baseModel: {path: m}\ndataset: {generate: {}}\n")
    assert load_finetunejob(path).metadata.name == "job"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("spec: " + "[" * 5000 + "]" * 5000, "(file): invalid YAML: nested too deeply"),
        (
            "? [a]\n: 1\n",
            "line 1, column 3: invalid YAML: a mapping key must be a plain value, not a list or mapping",
        ),
        (
            "kind: FineTuneJob\n\x00",
            "line 2: invalid YAML: unacceptable character #x0000 (special characters are not allowed)",
        ),
        (
            "x: !!python/object:os.system {}\n",
            "line 1, column 4: invalid YAML: could not determine a constructor",
        ),
    ],
    ids=["deep", "list-key", "nul", "python-tag"],
)
def test_hostile_yaml_gives_one_line(text: str, expected: str) -> None:
    (line,) = problems(text)
    assert line.startswith(expected)
    assert "\n" not in line


def test_load_finetunejob_bare_spec_lines_and_other_kinds(tmp_path: Path) -> None:
    path = tmp_path / "bare.yaml"
    path.write_text("baseModel: {path: m}\ndataset:\n  generate: {train: 0}\n")
    with pytest.raises(SpecError) as info:
        load_finetunejob(path)
    assert str(info.value) == f"{path}: spec.dataset.generate.train: must be >= 1 (got 0) (line 3)"
    path.write_text(GOOD + "---\n" + GOOD.replace("name: job", "name: job2"))
    with pytest.raises(SpecError, match="expected one FineTuneJob, found 2"):
        load_finetunejob(path)
    path.write_text(GOOD.replace("kind: FineTuneJob", "kind: ModelServe"))
    with pytest.raises(SpecError, match="expected one FineTuneJob, found 0"):
        load_finetunejob(path)
