"""The rollout's children: a revision's Deployment name, the candidate Service, the verification Job.

The verification Job is built like the trainer Job (trainer image, restricted pod, no API
rights, result through the termination message): it runs `tradetune evaluate --endpoint`
against the candidate Service (before the switch) or the main Service (re-verification at the
end of the watch window) on `spec.rollout.samples` items of the FineTuneJob's own test split,
read from its output volume mounted read-only. The operator compares the reported metrics
with the job's recorded ones (`tradetune.api.verify_live`); the Job itself judges nothing.
"""

from __future__ import annotations

from typing import Any

from tradetune.api import ModelServe
from tradetune.api._rollout import RolloutSpec
from tradetune.operator.builders.common import (
    COMPONENT_LABEL,
    INSTANCE_LABEL,
    MSERVE_LABEL,
    OUTPUT_DIR,
    SERVER_PORT,
    TRAINER_CONTAINER,
    container_security_context,
    labels,
    mount,
    object_meta,
    owner_reference,
    pod_security_context,
    pvc_volume,
    scratch_mounts,
    scratch_volumes,
    server_name,
)
from tradetune.operator.builders.server import (
    ResolvedModel,
    deployment,
    mserve_identity,
    served_model_name,
    service,
)
from tradetune.operator.rollout_types import Stage, revision_slug, verify_job_name
from tradetune.operator.settings import OperatorSettings

REVISION_LABEL = "tradetune.dev/revision"
TEST_SPLIT = f"{OUTPUT_DIR}/data/test.jsonl"
API_KEY_ENV = "TRADETUNE_VERIFY_API_KEY"
VERIFY_BACKOFF_LIMIT = 1
VERIFY_DEADLINE_SECONDS = 3600


def revision_deployment_name(mserve_name: str, revision: str) -> str:
    """The Deployment serving one revision: the revision (as a slug) is part of its name."""
    return f"{server_name(mserve_name)}-{revision_slug(revision)}"


def candidate_service_name(mserve_name: str) -> str:
    return f"{server_name(mserve_name)}-candidate"


def revision_selector(mserve_name: str, revision: str) -> dict[str, str]:
    """The pod labels a Service selects to send traffic to one revision (no mesh needed)."""
    return {
        INSTANCE_LABEL: mserve_name,
        COMPONENT_LABEL: "server",
        MSERVE_LABEL: mserve_name,
        REVISION_LABEL: revision_slug(revision),
    }


def candidate_service(mserve: ModelServe, revision: str) -> dict[str, Any]:
    """A ClusterIP Service in front of the candidate revision only (the verification Job's target)."""
    name, namespace, uid = mserve_identity(mserve)
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": object_meta(
            candidate_service_name(name),
            namespace,
            {**labels(name, "server-candidate"), REVISION_LABEL: revision_slug(revision)},
            owner_reference("ModelServe", name, uid),
        ),
        "spec": {
            "type": "ClusterIP",
            "selector": revision_selector(name, revision),
            "ports": [{"name": "http", "port": SERVER_PORT, "targetPort": "http", "protocol": "TCP"}],
        },
    }


def verification_job(  # noqa: PLR0917
    mserve: ModelServe,
    model: ResolvedModel,
    revision: str,
    stage: Stage,
    url: str,
    settings: OperatorSettings,
) -> dict[str, Any]:
    """The batch/v1 Job evaluating `url` live; its TrainResult comes back in the termination message."""
    name, namespace, uid = mserve_identity(mserve)
    rollout = mserve.spec.rollout or RolloutSpec()
    env: list[dict[str, Any]] = [
        {"name": "HOME", "value": "/tmp"},
        {"name": "TRADETUNE_RESULT_PATH", "value": "/dev/termination-log"},
        {"name": "PYTHONUNBUFFERED", "value": "1"},
    ]
    command = [
        "tradetune", "evaluate", "--endpoint", url, "--model", served_model_name(mserve),
        "--data", TEST_SPLIT, "--max-items", str(rollout.samples), "--samples", "0",
        "--output", "/tmp/verification", "--json",
    ]  # fmt: skip
    key = mserve.spec.api_key_secret_ref
    if key is not None:
        env.append({"name": API_KEY_ENV, "valueFrom": {"secretKeyRef": {"name": key.name, "key": key.key}}})
        command += ["--api-key-env", API_KEY_ENV]
    volumes: list[dict[str, Any]] = [*scratch_volumes()]
    mounts = [*scratch_mounts()]
    if model.volume is not None:
        volumes.append(pvc_volume("output", model.volume, read_only=True))
        mounts.append(mount("output", OUTPUT_DIR, sub_path=model.volume.sub_path, read_only=True))
    container = {
        "name": TRAINER_CONTAINER,
        "image": settings.trainer_image,
        "imagePullPolicy": "IfNotPresent",
        "command": command,
        "env": env,
        "volumeMounts": mounts,
        "securityContext": container_security_context(),
        "resources": {"requests": {"cpu": "500m", "memory": "1Gi"}, "limits": {"memory": "2Gi"}},
        "terminationMessagePath": "/dev/termination-log",
        "terminationMessagePolicy": "FallbackToLogsOnError",
    }
    job_labels = {
        **labels(name, "verifier"),
        REVISION_LABEL: revision_slug(revision),
        "tradetune.dev/stage": stage,
    }
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": object_meta(
            verify_job_name(name, revision, stage),
            namespace,
            job_labels,
            owner_reference("ModelServe", name, uid),
        ),
        "spec": {
            "backoffLimit": VERIFY_BACKOFF_LIMIT,
            "activeDeadlineSeconds": VERIFY_DEADLINE_SECONDS,
            "podFailurePolicy": {
                "rules": [
                    {
                        "action": "FailJob",
                        "onExitCodes": {"containerName": TRAINER_CONTAINER, "operator": "In", "values": [2]},
                    }
                ]
            },
            "template": {
                "metadata": {"labels": job_labels},
                "spec": {
                    "restartPolicy": "Never",
                    "automountServiceAccountToken": False,
                    "enableServiceLinks": False,
                    "securityContext": pod_security_context(),
                    "containers": [container],
                    "volumes": volumes,
                },
            },
        },
    }


MODEL_REVISION_ANNOTATION = "tradetune.dev/model-revision"


def revision_deployment(
    mserve: ModelServe, model: ResolvedModel, revision: str, replicas: int, settings: OperatorSettings
) -> dict[str, Any]:
    """The server Deployment of one revision: the single-Deployment manifest, named and labelled
    by revision so that two revisions can run side by side and a Service can pick one."""
    name = str(mserve.metadata.name)
    manifest = deployment(mserve, model, settings)
    slug = revision_slug(revision)
    meta = manifest["metadata"]
    meta["name"] = revision_deployment_name(name, revision)
    meta["labels"] = {**meta["labels"], REVISION_LABEL: slug}
    meta.setdefault("annotations", {})[MODEL_REVISION_ANNOTATION] = revision
    spec = manifest["spec"]
    spec["replicas"] = replicas
    spec["selector"]["matchLabels"] = revision_selector(name, revision)
    spec["template"]["metadata"]["labels"] = {**spec["template"]["metadata"]["labels"], REVISION_LABEL: slug}
    return manifest


def main_service(mserve: ModelServe, revision: str) -> dict[str, Any]:
    """The ModelServe's Service (the endpoint users call), selecting one revision's pods only."""
    manifest = service(mserve)
    manifest["spec"]["selector"] = revision_selector(str(mserve.metadata.name), revision)
    return manifest


def candidate_url(mserve_name: str, namespace: str) -> str:
    """The candidate Service's base URL, as the verification Job calls it."""
    return f"http://{candidate_service_name(mserve_name)}.{namespace}.svc:{SERVER_PORT}/v1"
