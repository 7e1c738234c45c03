"""The server's objects: what a ModelServe serves, the vLLM Deployment, its Service and NetworkPolicy."""

from __future__ import annotations

import posixpath
from dataclasses import dataclass
from typing import Any

from tradetune.api import FineTuneJob, ModelServe, VolumeRef
from tradetune.errors import require
from tradetune.operator.builders.common import (
    CACHE_DIR,
    COMPONENT_LABEL,
    INSTANCE_LABEL,
    MODEL_DIR,
    MSERVE_LABEL,
    OUTPUT_DIR,
    SERVER_CONTAINER,
    SERVER_PORT,
    container_security_context,
    labels,
    mount,
    object_meta,
    owner_reference,
    pod_security_context,
    pvc_volume,
    resolve_resources,
    scratch_mounts,
    scratch_volumes,
    server_name,
)
from tradetune.operator.settings import OperatorSettings
from tradetune.serving import ServeOptions, tradetune_serve_args


@dataclass(frozen=True)
class ResolvedModel:
    """What a ModelServe serves, with paths as the server container sees them."""

    model: str
    adapter: str | None
    volume: VolumeRef | None
    mount_path: str
    fine_tune_job: str | None = None
    revision: str | None = None
    hf_token_secret: tuple[str, str] | None = None
    cache: VolumeRef | None = None
    hub_revision: str | None = None

    @property
    def from_hub(self) -> bool:
        """The model is a hub id: the server finds it in the cache volume or downloads it."""
        return self.hub_revision is not None


# The server's whole start-up budget, in one place: the startup probe allows this long before
# the kubelet restarts the container, and `tradetune serve --ready-timeout` waits as long.
SERVER_STARTUP_SECONDS = 1800
STARTUP_PROBE_PERIOD = 10


def _under(root: str, path: str) -> str:
    return path if path.startswith("/") else posixpath.join(root, path)


class UnresolvedModelError(Exception):
    """The ModelServe's model cannot be served (yet): a CamelCase reason and a message."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


def resolve_model(mserve: ModelServe, ftj: FineTuneJob | None) -> ResolvedModel:
    """Turn `spec.model` into container paths; `ftj` is the referenced FineTuneJob, if any.

    A FineTuneJob's artifacts are served from its output volume mounted read-only at /output,
    where the trainer wrote them, so the paths in its status hold unchanged. Only a job that
    Succeeded (trained, evaluated and passed its gate) is served. Raises UnresolvedModelError otherwise.
    """
    source = mserve.spec.model
    if source.from_fine_tune_job is None:
        path = require(source.path, "spec.model.path")
        root = MODEL_DIR
        adapter = _under(root, source.adapter_path) if source.adapter_path else None
        return ResolvedModel(
            model=_under(root, path), adapter=adapter, volume=mserve.spec.volume, mount_path=root
        )
    job = source.from_fine_tune_job
    if ftj is None:
        raise UnresolvedModelError("FineTuneJobNotFound", f"FineTuneJob {job!r} does not exist")
    status = ftj.status
    if status is None or status.phase != "Succeeded":
        phase = status.phase if status is not None and status.phase else "Pending"
        raise UnresolvedModelError(
            "FineTuneJobNotSucceeded", f"FineTuneJob {job!r} is {phase}, not Succeeded"
        )
    artifacts = status.artifacts
    if artifacts is None:
        raise UnresolvedModelError("NoArtifacts", f"FineTuneJob {job!r} reported no artifacts")
    # Where the outputs were written, as recorded when training finished: a later edit of the
    # job's spec.output must not change what is served.
    volume = (
        VolumeRef(claim_name=artifacts.output_claim_name, sub_path=artifacts.output_sub_path)
        if artifacts.output_claim_name
        else ftj.spec.output
    )
    if volume is None:
        raise UnresolvedModelError(
            "NoOutputVolume", f"FineTuneJob {job!r} has no spec.output volume to serve from"
        )
    revision = f"{ftj.metadata.uid}/{ftj.metadata.generation}"
    if mserve.spec.mode == "adapter":
        if not artifacts.adapter:
            raise UnresolvedModelError("NoAdapter", f"FineTuneJob {job!r} produced no adapter (method full?)")
        base = ftj.spec.base_model
        token = base.token_secret_ref
        return ResolvedModel(
            # As the trainer reads it: a relative path is inside the cache volume.
            model=_under(CACHE_DIR, base.path) if base.path else str(base.name),
            adapter=_under(OUTPUT_DIR, artifacts.adapter),
            volume=volume,
            mount_path=OUTPUT_DIR,
            fine_tune_job=ftj.metadata.name,
            revision=revision,
            hf_token_secret=(token.name, token.key) if token is not None else None,
            cache=ftj.spec.cache,
            hub_revision=base.revision if base.name else None,
        )
    if not artifacts.merged:
        raise UnresolvedModelError("NoMergedModel", f"FineTuneJob {job!r} produced no merged model")
    return ResolvedModel(
        model=_under(OUTPUT_DIR, artifacts.merged),
        adapter=None,
        volume=volume,
        mount_path=OUTPUT_DIR,
        fine_tune_job=ftj.metadata.name,
        revision=revision,
    )


def served_model_name(mserve: ModelServe) -> str:
    return mserve.spec.served_model_name or str(mserve.metadata.name)


def server_args(mserve: ModelServe, model: ResolvedModel) -> list[str]:
    """`tradetune serve` arguments, built by the same function a local `tradetune serve` reads.

    Sharing `tradetune_serve_args` keeps the pod and the CLI from drifting apart
    (docs/contracts.md, "Server pod").
    """
    engine = mserve.spec.engine
    options = ServeOptions(
        model=model.model,
        adapter=model.adapter,
        served_model_name=served_model_name(mserve),
        host="0.0.0.0",
        port=SERVER_PORT,
        max_model_len=engine.max_model_len,
        gpu_memory_utilization=engine.gpu_memory_utilization,
        tensor_parallel_size=engine.tensor_parallel_size,
        dtype=engine.dtype,
        revision=model.hub_revision,
        max_body_bytes=mserve.spec.max_request_bytes,
        public_metrics=mserve.spec.public_metrics,
        ready_timeout=SERVER_STARTUP_SECONDS,
        extra_args=tuple(engine.extra_args),
    )
    return ["serve", *tradetune_serve_args(options)]


def mserve_identity(mserve: ModelServe) -> tuple[str, str, str]:
    meta = mserve.metadata
    if not meta.name or not meta.namespace or not meta.uid:
        raise ValueError("a ModelServe from the API server has a name, namespace and uid")
    return meta.name, meta.namespace, meta.uid


def deployment(mserve: ModelServe, model: ResolvedModel, settings: OperatorSettings) -> dict[str, Any]:
    """The vLLM Deployment: a new model replaces the old one only once it answers /health."""
    name, namespace, uid = mserve_identity(mserve)
    spec = mserve.spec
    resources = resolve_resources(spec.resources, settings)
    pod_labels = labels(name, "server")
    pod_labels[MSERVE_LABEL] = name
    selector = {INSTANCE_LABEL: name, COMPONENT_LABEL: "server", MSERVE_LABEL: name}
    env: list[dict[str, Any]] = [
        {"name": "HOME", "value": "/tmp"},
        {"name": "HF_HOME", "value": CACHE_DIR if model.cache is not None else "/tmp/hf"},
        {"name": "VLLM_CACHE_ROOT", "value": "/tmp/vllm"},
        {"name": "VLLM_NO_USAGE_STATS", "value": "1"},
    ]
    if model.from_hub and model.cache is None:
        # Nothing downloaded the base model where this pod can see it: the server fetches it
        # itself (with HF_TOKEN for a gated model) into /tmp, which is sized for one model.
        env.append({"name": "HF_HUB_OFFLINE", "value": "0"})
    if spec.auth == "apiKey" and spec.api_key_secret_ref is not None:
        ref = spec.api_key_secret_ref
        env.append(
            {"name": "VLLM_API_KEY", "valueFrom": {"secretKeyRef": {"name": ref.name, "key": ref.key}}}
        )
    if model.hf_token_secret is not None:
        env.append(
            {
                "name": "HF_TOKEN",
                "valueFrom": {
                    "secretKeyRef": {"name": model.hf_token_secret[0], "key": model.hf_token_secret[1]}
                },
            }
        )
    volumes = scratch_volumes()
    mounts = scratch_mounts()
    if model.volume is not None:
        volumes.append(pvc_volume("artifacts", model.volume, read_only=True))
        mounts.append(mount("artifacts", model.mount_path, sub_path=model.volume.sub_path, read_only=True))
    if model.cache is not None:
        # The trainer fills the cache; the server only reads it (hub snapshots, base models).
        volumes.append(pvc_volume("cache", model.cache, read_only=True))
        mounts.append(mount("cache", CACHE_DIR, sub_path=model.cache.sub_path, read_only=True))
    probe_get = {"path": "/health", "port": "http"}
    container: dict[str, Any] = {
        "name": SERVER_CONTAINER,
        "image": spec.engine.image or settings.server_image,
        "imagePullPolicy": "IfNotPresent",
        "command": ["tradetune"],
        "args": server_args(mserve, model),
        "env": env,
        "ports": [{"name": "http", "containerPort": SERVER_PORT, "protocol": "TCP"}],
        # Loading weights can take many minutes: the startup probe allows SERVER_STARTUP_SECONDS
        # before liveness applies, and `tradetune serve` waits exactly as long (server_args).
        "startupProbe": {
            "httpGet": probe_get,
            "periodSeconds": STARTUP_PROBE_PERIOD,
            "failureThreshold": SERVER_STARTUP_SECONDS // STARTUP_PROBE_PERIOD,
            "timeoutSeconds": 5,
        },
        "readinessProbe": {
            "httpGet": probe_get,
            "periodSeconds": 5,
            "failureThreshold": 3,
            "timeoutSeconds": 5,
        },
        "livenessProbe": {
            "httpGet": probe_get,
            "periodSeconds": 15,
            "failureThreshold": 4,
            "timeoutSeconds": 10,
        },
        "volumeMounts": mounts,
        "securityContext": container_security_context(),
        "terminationMessagePolicy": "FallbackToLogsOnError",
    }
    requirements = resources.requirements()
    if requirements:
        container["resources"] = requirements
    annotations: dict[str, str] = {}
    if model.revision:
        annotations["tradetune.dev/model-revision"] = model.revision
    template_meta: dict[str, Any] = {"labels": pod_labels}
    if annotations:
        template_meta["annotations"] = annotations
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": object_meta(
            server_name(name), namespace, labels(name, "server"), owner_reference("ModelServe", name, uid)
        ),
        "spec": {
            "replicas": spec.replicas,
            "selector": {"matchLabels": selector},
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1}},
            "progressDeadlineSeconds": 3600,
            "revisionHistoryLimit": 5,
            "template": {
                "metadata": template_meta,
                "spec": {
                    "automountServiceAccountToken": False,
                    "enableServiceLinks": False,
                    "securityContext": pod_security_context(),
                    "terminationGracePeriodSeconds": 60,
                    "containers": [container],
                    "volumes": volumes,
                    **resources.placement(),
                },
            },
        },
    }


def service(mserve: ModelServe) -> dict[str, Any]:
    name, namespace, uid = mserve_identity(mserve)
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": object_meta(
            server_name(name), namespace, labels(name, "server"), owner_reference("ModelServe", name, uid)
        ),
        "spec": {
            "type": "ClusterIP",
            "selector": {INSTANCE_LABEL: name, COMPONENT_LABEL: "server", MSERVE_LABEL: name},
            "ports": [{"name": "http", "port": SERVER_PORT, "targetPort": "http", "protocol": "TCP"}],
        },
    }


def network_policy(mserve: ModelServe) -> dict[str, Any]:
    """Ingress to the server pods only from the peers the spec names (its own namespace by default).

    The policy selects the server pods and allows their one port; every other connection is
    dropped by the cluster's network plugin (one that enforces NetworkPolicy is required).
    """
    name, namespace, uid = mserve_identity(mserve)
    peers: list[dict[str, Any]] = []
    for peer in mserve.spec.network.allow_from or []:
        entry: dict[str, Any] = {"podSelector": {"matchLabels": dict(peer.pod_selector or {})}}
        if peer.namespace_selector is not None:
            entry["namespaceSelector"] = {"matchLabels": dict(peer.namespace_selector)}
        peers.append(entry)
    if not peers:
        peers = [{"podSelector": {}}]  # every pod of this namespace, nobody from outside it
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": object_meta(
            server_name(name), namespace, labels(name, "server"), owner_reference("ModelServe", name, uid)
        ),
        "spec": {
            "podSelector": {
                "matchLabels": {INSTANCE_LABEL: name, COMPONENT_LABEL: "server", MSERVE_LABEL: name}
            },
            "policyTypes": ["Ingress"],
            "ingress": [{"from": peers, "ports": [{"protocol": "TCP", "port": SERVER_PORT}]}],
        },
    }


def endpoint(mserve: ModelServe) -> str:
    name, namespace, _ = mserve_identity(mserve)
    return f"http://{server_name(name)}.{namespace}.svc:{SERVER_PORT}/v1"
