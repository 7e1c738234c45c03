"""The trainer's objects: its job.yaml ConfigMap and the batch/v1 Job, and the promotion body."""

from __future__ import annotations

from typing import Any

import yaml

from tradetune.api import API_VERSION, FineTuneJob, PromoteSpec, VolumeRef
from tradetune.errors import require
from tradetune.operator.builders.common import (
    CACHE_DIR,
    CONFIG_DIR,
    FTJ_LABEL,
    OUTPUT_DIR,
    PROMOTED_FROM_ANNOTATION,
    TMP_SIZE_LIMIT,
    TRAINER_CONTAINER,
    config_map_name,
    container_security_context,
    ftj_identity,
    job_name,
    labels,
    mount,
    object_meta,
    owner_reference,
    pod_security_context,
    pvc_volume,
    resolve_resources,
    scratch_mounts,
    scratch_volumes,
)
from tradetune.operator.settings import OperatorSettings


def training_config(ftj: FineTuneJob) -> str:
    """The `job.yaml` the trainer reads: the FineTuneJob as the user wrote it, without status."""
    name, namespace, uid = ftj_identity(ftj)
    doc = {
        "apiVersion": API_VERSION,
        "kind": "FineTuneJob",
        # The uid keys resume: a recreated object never continues the old one's checkpoints.
        "metadata": {"name": name, "namespace": namespace, "uid": uid},
        "spec": ftj.spec.model_dump(by_alias=True, exclude_none=True, mode="json"),
    }
    return yaml.safe_dump(doc, sort_keys=False)


def resolved_output(ftj: FineTuneJob) -> VolumeRef:
    """The output volume as mounted: `subPath` defaults to the job's name, so two jobs sharing a
    claim never write into one directory (status.artifacts records it for ModelServe)."""
    output = require(ftj.spec.output, "spec.output")
    name = str(ftj.metadata.name)
    return output.model_copy(update={"sub_path": output.sub_path or name})


def config_map(ftj: FineTuneJob) -> dict[str, Any]:
    name, namespace, uid = ftj_identity(ftj)
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": object_meta(
            config_map_name(name),
            namespace,
            labels(name, "training-config", finetunejob=name),
            owner_reference("FineTuneJob", name, uid),
        ),
        "data": {"job.yaml": training_config(ftj)},
    }


def training_job(ftj: FineTuneJob, settings: OperatorSettings) -> dict[str, Any]:
    """The batch/v1 Job running `tradetune train` once (plus backoffLimit retries)."""
    name, namespace, uid = ftj_identity(ftj)
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
        *scratch_volumes(),
    ]
    mounts = [mount("config", CONFIG_DIR, read_only=True), *scratch_mounts()]
    if spec.output is not None:
        volumes.append(pvc_volume("output", spec.output, read_only=False))
        mounts.append(mount("output", OUTPUT_DIR, sub_path=resolved_output(ftj).sub_path))
    else:
        volumes.append({"name": "output", "emptyDir": {"sizeLimit": TMP_SIZE_LIMIT}})
        mounts.append(mount("output", OUTPUT_DIR))
    if spec.cache is not None:
        volumes.append(pvc_volume("cache", spec.cache, read_only=False))
        mounts.append(mount("cache", CACHE_DIR, sub_path=spec.cache.sub_path))
    else:
        volumes.append({"name": "cache", "emptyDir": {"sizeLimit": TMP_SIZE_LIMIT}})
        mounts.append(mount("cache", CACHE_DIR))
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
        "metadata": object_meta(
            job_name(name),
            namespace,
            labels(name, "trainer", finetunejob=name),
            owner_reference("FineTuneJob", name, uid),
        ),
        "spec": job_spec,
    }


# The trainer's scheduling a created ModelServe reuses when promote.modelServeTemplate names no resources.
SCHEDULING_FIELDS = (
    "profile",
    "gpus",
    "gpu_resource_name",
    "node_selector",
    "tolerations",
    "affinity",
    "priority_class_name",
)


def model_serve_settings(ftj: FineTuneJob) -> dict[str, Any]:
    """The ModelServe spec (besides model) that promote.create gives: the template, else the job's scheduling.

    Without them the server's Deployment requests a GPU with no nodeSelector or tolerations and
    never schedules on the tainted GPU nodes the trainer ran on.
    """
    promote = ftj.spec.promote
    template = promote.model_serve_template if promote is not None else None
    spec: dict[str, Any] = {}
    if template is not None:
        spec = template.model_dump(by_alias=True, exclude_none=True, mode="json")
    if promote is not None:
        spec.update(_access(promote))
    if template is None or template.resources is None:
        trainer = ftj.spec.resources.model_dump(
            include=set(SCHEDULING_FIELDS), by_alias=True, exclude_none=True, mode="json"
        )
        spec["resources"] = {k: v for k, v in trainer.items() if v not in ({}, [])}
    return spec


def model_serve_for_promotion(ftj: FineTuneJob, *, existing: dict[str, Any] | None) -> dict[str, Any] | None:
    """The ModelServe create body or merge patch that points a ModelServe at this job.

    The annotation names the job's uid and generation so a rollout is traceable to the exact
    spec that produced the model.
    """
    name, namespace, uid = ftj_identity(ftj)
    promote = require(ftj.spec.promote, "spec.promote")
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
            "spec": {"model": {"fromFineTuneJob": name}, **model_serve_settings(ftj)},
        }
    return {
        "metadata": {"labels": {FTJ_LABEL: name}, "annotations": {PROMOTED_FROM_ANNOTATION: stamp}},
        "spec": {"model": {"fromFineTuneJob": name, "path": None, "adapterPath": None}},
    }


def _access(promote: PromoteSpec) -> dict[str, Any]:
    """The created ModelServe's auth, as the promotion says (its rules make it a key or `none`)."""
    if promote.api_key_secret_ref is None:
        return {"auth": promote.auth}
    ref = promote.api_key_secret_ref
    return {"auth": promote.auth, "apiKeySecretRef": {"name": ref.name, "key": ref.key}}
