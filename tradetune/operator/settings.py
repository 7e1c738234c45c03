"""Operator settings from the environment (the Helm chart sets these variables).

| variable | default | meaning |
| --- | --- | --- |
| `TRADETUNE_NAMESPACES` | empty (all) | comma-separated namespaces to watch |
| `TRADETUNE_TRAINER_IMAGE` | `ghcr.io/tradetune/trainer:<version>` | image of trainer pods |
| `TRADETUNE_SERVER_IMAGE` | `ghcr.io/tradetune/server:<version>` | image of vLLM server pods |
| `TRADETUNE_PROFILES_FILE` | unset | YAML map of named resource profiles |
| `TRADETUNE_METRICS_PORT` | `8080` | Prometheus `/metrics` port (0 disables) |
| `TRADETUNE_LIVENESS_PORT` | `8081` | kopf's `/healthz` port (0 disables) |
| `TRADETUNE_WATCH_SERVER_TIMEOUT` | `300` | seconds before the API server ends a watch (it is reopened) |
| `TRADETUNE_WATCH_CLIENT_TIMEOUT` | server timeout + 30 | client-side limit of one watch request |
| `TRADETUNE_RESYNC_SECONDS` | `60` | how often every object is reconciled even without events |
| `TRADETUNE_PROGRESS_SECONDS` | `15` | least seconds between two reads of one running trainer pod's log |
| `TRADETUNE_PROGRESS_TAIL_LINES` | `50` | lines read from the end of that log |
| `TRADETUNE_PEERING` | unset (standalone) | kopf peering name, for several replicas (docs/operator.md) |
| `TRADETUNE_CLUSTER_PEERING` | the operator's scope | `true`: ClusterKopfPeering, `false`: KopfPeering |
| `TRADETUNE_PEERING_PRIORITY` | random per process | this replica's kopf priority: the highest is active |
| `TRADETUNE_PEERING_LIFETIME` | `60` | seconds a peering record lives unrenewed: failover after a crash |
| `POD_ID` | `<host>-<pid>` | this replica's peering identity (the chart sets the pod name) |

Bad values raise `InvalidInput` naming the variable, so the pod fails at start with one line
instead of misbehaving later.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from tradetune import __version__
from tradetune.api._kubeyaml import KubeLoader
from tradetune.errors import InvalidInput

DEFAULT_REGISTRY = "ghcr.io/tradetune"


@dataclass(frozen=True)
class ResourceProfile:
    """A named set of pod resources and placement, picked by `spec.resources.profile`."""

    gpus: int | None = None
    gpu_resource_name: str | None = None
    cpu: str | None = None
    memory: str | None = None
    node_selector: dict[str, str] = field(default_factory=dict)
    tolerations: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class OperatorSettings:
    namespaces: tuple[str, ...] = ()
    trainer_image: str = f"{DEFAULT_REGISTRY}/trainer:{__version__}"
    server_image: str = f"{DEFAULT_REGISTRY}/server:{__version__}"
    profiles: Mapping[str, ResourceProfile] = field(default_factory=dict)
    metrics_port: int = 8080
    liveness_port: int = 8081
    watch_server_timeout: int = 300
    watch_client_timeout: int = 330
    resync_seconds: float = 60.0
    progress_seconds: float = 15.0
    progress_tail_lines: int = 50
    peering: str | None = None
    cluster_peering: bool | None = None
    peering_priority: int = 0
    peering_lifetime: int = 60
    identity: str = ""

    @property
    def clusterwide(self) -> bool:
        return not self.namespaces


def _int(env: Mapping[str, str], name: str, default: int, *, minimum: int = 0) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise InvalidInput(f"{name}: expected an integer, got {raw!r}") from None
    if value < minimum:
        raise InvalidInput(f"{name}: must be >= {minimum}, got {value}")
    return value


def _float(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise InvalidInput(f"{name}: expected a number of seconds, got {raw!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise InvalidInput(f"{name}: must be a finite number of seconds > 0, got {raw!r}")
    return value


def load_profiles(path: Path) -> dict[str, ResourceProfile]:
    """Read the profiles file: `name: {gpus, gpuResourceName, cpu, memory, nodeSelector, tolerations}`."""
    where = "TRADETUNE_PROFILES_FILE"
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=KubeLoader) or {}
    except OSError as exc:
        raise InvalidInput(f"{where}: cannot read {path}: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise InvalidInput(f"{where}: {path} is not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise InvalidInput(f"{where}: {path} must hold a map of profile name to resources")
    known = {"gpus", "gpuResourceName", "cpu", "memory", "nodeSelector", "tolerations"}
    profiles: dict[str, ResourceProfile] = {}
    for name, raw in data.items():
        if not isinstance(raw, dict):
            raise InvalidInput(f"{where}: profile {name!r} must be a map")
        unknown = sorted(set(raw) - known)
        if unknown:
            raise InvalidInput(f"{where}: profile {name!r}: unknown field(s) {', '.join(unknown)}")
        gpus = raw.get("gpus")
        if gpus is not None and (not isinstance(gpus, int) or gpus < 0):
            raise InvalidInput(f"{where}: profile {name!r}: gpus must be a non-negative integer")
        node_selector = raw.get("nodeSelector") or {}
        tolerations = raw.get("tolerations") or []
        if not isinstance(node_selector, dict) or not isinstance(tolerations, list):
            raise InvalidInput(f"{where}: profile {name!r}: nodeSelector is a map, tolerations a list")
        profiles[str(name)] = ResourceProfile(
            gpus=gpus,
            gpu_resource_name=raw.get("gpuResourceName"),
            cpu=None if raw.get("cpu") is None else str(raw["cpu"]),
            memory=None if raw.get("memory") is None else str(raw["memory"]),
            node_selector={str(k): str(v) for k, v in node_selector.items()},
            tolerations=[dict(t) for t in tolerations],
        )
    return profiles


def resync_seconds(env: Mapping[str, str] | None = None) -> float:
    """TRADETUNE_RESYNC_SECONDS, validated (kopf's timers need it when the handlers are imported)."""
    return _float(os.environ if env is None else env, "TRADETUNE_RESYNC_SECONDS", 60.0)


def load_settings(env: Mapping[str, str] | None = None) -> OperatorSettings:
    """Build the settings from `env` (default: the process environment)."""
    env = os.environ if env is None else env
    namespaces = tuple(ns.strip() for ns in env.get("TRADETUNE_NAMESPACES", "").split(",") if ns.strip())
    profiles_file = env.get("TRADETUNE_PROFILES_FILE", "").strip()
    server_timeout = _int(env, "TRADETUNE_WATCH_SERVER_TIMEOUT", 300, minimum=1)
    peering = env.get("TRADETUNE_PEERING", "").strip() or None
    raw_cluster = env.get("TRADETUNE_CLUSTER_PEERING", "").strip().lower()
    if raw_cluster not in ("", "true", "false", "1", "0", "yes", "no"):
        raise InvalidInput(f"TRADETUNE_CLUSTER_PEERING: expected true or false, got {raw_cluster!r}")
    return OperatorSettings(
        namespaces=namespaces,
        trainer_image=env.get("TRADETUNE_TRAINER_IMAGE", "").strip() or OperatorSettings.trainer_image,
        server_image=env.get("TRADETUNE_SERVER_IMAGE", "").strip() or OperatorSettings.server_image,
        profiles=load_profiles(Path(profiles_file)) if profiles_file else {},
        metrics_port=_int(env, "TRADETUNE_METRICS_PORT", 8080),
        liveness_port=_int(env, "TRADETUNE_LIVENESS_PORT", 8081),
        watch_server_timeout=server_timeout,
        watch_client_timeout=_int(env, "TRADETUNE_WATCH_CLIENT_TIMEOUT", server_timeout + 30, minimum=1),
        resync_seconds=resync_seconds(env),
        progress_seconds=_float(env, "TRADETUNE_PROGRESS_SECONDS", 15.0),
        progress_tail_lines=_int(env, "TRADETUNE_PROGRESS_TAIL_LINES", 50, minimum=1),
        peering=peering,
        cluster_peering=None if not raw_cluster else raw_cluster in ("true", "1", "yes"),
        peering_priority=_int(env, "TRADETUNE_PEERING_PRIORITY", 0),
        peering_lifetime=_int(env, "TRADETUNE_PEERING_LIFETIME", 60, minimum=5),
        identity=env.get("POD_ID", "").strip(),
    )
