"""Argo CD health checks (docs/argocd/*.lua) run with a real Lua interpreter (lupa).

Argo CD runs them in gopher-lua (Lua 5.1) with the object as the global `obj`; the tests run
each fixture on Lua 5.1 and 5.4, so the scripts use nothing version-specific.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from tests.integration.chart._support import ROOT, load_yaml

ARGOCD = ROOT / "docs" / "argocd"
FIXTURES = load_yaml(Path(__file__).with_name("argocd_fixtures.yaml"))
SCRIPTS = {"FineTuneJob": ARGOCD / "finetunejob.lua", "ModelServe": ARGOCD / "modelserve.lua"}
CRDS = {"FineTuneJob": ROOT / "crds" / "finetunejobs.yaml", "ModelServe": ROOT / "crds" / "modelserves.yaml"}
ARGO_HEALTH = {"Healthy", "Progressing", "Degraded", "Suspended", "Missing", "Unknown"}
LUA_VERSIONS = ["lua51", "lua54"]
CASES = [(kind, case) for kind, cases in FIXTURES.items() for case in cases]


def run_health_check(script: str, obj: dict[str, Any], lua_version: str = "lua51") -> dict[str, Any]:
    """Run `script` the way Argo CD does: `obj` is a global table, the chunk returns `hs`."""
    lua = importlib.import_module(f"lupa.{lua_version}").LuaRuntime(unpack_returned_tuples=True)
    lua.globals().obj = lua.table_from(obj, recursive=True)
    result = lua.execute(script)
    return dict(result.items())


def _status_schema(kind: str) -> dict[str, Any]:
    crd = next(d for d in yaml.safe_load_all(CRDS[kind].read_text(encoding="utf-8")) if d)
    schema: dict[str, Any] = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["status"]
    return schema


@pytest.mark.parametrize("lua_version", LUA_VERSIONS)
@pytest.mark.parametrize(("kind", "case"), CASES, ids=[f"{k}: {c['case']}" for k, c in CASES])
def test_health(kind: str, case: dict[str, Any], lua_version: str) -> None:
    script = SCRIPTS[kind].read_text(encoding="utf-8")
    obj = {"apiVersion": "tradetune.dev/v1alpha1", "kind": kind, **case["object"]}
    health = run_health_check(script, obj, lua_version)
    assert health == case["expect"]
    assert health["status"] in ARGO_HEALTH


@pytest.mark.parametrize(("kind", "case"), CASES, ids=[f"{k}: {c['case']}" for k, c in CASES])
def test_fixtures_are_real_statuses(kind: str, case: dict[str, Any]) -> None:
    """The fixtures use the status fields the CRDs really have."""
    if "status" in case["object"]:
        jsonschema.validate(case["object"]["status"], _status_schema(kind))


def test_every_health_outcome_is_covered() -> None:
    outcomes = {kind: {c["expect"]["status"] for c in cases} for kind, cases in FIXTURES.items()}
    assert outcomes["FineTuneJob"] == {"Healthy", "Degraded", "Suspended", "Progressing"}
    assert outcomes["ModelServe"] == {"Healthy", "Degraded", "Progressing"}


def test_argocd_cm_snippets_hold_the_scripts_unchanged() -> None:
    """argocd-cm.yaml (for kubectl patch) and argo-cd-values.yaml (for the argo-cd Helm chart)
    carry the .lua files byte for byte under Argo CD's keys."""
    cm = load_yaml(ARGOCD / "argocd-cm.yaml")
    assert cm["kind"] == "ConfigMap" and cm["metadata"]["name"] == "argocd-cm"
    values = load_yaml(ARGOCD / "argo-cd-values.yaml")["configs"]["cm"]
    for kind, script in SCRIPTS.items():
        key = f"resource.customizations.health.tradetune.dev_{kind}"
        text = script.read_text(encoding="utf-8")
        assert cm["data"][key] == text, (
            "docs/argocd/argocd-cm.yaml is stale: run scripts/sync_chart_assets.py"
        )
        assert values[key] == text, (
            "docs/argocd/argo-cd-values.yaml is stale: run scripts/sync_chart_assets.py"
        )
    assert (
        set(cm["data"])
        == set(values)
        == {f"resource.customizations.health.tradetune.dev_{k}" for k in SCRIPTS}
    )


def test_a_lua_error_is_not_hidden() -> None:
    """A broken script raises here, rather than yielding a health: the tests above mean something."""
    with pytest.raises(Exception, match="attempt to index"):
        run_health_check("return obj.status.phase.x.y", {"status": {}})
