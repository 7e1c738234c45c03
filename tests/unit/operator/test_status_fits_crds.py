"""The statuses the operator writes fit the CRDs' schemas: nothing is rejected or pruned."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from tests.unit.operator.fixtures import COMPLETE, SETTINGS, ftj_body, job, pod, result_message
from tests.unit.operator.test_reconcile_modelserve import mserve, succeeded_job
from tradetune.operator import reconcile_finetunejob as rf
from tradetune.operator import reconcile_modelserve as rm

CRDS = Path(__file__).resolve().parents[3] / "crds"


def status_schema(plural: str) -> dict[str, Any]:
    crd = yaml.safe_load((CRDS / f"{plural}.yaml").read_text())
    schema: dict[str, Any] = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["status"]
    return schema


def unknown_fields(value: Any, schema: dict[str, Any], path: str = "status") -> list[str]:
    """Paths the API server would prune (not declared and not under preserve-unknown-fields)."""
    out: list[str] = []
    if isinstance(value, dict):
        props = schema.get("properties")
        if props is None:
            return out  # a map (additionalProperties) or preserved object
        for key, item in value.items():
            if key in props:
                out += unknown_fields(item, props[key], f"{path}.{key}")
            elif not schema.get("additionalProperties"):
                out.append(f"{path}.{key}")
    elif isinstance(value, list) and "items" in schema:
        for i, item in enumerate(value):
            out += unknown_fields(item, schema["items"], f"{path}[{i}]")
    return out


def finetunejob_statuses() -> list[dict[str, Any]]:
    statuses = []
    d = rf.decide(ftj_body(), rf.Observed(), SETTINGS)
    statuses.append(d.status)
    pods = [pod("p1", "Pending", waiting="ImagePullBackOff")]
    statuses.append(rf.decide(ftj_body(), rf.Observed(job=job(active=1), pods=pods), SETTINGS).status)
    done = [pod("p1", "Succeeded", terminated={"exitCode": 0, "message": result_message()})]
    evaluating = rf.decide(
        ftj_body(), rf.Observed(job=job(succeeded=1, conditions=COMPLETE), pods=done), SETTINGS
    )
    statuses.append(evaluating.status)
    assert evaluating.status is not None
    gated = rf.decide(
        ftj_body(status=evaluating.status, promote={"modelServe": "x", "create": True, "auth": "none"}),
        rf.Observed(job=job()),
        SETTINGS,
    )
    statuses.append(gated.status)
    statuses.append(rf.decide(ftj_body(training={"learningRate": -1}), rf.Observed(), SETTINGS).status)
    return [s for s in statuses if s is not None]


@pytest.mark.parametrize("index", range(5))
def test_finetunejob_statuses_fit(index: int) -> None:
    status = finetunejob_statuses()[index]
    schema = status_schema("finetunejobs")
    jsonschema.validate(status, schema)
    assert unknown_fields(status, schema) == []


def test_modelserve_statuses_fit() -> None:
    schema = status_schema("modelserves")
    first = rm.decide(mserve(), rm.ServeObserved(fine_tune_job=succeeded_job()), SETTINGS)
    waiting = rm.decide(mserve(), rm.ServeObserved(), SETTINGS)
    for decision in (first, waiting):
        assert decision.status is not None
        jsonschema.validate(decision.status, schema)
        assert unknown_fields(decision.status, schema) == []
