"""A retrain is a retrain: resume keyed on the object and its result-changing spec; the output
directory defaults to the job's name; ModelServe serves what status recorded, not the spec."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.unit.operator.fixtures import SETTINGS, UID, ftj_body
from tradetune.api import FineTuneJobStatus, parse_finetunejob, parse_modelserve
from tradetune.operator import builders
from tradetune.training.result import RunState, load_state
from tradetune.training.run_key import forget_other_runs, run_key


def _ftj(**spec: Any) -> Any:
    body = ftj_body(**spec)
    body["metadata"] = {k: body["metadata"][k] for k in ("name", "namespace", "uid", "generation")}
    return parse_finetunejob(body)


def test_the_run_key_follows_the_object_and_what_changes_the_model() -> None:
    spec = _ftj().spec
    key = run_key(spec, UID)
    assert run_key(spec, UID) == key
    assert run_key(spec, "another-uid") != key  # deleted and recreated: a new run
    assert run_key(_ftj(training={"learningRate": 0.001}).spec, UID) != key
    assert run_key(_ftj(baseModel={"path": "/cache/models/other"}).spec, UID) != key
    # Thresholds, resources and volumes do not change the trained model.
    same = _ftj(
        evaluation={"thresholds": {"perplexity": {"max": 5}}},
        resources={"cpu": "8"},
        output={"claimName": "elsewhere"},
    ).spec
    assert run_key(same, UID) == key


def test_checkpoints_of_another_run_are_dropped(tmp_path: Path) -> None:
    (tmp_path / "checkpoints" / "checkpoint-10").mkdir(parents=True)
    (tmp_path / "train_log.jsonl").write_text("{}\n")
    state = RunState(fingerprint="f", run_key="old", memory={"per_device_batch_size": 2})
    assert not forget_other_runs(tmp_path, RunState(), fingerprint="f", key="old")  # first run
    assert (tmp_path / "checkpoints").exists()
    assert forget_other_runs(tmp_path, state, fingerprint="f", key="new")
    assert not (tmp_path / "checkpoints").exists() and not (tmp_path / "train_log.jsonl").exists()
    assert state.memory is None and load_state(tmp_path).run_key == "new"
    (tmp_path / "checkpoints").mkdir()
    assert not forget_other_runs(tmp_path, load_state(tmp_path), fingerprint="f", key="new")  # resume
    assert (tmp_path / "checkpoints").exists()


def test_output_sub_path_defaults_to_the_job_name() -> None:
    job = builders.training_job(_ftj(output={"claimName": "shared"}), SETTINGS)
    mounts = {m["mountPath"]: m for m in job["spec"]["template"]["spec"]["containers"][0]["volumeMounts"]}
    assert mounts["/output"]["subPath"] == "pine"
    job = builders.training_job(_ftj(output={"claimName": "shared", "subPath": "runs/x"}), SETTINGS)
    mounts = {m["mountPath"]: m for m in job["spec"]["template"]["spec"]["containers"][0]["volumeMounts"]}
    assert mounts["/output"]["subPath"] == "runs/x"
    assert f"uid: {UID}" in builders.training_config(_ftj())


def test_model_serve_serves_the_recorded_output_not_the_current_spec() -> None:
    status = FineTuneJobStatus.model_validate(
        {
            "phase": "Succeeded",
            "artifacts": {"merged": "merged", "outputClaimName": "artifacts", "outputSubPath": "pine"},
        }
    )
    moved = _ftj(output={"claimName": "new-claim", "subPath": "elsewhere"}).model_copy(
        update={"status": status}
    )
    mserve = parse_modelserve(
        {
            "apiVersion": "tradetune.dev/v1alpha1",
            "kind": "ModelServe",
            "metadata": {"name": "llm", "namespace": "ml", "uid": "u", "generation": 1},
            "spec": {"model": {"fromFineTuneJob": "pine"}, "auth": "none"},
        }
    )
    model = builders.resolve_model(mserve, moved)
    assert model.volume is not None
    assert (model.volume.claim_name, model.volume.sub_path) == ("artifacts", "pine")


def test_status_records_where_the_outputs_are() -> None:
    from datetime import UTC, datetime

    from tests.unit.operator.fixtures import COMPLETE, job, pod, result_message
    from tradetune.operator.reconcile_finetunejob import Observed, decide

    pods = [pod("p1", "Succeeded", terminated={"exitCode": 0, "message": result_message()})]
    body = ftj_body(output={"claimName": "shared"})
    d = decide(
        body, Observed(job=job(succeeded=1, conditions=COMPLETE), pods=pods), SETTINGS, datetime.now(UTC)
    )
    assert d.status is not None
    assert d.status["artifacts"]["outputClaimName"] == "shared"
    assert d.status["artifacts"]["outputSubPath"] == "pine"
