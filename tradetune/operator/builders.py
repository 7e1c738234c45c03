"""Kubernetes manifests of the objects the operator owns: pure functions of a spec and the settings.

Every child has a deterministic name (so a restarted operator finds instead of duplicating),
an ownerReference to its TradeTune object (so Kubernetes collects it), the
`app.kubernetes.io/*` labels and `tradetune.dev/finetunejob` where it belongs to a job.
Pods run under the restricted Pod Security Standard: non-root, no privilege escalation, all
capabilities dropped, RuntimeDefault seccomp, read-only root filesystem with emptyDir scratch.
Secrets appear only as `secretKeyRef`s. docs/contracts.md fixes the pod contracts.
"""

from __future__ import annotations

import hashlib
import json
import posixpath
from dataclasses import dataclass
from typing import Any

import yaml

from tradetune.api import API_VERSION, FineTuneJob, ModelServe, ResourcesSpec, VolumeRef
from tradetune.errors import SpecError
from tradetune.operator.settings import OperatorSettings
from tradetune.serving import ServeOptions, tradetune_serve_args

NAME_LABEL = "app.kubernetes.io/name"
INSTANCE_LABEL = "app.kubernetes.io/instance"
COMPONENT_LABEL = "app.kubernetes.io/component"
MANAGED_BY_LABEL = "app.kubernetes.io/managed-by"
PART_OF_LABEL = "app.kubernetes.io/part-of"
FTJ_LABEL = "tradetune.dev/finetunejob"
MSERVE_LABEL = "tradetune.dev/modelserve"
MANAGED_BY = "tradetune-operator"
SPEC_HASH_ANNOTATION = "tradetune.dev/spec-hash"
PROMOTED_FROM_ANNOTATION = "tradetune.dev/promoted-from"

TRAINER_CONTAINER = "trainer"
SERVER_CONTAINER = "vllm"
SERVER_PORT = 8000
CONFIG_DIR = "/etc/tradetune"
OUTPUT_DIR = "/output"
CACHE_DIR = "/cache"
MODEL_DIR = "/models"
RUN_AS = 1000


def config_map_name(ftj_name: str) -> str:
    return f"{ftj_name}-config"


def job_name(ftj_name: str) -> str:
    return f"{ftj_name}-train"


def server_name(mserve_name: str) -> str:
    return f"{mserve_name}-vllm"


def labels(instance: str, component: str, *, finetunejob: str | None = None) -> dict[str, str]:
    result = {
        NAME_LABEL: "tradetune",
        INSTANCE_LABEL: instance,
        COMPONENT_LABEL: component,
        MANAGED_BY_LABEL: MANAGED_BY,
        PART_OF_LABEL: "tradetune",
    }
    if finetunejob is not None:
        result[FTJ_LABEL] = finetunejob
    return result


def owner_reference(kind: str, name: str, uid: str) -> dict[str, Any]:
    return {
        "apiVersion": API_VERSION,
        "kind": kind,
        "name": name,
        "uid": uid,
        "controller": True,
        "blockOwnerDeletion": True,
    }


def spec_hash(obj: Any) -> str:
    """A short stable digest of a manifest part: a change means the child must be patched."""
    return hashlib.sha256(json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()).hexdigest()[:16]


def pod_security_context() -> dict[str, Any]:
    return {
        "runAsNonRoot": True,
        "runAsUser": RUN_AS,
        "runAsGroup": RUN_AS,
        "fsGroup": RUN_AS,
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def container_security_context() -> dict[str, Any]:
    return {
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "runAsNonRoot": True,
        "capabilities": {"drop": ["ALL"]},
        "seccompProfile": {"type": "RuntimeDefault"},
    }


@dataclass(frozen=True)
class PodResources:
    """Resources and placement after merging a named profile with the spec's own fields."""

    gpus: int
    gpu_resource_name: str
    cpu: str | None
    memory: str | None
    node_selector: dict[str, str]
    tolerations: list[dict[str, Any]]
    affinity: dict[str, Any] | None
    priority_class_name: str | None

    def requirements(self) -> dict[str, Any]:
        """Requests equal limits: GPUs cannot be overcommitted and a training pod should be Guaranteed."""
        amounts: dict[str, str] = {}
        if self.cpu:
            amounts["cpu"] = self.cpu
        if self.memory:
            amounts["memory"] = self.memory
        if self.gpus > 0:
            amounts[self.gpu_resource_name] = str(self.gpus)
        return {"requests": dict(amounts), "limits": dict(amounts)} if amounts else {}

    def placement(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.node_selector:
            out["nodeSelector"] = dict(self.node_selector)
        if self.tolerations:
            out["tolerations"] = [dict(t) for t in self.tolerations]
        if self.affinity:
            out["affinity"] = self.affinity
        if self.priority_class_name:
            out["priorityClassName"] = self.priority_class_name
        return out


def resolve_resources(spec: ResourcesSpec, settings: OperatorSettings) -> PodResources:
    """The profile named by `spec.profile` first, then every field the spec sets explicitly."""
    explicit = spec.model_fields_set
    if spec.profile is None:
        return PodResources(
            gpus=spec.gpus,
            gpu_resource_name=spec.gpu_resource_name,
            cpu=spec.cpu,
            memory=spec.memory,
            node_selector=dict(spec.node_selector),
            tolerations=list(spec.tolerations),
            affinity=spec.affinity,
            priority_class_name=spec.priority_class_name,
        )
    profile = settings.profiles.get(spec.profile)
    if profile is None:
        known = ", ".join(sorted(settings.profiles)) or "none configured"
        raise SpecError([("spec.resources.profile", f"unknown profile {spec.profile!r} (known: {known})")])
    return PodResources(
        gpus=spec.gpus if "gpus" in explicit or profile.gpus is None else profile.gpus,
        gpu_resource_name=(
            spec.gpu_resource_name
            if "gpu_resource_name" in explicit or profile.gpu_resource_name is None
            else profile.gpu_resource_name
        ),
        cpu=spec.cpu if spec.cpu is not None else profile.cpu,
        memory=spec.memory if spec.memory is not None else profile.memory,
        node_selector={**profile.node_selector, **spec.node_selector},
        tolerations=[*profile.tolerations, *spec.tolerations],
        affinity=spec.affinity,
        priority_class_name=spec.priority_class_name,
    )


def _pvc_volume(name: str, ref: VolumeRef, *, read_only: bool) -> dict[str, Any]:
    return {
        "name": name,
        "persistentVolumeClaim": {"claimName": ref.claim_name, **({"readOnly": True} if read_only else {})},
    }


def _mount(name: str, path: str, *, sub_path: str | None = None, read_only: bool = False) -> dict[str, Any]:
    mount: dict[str, Any] = {"name": name, "mountPath": path}
    if sub_path:
        mount["subPath"] = sub_path
    if read_only:
        mount["readOnly"] = True
    return mount


def _scratch_volumes() -> list[dict[str, Any]]:
    """Writable /tmp and /dev/shm under a read-only root filesystem (PyTorch needs shared memory)."""
    return [
        {"name": "tmp", "emptyDir": {}},
        {"name": "dshm", "emptyDir": {"medium": "Memory"}},
    ]


def _scratch_mounts() -> list[dict[str, Any]]:
    return [_mount("tmp", "/tmp"), _mount("dshm", "/dev/shm")]


def _meta(name: str, namespace: str, labels_: dict[str, str], owner: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "namespace": namespace, "labels": labels_, "ownerReferences": [owner]}


def _ftj_identity(ftj: FineTuneJob) -> tuple[str, str, str]:
    meta = ftj.metadata
    if not meta.name or not meta.namespace or not meta.uid:
        raise ValueError("a FineTuneJob from the API server has a name, namespace and uid")
    return meta.name, meta.namespace, meta.uid


def training_config(ftj: FineTuneJob) -> str:
    """The `job.yaml` the trainer reads: the FineTuneJob as the user wrote it, without status."""
    name, namespace, _ = _ftj_identity(ftj)
    doc = {
        "apiVersion": API_VERSION,
        "kind": "FineTuneJob",
        "metadata": {"name": name, "namespace": namespace},
        "spec": ftj.spec.model_dump(by_alias=True, exclude_none=True, mode="json"),
    }
    return yaml.safe_dump(doc, sort_keys=False)


def config_map(ftj: FineTuneJob) -> dict[str, Any]:
    name, namespace, uid = _ftj_identity(ftj)
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": _meta(
            config_map_name(name),
            namespace,
            labels(name, "training-config", finetunejob=name),
            owner_reference("FineTuneJob", name, uid),
        ),
        "data": {"job.yaml": training_config(ftj)},
    }


def training_job(ftj: FineTuneJob, settings: OperatorSettings) -> dict[str, Any]:
    """The batch/v1 Job running `tradetune train` once (plus backoffLimit retries)."""
    name, namespace, uid = _ftj_identity(ftj)
    spec = ftj.spec
    resources = resolve_resources(spec.resources, settings)
    pod_labels = labels(name, "trainer", finetunejob=name)
    env: list[dict[str, Any]] = [
        {"name": "HOME", "value": "/tmp"},
        {"name": "HF_HOME", "value": CACHE_DIR},
        {"name": "TRADETUNE_RESULT_PATH", "value": "/dev/termination-log"},
        {"name": "PYTHONUNBUFFERED", "value": "1"},
    ]
    token = spec.base_model.token_secret_ref
    if token is not None:
        env.append(
            {"name": "HF_TOKEN", "valueFrom": {"secretKeyRef": {"name": token.name, "key": token.key}}}
        )
    volumes: list[dict[str, Any]] = [
        {"name": "config", "configMap": {"name": config_map_name(name)}},
        *_scratch_volumes(),
    ]
    mounts = [_mount("config", CONFIG_DIR, read_only=True), *_scratch_mounts()]
    if spec.output is not None:
        volumes.append(_pvc_volume("output", spec.output, read_only=False))
        mounts.append(_mount("output", OUTPUT_DIR, sub_path=spec.output.sub_path))
    else:
        volumes.append({"name": "output", "emptyDir": {}})
        mounts.append(_mount("output", OUTPUT_DIR))
    if spec.cache is not None:
        volumes.append(_pvc_volume("cache", spec.cache, read_only=False))
        mounts.append(_mount("cache", CACHE_DIR, sub_path=spec.cache.sub_path))
    else:
        volumes.append({"name": "cache", "emptyDir": {}})
        mounts.append(_mount("cache", CACHE_DIR))
    container: dict[str, Any] = {
        "name": TRAINER_CONTAINER,
        "image": spec.image or settings.trainer_image,
        "imagePullPolicy": "IfNotPresent",
        "command": ["tradetune", "train", "--config", f"{CONFIG_DIR}/job.yaml", "--output", OUTPUT_DIR],
        "env": env,
        "volumeMounts": mounts,
        "securityContext": container_security_context(),
        "terminationMessagePath": "/dev/termination-log",
        "terminationMessagePolicy": "FallbackToLogsOnError",
    }
    requirements = resources.requirements()
    if requirements:
        container["resources"] = requirements
    pod_spec: dict[str, Any] = {
        "restartPolicy": "Never",
        "automountServiceAccountToken": False,
        "enableServiceLinks": False,
        "securityContext": pod_security_context(),
        "containers": [container],
        "volumes": volumes,
        **resources.placement(),
    }
    job_spec: dict[str, Any] = {
        "backoffLimit": spec.backoff_limit,
        "suspend": spec.suspend,
        # Exit code 2 is bad input (tradetune.errors.InvalidInput): retrying cannot help.
        "podFailurePolicy": {
            "rules": [
                {
                    "action": "FailJob",
                    "onExitCodes": {"containerName": TRAINER_CONTAINER, "operator": "In", "values": [2]},
                },
                {"action": "Ignore", "onPodConditions": [{"type": "DisruptionTarget", "status": "True"}]},
            ]
        },
        "template": {"metadata": {"labels": pod_labels}, "spec": pod_spec},
    }
    if spec.active_deadline_seconds is not None:
        job_spec["activeDeadlineSeconds"] = spec.active_deadline_seconds
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": _meta(
            job_name(name),
            namespace,
            labels(name, "trainer", finetunejob=name),
            owner_reference("FineTuneJob", name, uid),
        ),
        "spec": job_spec,
    }


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
        assert source.path is not None
        root = MODEL_DIR
        adapter = _under(root, source.adapter_path) if source.adapter_path else None
        return ResolvedModel(
            model=_under(root, source.path), adapter=adapter, volume=mserve.spec.volume, mount_path=root
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
    if ftj.spec.output is None:
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
            model=base.path if base.path else str(base.name),
            adapter=_under(OUTPUT_DIR, artifacts.adapter),
            volume=ftj.spec.output,
            mount_path=OUTPUT_DIR,
            fine_tune_job=ftj.metadata.name,
            revision=revision,
            hf_token_secret=(token.name, token.key) if token is not None else None,
            cache=ftj.spec.cache,
        )
    if not artifacts.merged:
        raise UnresolvedModelError("NoMergedModel", f"FineTuneJob {job!r} produced no merged model")
    return ResolvedModel(
        model=_under(OUTPUT_DIR, artifacts.merged),
        adapter=None,
        volume=ftj.spec.output,
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
        extra_args=tuple(engine.extra_args),
    )
    return ["serve", *tradetune_serve_args(options)]


def _mserve_identity(mserve: ModelServe) -> tuple[str, str, str]:
    meta = mserve.metadata
    if not meta.name or not meta.namespace or not meta.uid:
        raise ValueError("a ModelServe from the API server has a name, namespace and uid")
    return meta.name, meta.namespace, meta.uid


def deployment(mserve: ModelServe, model: ResolvedModel, settings: OperatorSettings) -> dict[str, Any]:
    """The vLLM Deployment: a new model replaces the old one only once it answers /health."""
    name, namespace, uid = _mserve_identity(mserve)
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
    if spec.api_key_secret_ref is not None:
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
    volumes = _scratch_volumes()
    mounts = _scratch_mounts()
    if model.volume is not None:
        volumes.append(_pvc_volume("artifacts", model.volume, read_only=True))
        mounts.append(_mount("artifacts", model.mount_path, sub_path=model.volume.sub_path, read_only=True))
    if model.cache is not None:
        volumes.append(_pvc_volume("cache", model.cache, read_only=False))
        mounts.append(_mount("cache", CACHE_DIR, sub_path=model.cache.sub_path))
    probe_get = {"path": "/health", "port": "http"}
    container: dict[str, Any] = {
        "name": SERVER_CONTAINER,
        "image": spec.engine.image or settings.server_image,
        "imagePullPolicy": "IfNotPresent",
        "command": ["tradetune"],
        "args": server_args(mserve, model),
        "env": env,
        "ports": [{"name": "http", "containerPort": SERVER_PORT, "protocol": "TCP"}],
        # Loading weights can take many minutes: the startup probe allows 30 min before liveness applies.
        "startupProbe": {
            "httpGet": probe_get,
            "periodSeconds": 10,
            "failureThreshold": 180,
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
        "metadata": _meta(
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
    name, namespace, uid = _mserve_identity(mserve)
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": _meta(
            server_name(name), namespace, labels(name, "server"), owner_reference("ModelServe", name, uid)
        ),
        "spec": {
            "type": "ClusterIP",
            "selector": {INSTANCE_LABEL: name, COMPONENT_LABEL: "server", MSERVE_LABEL: name},
            "ports": [{"name": "http", "port": SERVER_PORT, "targetPort": "http", "protocol": "TCP"}],
        },
    }


def endpoint(mserve: ModelServe) -> str:
    name, namespace, _ = _mserve_identity(mserve)
    return f"http://{server_name(name)}.{namespace}.svc:{SERVER_PORT}/v1"


def with_spec_hash(manifest: dict[str, Any]) -> dict[str, Any]:
    """Stamp the digest of the manifest's spec into an annotation, to detect drift cheaply."""
    body = {k: v for k, v in manifest.items() if k not in ("metadata", "status")}
    meta = manifest["metadata"]
    meta.setdefault("annotations", {})[SPEC_HASH_ANNOTATION] = spec_hash(body)
    return manifest


def model_serve_for_promotion(ftj: FineTuneJob, *, existing: dict[str, Any] | None) -> dict[str, Any] | None:
    """The ModelServe create body or merge patch that points a ModelServe at this job.

    The annotation names the job's uid and generation so a rollout is traceable to the exact
    spec that produced the model.
    """
    name, namespace, uid = _ftj_identity(ftj)
    promote = ftj.spec.promote
    assert promote is not None
    stamp = f"{namespace}/{name} uid={uid} generation={ftj.metadata.generation}"
    if existing is None:
        return {
            "apiVersion": API_VERSION,
            "kind": "ModelServe",
            "metadata": {
                "name": promote.model_serve,
                "namespace": namespace,
                "labels": {**labels(promote.model_serve, "model-serve"), FTJ_LABEL: name},
                "annotations": {PROMOTED_FROM_ANNOTATION: stamp},
            },
            "spec": {"model": {"fromFineTuneJob": name}},
        }
    return {
        "metadata": {"labels": {FTJ_LABEL: name}, "annotations": {PROMOTED_FROM_ANNOTATION: stamp}},
        "spec": {"model": {"fromFineTuneJob": name, "path": None, "adapterPath": None}},
    }
