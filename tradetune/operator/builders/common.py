"""Names, labels, ownership, security contexts, resources and volumes every child object shares."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from tradetune.api import API_VERSION, FineTuneJob, ResourcesSpec, VolumeRef
from tradetune.errors import SpecError
from tradetune.operator.settings import OperatorSettings

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


def pvc_volume(name: str, ref: VolumeRef, *, read_only: bool) -> dict[str, Any]:
    return {
        "name": name,
        "persistentVolumeClaim": {"claimName": ref.claim_name, **({"readOnly": True} if read_only else {})},
    }


def mount(name: str, path: str, *, sub_path: str | None = None, read_only: bool = False) -> dict[str, Any]:
    mount: dict[str, Any] = {"name": name, "mountPath": path}
    if sub_path:
        mount["subPath"] = sub_path
    if read_only:
        mount["readOnly"] = True
    return mount


# Every emptyDir has a sizeLimit, so a runaway writer is evicted instead of filling the node's
# disk (or, for the memory-backed /dev/shm, its RAM). /tmp holds HOME, compile caches and, when
# no cache volume is given, the hub download of the model: it needs room for one model.
TMP_SIZE_LIMIT = "64Gi"
SHM_SIZE_LIMIT = "2Gi"


def scratch_volumes() -> list[dict[str, Any]]:
    """Writable /tmp and /dev/shm under a read-only root filesystem (PyTorch needs shared memory)."""
    return [
        {"name": "tmp", "emptyDir": {"sizeLimit": TMP_SIZE_LIMIT}},
        {"name": "dshm", "emptyDir": {"medium": "Memory", "sizeLimit": SHM_SIZE_LIMIT}},
    ]


def scratch_mounts() -> list[dict[str, Any]]:
    return [mount("tmp", "/tmp"), mount("dshm", "/dev/shm")]


def object_meta(name: str, namespace: str, labels_: dict[str, str], owner: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "namespace": namespace, "labels": labels_, "ownerReferences": [owner]}


def ftj_identity(ftj: FineTuneJob) -> tuple[str, str, str]:
    meta = ftj.metadata
    if not meta.name or not meta.namespace or not meta.uid:
        raise ValueError("a FineTuneJob from the API server has a name, namespace and uid")
    return meta.name, meta.namespace, meta.uid


def with_spec_hash(manifest: dict[str, Any]) -> dict[str, Any]:
    """Stamp the digest of the manifest's spec into an annotation, to detect drift cheaply."""
    body = {k: v for k, v in manifest.items() if k not in ("metadata", "status")}
    meta = manifest["metadata"]
    meta.setdefault("annotations", {})[SPEC_HASH_ANNOTATION] = spec_hash(body)
    return manifest
