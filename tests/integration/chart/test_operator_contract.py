"""The chart configures the real operator: its rendered environment and profiles file go through
the operator's own settings loader and kopf arguments, for every values set."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.integration.chart._support import VALUES_SETS, Helm, load_yaml, one
from tradetune.operator.__main__ import kopf_args
from tradetune.operator.settings import load_settings


def _operator_env(objs: list[dict[str, Any]], tmp_path: Path) -> dict[str, str]:
    """The Deployment's env, with the profiles ConfigMap written where the env points."""
    container = one(objs, "Deployment")["spec"]["template"]["spec"]["containers"][0]
    env = {e["name"]: e["value"] for e in container["env"] if "value" in e}
    mount = next(m for m in container["volumeMounts"] if m["name"] == "profiles")
    profiles_file = Path(env["TRADETUNE_PROFILES_FILE"])
    assert profiles_file.parent == Path(mount["mountPath"])
    local = tmp_path / profiles_file.name
    local.write_text(one(objs, "ConfigMap")["data"][profiles_file.name], encoding="utf-8")
    env["TRADETUNE_PROFILES_FILE"] = str(local)
    return env


@pytest.mark.parametrize("name", list(VALUES_SETS))
def test_operator_accepts_the_rendered_settings(helm: Helm, tmp_path: Path, name: str) -> None:
    values = VALUES_SETS[name]
    objs = helm.render(*values)
    settings = load_settings(_operator_env(objs, tmp_path))
    args = kopf_args(settings)
    watched: list[str] = next(
        (load_yaml(Path(v))["watchNamespaces"] for v in values[1::2] if "namespace" in v), []
    )
    assert list(settings.namespaces) == watched
    if watched:
        assert [args[i + 1] for i, a in enumerate(args) if a == "--namespace"] == watched
    else:
        assert "--all-namespaces" in args
    peerings = [o for o in objs if o["kind"] in {"KopfPeering", "ClusterKopfPeering"}]
    if "multi-replica" in name:
        assert settings.peering == peerings[0]["metadata"]["name"]
        assert args[args.index("--peering") + 1] == settings.peering
        assert settings.cluster_peering == (peerings[0]["kind"] == "ClusterKopfPeering")
    else:
        assert settings.peering is None and "--standalone" in args and not peerings
    container = one(objs, "Deployment")["spec"]["template"]["spec"]["containers"][0]
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert settings.metrics_port == ports["metrics"]
    assert f"http://0.0.0.0:{ports['health']}/healthz" in args
    assert set(settings.profiles) == {"a100-80gb", "l4-24gb"}
    a100 = settings.profiles["a100-80gb"]
    assert (a100.gpus, a100.gpu_resource_name, a100.memory) == (1, "nvidia.com/gpu", "64Gi")
    assert a100.tolerations == [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]
    assert settings.trainer_image.startswith("ghcr.io/tradetune/trainer:")
    assert settings.server_image.startswith("ghcr.io/tradetune/server:")
