"""Ownership rules: children are touched only when owned, promotion only into opted-in ModelServes."""

from __future__ import annotations

import ast
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.unit.operator.fixtures import COMPLETE, NS, SETTINGS, UID, ftj_body, job, pod, result_message
from tradetune.operator import ownership, patches
from tradetune.operator.ownership import owned_by
from tradetune.operator.reconcile_finetunejob import Observed
from tradetune.operator.reconcile_finetunejob import decide as decide_job
from tradetune.operator.reconcile_modelserve import ServeObserved
from tradetune.operator.reconcile_modelserve import decide as decide_serve

NOW = datetime(2026, 1, 1, 2, 0, tzinfo=UTC)


def _owned(uid: str | None, name: str = "x") -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "namespace": NS}
    if uid is not None:
        meta["ownerReferences"] = [{"kind": "FineTuneJob", "name": "pine", "uid": uid}]
    return {"metadata": meta}


def conds(status: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["type"]: c for c in status.get("conditions") or []}


def test_owned_by_needs_the_uid_not_the_name() -> None:
    assert ownership.owned_by(_owned(UID), UID)
    assert not ownership.owned_by(_owned("another-uid"), UID)
    assert not ownership.owned_by(_owned(None), UID)
    assert not ownership.owned_by(_owned(UID), "")


def test_first_foreign_names_the_object_in_the_way() -> None:
    found = ownership.first_foreign(UID, [("Deployment", _owned(UID)), ("Service", _owned(None, "s"))])
    assert found is not None and found[0] == "Service"
    assert ownership.first_foreign(UID, [("Deployment", None), ("Service", _owned(UID))]) is None


def test_promotion_opt_in_rules() -> None:
    def ms(model: dict[str, Any], annotations: dict[str, str] | None = None) -> dict[str, Any]:
        return {"metadata": {"name": "llm", "annotations": annotations or {}}, "spec": {"model": model}}

    assert ownership.may_promote_into(ms({"fromFineTuneJob": "pine"}), "pine", UID)
    assert not ownership.may_promote_into(ms({"fromFineTuneJob": "other"}), "pine", UID)
    assert not ownership.may_promote_into(ms({"path": "/m"}), "pine", UID)
    accept = ownership.ACCEPT_PROMOTION_ANNOTATION
    assert ownership.may_promote_into(ms({"path": "/m"}, {accept: "a, pine"}), "pine", UID)
    assert ownership.may_promote_into(ms({"path": "/m"}, {accept: "*"}), "pine", UID)
    assert not ownership.may_promote_into(ms({"path": "/m"}, {accept: "pineapple"}), "pine", UID)
    stamp = f"{NS}/pine uid={UID} generation=1"
    assert ownership.may_promote_into(ms({"path": "/m"}, {"tradetune.dev/promoted-from": stamp}), "pine", UID)
    other = f"{NS}/pine uid={UID}0 generation=1"
    assert not ownership.may_promote_into(
        ms({"path": "/m"}, {"tradetune.dev/promoted-from": other}), "pine", UID
    )


def test_a_foreign_config_map_stalls_the_job_and_nothing_is_created() -> None:
    d = decide_job(ftj_body(), Observed(config_map=_owned("someone-else", "pine-config")), SETTINGS, NOW)
    assert d.create == []
    assert d.status is not None
    stalled = conds(d.status)["Stalled"]
    assert stalled["reason"] == "NameConflict" and stalled["message"].startswith(
        "ConfigMap pine-config exists"
    )
    assert ("Warning", "NameConflict") in [(e.type, e.reason) for e in d.events]
    ours = decide_job(ftj_body(), Observed(config_map=_owned(UID, "pine-config")), SETTINGS, NOW)
    assert [m["kind"] for m in ours.create] == ["ConfigMap", "Job"]


def test_promotion_into_a_model_serve_that_did_not_opt_in_is_refused() -> None:
    pods = [pod("p1", "Succeeded", terminated={"exitCode": 0, "message": result_message()})]
    spec = {"promote": {"modelServe": "llm"}}
    first = decide_job(
        ftj_body(**spec), Observed(job=job(succeeded=1, conditions=COMPLETE), pods=pods), SETTINGS, NOW
    )
    ms = {"metadata": {"name": "llm"}, "spec": {"model": {"path": "/models/old"}}}
    d = decide_job(ftj_body(status=first.status, **spec), Observed(job=job(), model_serve=ms), SETTINGS, NOW)
    assert d.model_serve_patch is None and not d.promoted
    assert d.status is not None and d.status["phase"] == "Succeeded"
    assert conds(d.status)["Promoted"]["reason"] == "NameConflict"
    assert patches.still_moving({"metadata": {"generation": 1}, "status": d.status})


def test_a_foreign_deployment_degrades_the_model_serve_without_patches() -> None:
    body = {
        "apiVersion": "tradetune.dev/v1alpha1",
        "kind": "ModelServe",
        "metadata": {"name": "llm", "namespace": NS, "uid": "ms-uid", "generation": 1},
        "spec": {"model": {"path": "/models/tiny"}, "auth": "none"},
    }
    foreign = {"metadata": {"name": "llm-vllm"}, "spec": {"replicas": 3}}
    d = decide_serve(body, ServeObserved(deployment=foreign), SETTINGS, NOW)
    assert d.create == [] and d.patch == [] and d.degraded
    assert d.status is not None and conds(d.status)["Degraded"]["reason"] == "NameConflict"
    assert "Deployment llm-vllm exists but is not owned by ModelServe llm" in d.status["message"]


def test_patches_carry_the_observed_uid() -> None:
    patch = patches.with_uid({"spec": {"suspend": True}}, {"metadata": {"uid": "u1"}})
    assert patch == {"spec": {"suspend": True}, "metadata": {"uid": "u1"}}


OPERATOR = Path(__file__).resolve().parents[3] / "tradetune" / "operator"


def obj(*refs: dict[str, Any]) -> dict[str, Any]:
    return {"metadata": {"name": "x", "ownerReferences": list(refs)}}


@pytest.mark.parametrize(
    ("body", "uid", "owned"),
    [
        (obj({"uid": "u1"}), "u1", True),
        (obj({"uid": "u0"}, {"uid": "u1"}), "u1", True),
        (obj({"uid": "u2"}), "u1", False),
        ({"metadata": {"name": "x"}}, "u1", False),
        ({}, "u1", False),
        (obj({"name": "x"}), None, False),  # a reference without a uid is not ours when we have none
        (obj({"uid": ""}), "", False),
        ({"metadata": {"ownerReferences": ["u1"]}}, "u1", False),
    ],
)
def test_owned_by(body: dict[str, Any], uid: str | None, owned: bool) -> None:
    assert owned_by(body, uid) is owned


def test_no_other_operator_module_reads_owner_references() -> None:
    """The reconcilers and the runtime all ask `owned_by`; none reads ownerReferences itself."""
    readers = []
    for path in OPERATOR.rglob("*.py"):
        if path.name == "ownership.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Constant) and node.value == "ownerReferences":
                readers.append(path.relative_to(OPERATOR).as_posix())
    assert readers == ["builders/common.py"]  # the one place that writes them
