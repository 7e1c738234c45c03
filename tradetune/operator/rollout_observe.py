"""What the rollout state machine sees, read from the ModelServe's children. Pure: objects in.

The I/O edge (serve_runtime.py) lists the revision Deployments, their pods, the verification
Jobs and their pods, and keeps only the ones this ModelServe owns (ownership.py); this module
turns them into `rollout.RolloutObserved`:
- a Deployment's revision is its `tradetune.dev/model-revision` annotation; it is ready when
  every replica is available (the same reading as the Ready condition, reconcile_modelserve.py)
  and crash-looping when one of its pods cannot run (server_pods.py, the rule Degraded uses);
- a Service's revision is the slug in its selector, mapped back through the known revisions;
- a verification Job is finished when Complete or Failed, and its result is the TrainResult its
  pod wrote to the termination message (trainer_pod.py, the training pod's contract).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from tradetune.operator import ownership
from tradetune.operator.builders.verify import MODEL_REVISION_ANNOTATION, REVISION_LABEL
from tradetune.operator.reconcile_modelserve import deployment_state
from tradetune.operator.rollout_types import DeploymentObs, JobObs, revision_slug
from tradetune.operator.server_pods import server_failure
from tradetune.operator.trainer_pod import job_condition, view_pod


@dataclass(frozen=True)
class RolloutChildren:
    """The children of one ModelServe that drive its rollout (owned ones only, except Services)."""

    deployments: list[dict[str, Any]] = field(default_factory=list)  # revision Deployments
    server_pods: list[dict[str, Any]] = field(default_factory=list)
    jobs: list[dict[str, Any]] = field(default_factory=list)  # verification Jobs
    job_pods: list[dict[str, Any]] = field(default_factory=list)
    service: dict[str, Any] | None = None  # the main Service, whoever owns it
    candidate_service: dict[str, Any] | None = None
    network_policy: dict[str, Any] | None = None
    legacy_deployment: dict[str, Any] | None = None  # `<name>-vllm` of the single-Deployment path
    fine_tune_job: dict[str, Any] | None = None
    last_good_job: dict[str, Any] | None = None  # the FineTuneJob of status.lastGoodModel (recreate)


def _meta(obj: dict[str, Any]) -> dict[str, Any]:
    return obj.get("metadata") or {}


def deployment_revision(deployment: dict[str, Any]) -> str | None:
    revision = (_meta(deployment).get("annotations") or {}).get(MODEL_REVISION_ANNOTATION)
    return str(revision) if revision else None


def by_revision(deployments: Iterable[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The revision Deployments keyed by revision (one without the annotation is not ours to run)."""
    return {rev: d for d in deployments if (rev := deployment_revision(d)) is not None}


def revision_pods(pods: Iterable[dict[str, Any]], deployment: dict[str, Any]) -> list[dict[str, Any]]:
    slug = (_meta(deployment).get("labels") or {}).get(REVISION_LABEL)
    return [p for p in pods if (_meta(p).get("labels") or {}).get(REVISION_LABEL) == slug]


def deployment_obs(deployment: dict[str, Any], pods: list[dict[str, Any]]) -> DeploymentObs:
    replicas = int((deployment.get("spec") or {}).get("replicas") or 0)
    state = deployment_state(deployment, replicas)[0] if replicas > 0 else "scaled"
    return DeploymentObs(
        replicas=replicas, ready=state == "ready", crash_looping=server_failure(pods) is not None
    )


def selected_revision(service: dict[str, Any] | None, known: Iterable[str]) -> str | None:
    """The revision a Service selects (None: no Service, or a selector naming no known revision)."""
    if service is None:
        return None
    slug = ((service.get("spec") or {}).get("selector") or {}).get(REVISION_LABEL)
    return next((rev for rev in known if revision_slug(rev) == slug), None) if slug else None


def job_obs(job: dict[str, Any], pods: list[dict[str, Any]]) -> JobObs:
    """A verification Job and the result its last pod reported."""
    uid = _meta(job).get("uid")
    mine = sorted(
        (p for p in pods if ownership.owned_by(p, uid)), key=lambda p: str(_meta(p).get("creationTimestamp"))
    )
    failed = job_condition(job, "Failed")
    finished = job_condition(job, "Complete") is not None or failed is not None
    result = None
    message = ""
    for pod in reversed(mine):
        view = view_pod(pod)
        if view.result is not None:
            result = view.result
            break
        if view.state == "failed" and not message:
            message = view.message
    if failed is not None and not message:
        message = f"the verification Job failed: {failed.get('reason')}: {failed.get('message') or ''}"
    return JobObs(finished=finished, result=result, message=message.rstrip(": "))
