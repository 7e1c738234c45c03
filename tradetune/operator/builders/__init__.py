"""Kubernetes manifests of the objects the operator owns: pure functions of a spec and the settings.

Every child has a deterministic name (so a restarted operator finds instead of duplicating),
an ownerReference to its TradeTune object (so Kubernetes collects it), the
`app.kubernetes.io/*` labels and `tradetune.dev/finetunejob` where it belongs to a job.
Pods run under the restricted Pod Security Standard: non-root, no privilege escalation, all
capabilities dropped, RuntimeDefault seccomp, read-only root filesystem with emptyDir scratch.
Secrets appear only as `secretKeyRef`s. docs/contracts.md fixes the pod contracts.

`common` holds what every child shares, `trainer` the FineTuneJob's children (and the
promotion body), `server` the ModelServe's; this module is their one public face.
"""

from __future__ import annotations

from tradetune.operator.builders.common import (
    CACHE_DIR,
    COMPONENT_LABEL,
    CONFIG_DIR,
    FTJ_LABEL,
    INSTANCE_LABEL,
    MANAGED_BY,
    MANAGED_BY_LABEL,
    MODEL_DIR,
    MSERVE_LABEL,
    NAME_LABEL,
    OUTPUT_DIR,
    PART_OF_LABEL,
    PROMOTED_FROM_ANNOTATION,
    RUN_AS,
    SERVER_CONTAINER,
    SERVER_PORT,
    SPEC_HASH_ANNOTATION,
    TRAINER_CONTAINER,
    PodResources,
    config_map_name,
    container_security_context,
    job_name,
    labels,
    owner_reference,
    pod_security_context,
    resolve_resources,
    server_name,
    spec_hash,
    with_spec_hash,
)
from tradetune.operator.builders.server import (
    SERVER_STARTUP_SECONDS,
    ResolvedModel,
    UnresolvedModelError,
    deployment,
    endpoint,
    network_policy,
    resolve_model,
    served_model_name,
    server_args,
    service,
)
from tradetune.operator.builders.trainer import (
    config_map,
    model_serve_for_promotion,
    resolved_output,
    training_config,
    training_job,
)

__all__ = [
    "CACHE_DIR",
    "COMPONENT_LABEL",
    "CONFIG_DIR",
    "FTJ_LABEL",
    "INSTANCE_LABEL",
    "MANAGED_BY",
    "MANAGED_BY_LABEL",
    "MODEL_DIR",
    "MSERVE_LABEL",
    "NAME_LABEL",
    "OUTPUT_DIR",
    "PART_OF_LABEL",
    "PROMOTED_FROM_ANNOTATION",
    "RUN_AS",
    "SERVER_CONTAINER",
    "SERVER_PORT",
    "SERVER_STARTUP_SECONDS",
    "SPEC_HASH_ANNOTATION",
    "TRAINER_CONTAINER",
    "PodResources",
    "ResolvedModel",
    "UnresolvedModelError",
    "config_map",
    "config_map_name",
    "container_security_context",
    "deployment",
    "endpoint",
    "job_name",
    "labels",
    "model_serve_for_promotion",
    "network_policy",
    "owner_reference",
    "pod_security_context",
    "resolve_model",
    "resolve_resources",
    "resolved_output",
    "served_model_name",
    "server_args",
    "server_name",
    "service",
    "spec_hash",
    "training_config",
    "training_job",
    "with_spec_hash",
]
