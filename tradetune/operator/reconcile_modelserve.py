"""What a ModelServe's Deployment, Service and status should be: a pure function of observations.

The Deployment rolls with maxUnavailable 0, so the Ready condition only becomes True when every
replica runs the current model; while a new model loads, the old pods keep answering.
When the model cannot be resolved (the FineTuneJob is gone or has not succeeded), an existing
Deployment is left serving what it serves and the ModelServe reports Degraded or waits.
Server pods that cannot run (crash loop, OOM kill, missing Secret) make it Degraded at once,
with the container's last message (see server_pods.py), instead of "rolling out" for an hour.
A NetworkPolicy per ModelServe admits only the clients its spec names.

The operator routes here only ModelServes that serve a plain path; a FineTuneJob's model is
rolled out revision by revision and verified live (rollout_serve.py). The FineTuneJob branch
below remains the reference for how a job's model resolves and reads in status.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import ValidationError

from tradetune.api import (
    FineTuneJob,
    FineTuneJobStatus,
    ModelServe,
    ModelServeStatus,
    ServedModel,
    get_condition,
    parse_finetunejob,
    parse_modelserve,
    rfc3339,
    set_condition,
)
from tradetune.errors import SpecError
from tradetune.jobstatus import short
from tradetune.operator import builders, ownership, refusals
from tradetune.operator.bodies import api_object
from tradetune.operator.ftj_status import Event
from tradetune.operator.server_pods import server_failure
from tradetune.operator.settings import OperatorSettings
from tradetune.operator.trainer_pod import missing_secret


@dataclass(frozen=True)
class ServeObserved:
    deployment: dict[str, Any] | None = None
    service: dict[str, Any] | None = None
    fine_tune_job: dict[str, Any] | None = None
    network_policy: dict[str, Any] | None = None
    pods: list[dict[str, Any]] = field(default_factory=list)  # the server pods
    refused: refusals.Refusal | None = None  # the API server refused to create a child just now


@dataclass
class ServeDecision:
    status: dict[str, Any] | None = None
    create: list[dict[str, Any]] = field(default_factory=list)
    patch: list[dict[str, Any]] = field(default_factory=list)  # full desired manifests to merge-patch
    events: list[Event] = field(default_factory=list)
    ready_replicas: int = 0
    desired_replicas: int = 0
    degraded: bool = False


def source_job(body: dict[str, Any] | None) -> FineTuneJob | None:
    """The referenced FineTuneJob with its status; one being deleted or invalid counts as absent."""
    if body is None or (body.get("metadata") or {}).get("deletionTimestamp"):
        return None
    try:
        ftj = parse_finetunejob(api_object(body, "FineTuneJob"))
        status = FineTuneJobStatus.model_validate(body.get("status") or {})
    except (SpecError, ValidationError):
        return None
    return ftj.model_copy(update={"status": status})


def old_status(body: dict[str, Any]) -> ModelServeStatus:
    try:
        return ModelServeStatus.model_validate(body.get("status") or {})
    except ValidationError:
        return ModelServeStatus()


def changed(observed: dict[str, Any] | None, desired: dict[str, Any]) -> bool:
    if observed is None:
        return True
    want = desired["metadata"]["annotations"][builders.SPEC_HASH_ANNOTATION]
    have = ((observed.get("metadata") or {}).get("annotations") or {}).get(builders.SPEC_HASH_ANNOTATION)
    return bool(want != have)


def deployment_state(deployment: dict[str, Any], desired: int) -> tuple[str, str, str]:
    """(state, reason, message) with state one of ready / progressing / degraded."""
    meta = deployment.get("metadata") or {}
    status = deployment.get("status") or {}
    conditions = {c.get("type"): c for c in status.get("conditions") or []}
    progressing = conditions.get("Progressing") or {}
    failure = conditions.get("ReplicaFailure") or {}
    if failure.get("status") == "True":
        return "degraded", "ReplicaFailure", str(failure.get("message") or "pods cannot be created")
    if progressing.get("status") == "False" and progressing.get("reason") == "ProgressDeadlineExceeded":
        return (
            "degraded",
            "ProgressDeadlineExceeded",
            str(progressing.get("message") or "the rollout is stuck"),
        )
    observed_generation = int(status.get("observedGeneration") or 0)
    generation = int(meta.get("generation") or 0)
    updated = int(status.get("updatedReplicas") or 0)
    total = int(status.get("replicas") or 0)
    available = int(status.get("availableReplicas") or 0)
    ready = int(status.get("readyReplicas") or 0)
    if observed_generation >= generation and updated >= desired and total <= desired and available >= desired:
        return "ready", "Available", f"{ready}/{desired} replicas ready"
    return (
        "progressing",
        "RolloutInProgress",
        _rollout_message(observed_generation < generation, desired, status),
    )


def _rollout_message(unseen: bool, desired: int, status: dict[str, Any]) -> str:
    """Where a rollout stands, in words that cannot read as a contradiction next to Ready=False."""
    if unseen:
        return "rolling out: the Deployment controller has not picked up the new model yet"
    updated = int(status.get("updatedReplicas") or 0)
    total = int(status.get("replicas") or 0)
    available = int(status.get("availableReplicas") or 0)
    old = max(0, total - updated)
    if updated < desired:
        return (
            f"rolling out: {updated} of {desired} replicas run the new model; the old model keeps answering"
        )
    if old > 0:
        return (
            f"rolling out: the new model is starting; {old} old replica(s) keep answering until it is ready"
        )
    return f"rolling out: waiting for {max(0, desired - available)} of {desired} new replicas to become ready"


def served(mserve: ModelServe, model: builders.ResolvedModel) -> ServedModel:
    """A resolved model as the status shows it (servedModel, rollingOut)."""
    return ServedModel(
        source=f"FineTuneJob {model.fine_tune_job}" if model.fine_tune_job else model.model,
        name=builders.served_model_name(mserve),
        fine_tune_job=model.fine_tune_job,
        path=model.model,
        adapter_path=model.adapter,
        revision=model.revision,
    )


def decide(
    body: dict[str, Any], observed: ServeObserved, settings: OperatorSettings, now: datetime | None = None
) -> ServeDecision:
    """The next step for one ModelServe (see the module docstring)."""
    now = now or datetime.now(UTC)
    stamp = rfc3339(now)
    meta = body.get("metadata") or {}
    decision = ServeDecision()
    if meta.get("deletionTimestamp"):
        return decision
    generation = meta.get("generation")
    old = old_status(body)
    new = old.model_copy(deep=True)
    new.observed_generation = generation

    def cond(type_: str, value: bool, reason: str, message: str = "") -> None:
        new.conditions = set_condition(new.conditions, type_, value, reason, message, generation, stamp)

    try:
        mserve = parse_modelserve(api_object(body, "ModelServe"))
        builders.resolve_resources(mserve.spec.resources, settings)
    except SpecError as exc:
        cond("Ready", False, "InvalidSpec", exc.message)
        cond("Progressing", False, "InvalidSpec", "")
        cond("Degraded", True, "InvalidSpec", exc.message)
        new.message = short(exc.message)
        new.state = "Failed"
        decision.degraded = True
        return finish_status(old, new, decision)

    decision.desired_replicas = mserve.spec.replicas
    new.endpoint = builders.endpoint(mserve)
    name = str(mserve.metadata.name)
    new.selector = ",".join(
        f"{k}={v}"
        for k, v in {
            builders.INSTANCE_LABEL: name,
            builders.COMPONENT_LABEL: "server",
            builders.MSERVE_LABEL: name,
        }.items()
    )
    deployment = observed.deployment
    foreign = ownership.first_foreign(
        str(mserve.metadata.uid or ""),
        [
            ("Deployment", deployment),
            ("Service", observed.service),
            ("NetworkPolicy", observed.network_policy),
        ],
    )
    if observed.refused is not None:
        cond("Ready", False, observed.refused.reason, observed.refused.message)
        cond("Progressing", False, observed.refused.reason, observed.refused.message)
        cond("Degraded", True, observed.refused.reason, observed.refused.message)
        new.message = short(observed.refused.message)
        new.state = "Degraded"
        decision.degraded = True
        return finish_status(old, new, decision)
    if foreign is not None:
        kind, obj = foreign
        text = ownership.conflict_message(kind, str(obj["metadata"]["name"]), "ModelServe", name)
        cond("Ready", False, ownership.NAME_CONFLICT, text)
        cond("Progressing", False, ownership.NAME_CONFLICT, text)
        cond("Degraded", True, ownership.NAME_CONFLICT, text)
        new.message = short(text)
        new.state = "Degraded"
        decision.degraded = True
        return finish_status(old, new, decision)
    unresolved: builders.UnresolvedModelError | None = None
    model: builders.ResolvedModel | None = None
    try:
        model = builders.resolve_model(mserve, source_job(observed.fine_tune_job))
    except builders.UnresolvedModelError as exc:
        unresolved = exc

    rolling = False
    if model is not None:
        desired = builders.with_spec_hash(builders.deployment(mserve, model, settings))
        if deployment is None:
            decision.create.append(desired)
            rolling = True
        elif changed(deployment, desired):
            decision.patch.append(desired)
            rolling = True
    for have, want in (
        (observed.service, builders.with_spec_hash(builders.service(mserve))),
        (observed.network_policy, builders.with_spec_hash(builders.network_policy(mserve))),
    ):
        if have is None:
            decision.create.append(want)
        elif changed(have, want):
            decision.patch.append(want)

    if deployment is None and model is None and unresolved is not None:
        waiting = unresolved.reason == "FineTuneJobNotSucceeded"
        cond("Ready", False, unresolved.reason, unresolved.message)
        cond("Progressing", waiting, "WaitingForModel" if waiting else unresolved.reason, unresolved.message)
        cond("Degraded", not waiting, unresolved.reason, "" if waiting else unresolved.message)
        new.message = short(unresolved.message)
        new.state = "Waiting" if waiting else "Failed"
        new.rolling_out = None
        new.ready_replicas = 0
        new.replicas = 0
        decision.degraded = not waiting
        return finish_status(old, new, decision)

    status = (deployment or {}).get("status") or {}
    new.replicas = int(status.get("replicas") or 0)
    new.ready_replicas = int(status.get("readyReplicas") or 0)
    decision.ready_replicas = new.ready_replicas
    if rolling and model is not None:
        state, reason, message = "progressing", "RolloutStarted", f"rolling out {model.model}"
    elif deployment is not None:
        state, reason, message = deployment_state(deployment, mserve.spec.replicas)
        failure = server_failure(observed.pods) if state != "ready" else None
        if failure is not None:
            state, (reason, message) = "degraded", failure
    else:  # unreachable: no Deployment and no model returned above
        state, reason, message = "progressing", "RolloutStarted", "creating the Deployment"
    new.rolling_out = served(mserve, model) if model is not None and state != "ready" else None
    if state == "ready":
        cond("Ready", True, reason, message)
        cond("Progressing", False, "RolloutComplete", message)
        if model is not None:
            new.served_model = served(mserve, model)
            message = f"{new.ready_replicas}/{mserve.spec.replicas} replicas serve {new.served_model.source}"
    elif state == "degraded":
        cond("Ready", False, reason, message)
        cond("Progressing", False, reason, message)
    else:
        cond("Ready", False, reason, message)
        cond("Progressing", True, reason, message)
    if unresolved is not None:
        text = f"keeping the current model: {unresolved.message}"
        cond("Degraded", True, unresolved.reason, text)
        message = text
    elif state == "degraded":
        cond("Degraded", True, reason, message)
    else:
        cond("Degraded", False, "AsExpected", "")
    secret = next((found for pod in observed.pods if (found := missing_secret(pod))), None)
    if secret is not None and state != "ready":
        # A pod waits for a Secret that does not exist: the rollout would never end on its own.
        text = f"Secret {secret} does not exist: create it, or fix spec.apiKeySecretRef"
        cond("Stalled", True, "SecretNotFound", text)
        cond("Ready", False, "SecretNotFound", text)
        cond("Degraded", True, "SecretNotFound", text)
        state, message = "degraded", text
    elif get_condition(new.conditions, "Stalled") is not None:
        cond("Stalled", False, "Progressing", "")
    decision.degraded = unresolved is not None or state == "degraded"
    new.state = "Degraded" if decision.degraded else "Serving" if state == "ready" else "RollingOut"
    new.message = short(message)
    return finish_status(old, new, decision)


def finish_status(old: ModelServeStatus, new: ModelServeStatus, decision: ServeDecision) -> ServeDecision:
    before = old.model_dump(by_alias=True, exclude_none=True, mode="json")
    after = new.model_dump(by_alias=True, exclude_none=True, mode="json")
    if before != after:
        decision.status = after
        for type_ in ("Ready", "Degraded"):
            now_c, was = get_condition(new.conditions, type_), get_condition(old.conditions, type_)
            if now_c is None:
                continue
            if was is not None and (was.status, was.reason, was.message) == (
                now_c.status,
                now_c.reason,
                now_c.message,
            ):
                continue
            if type_ == "Degraded" and now_c.status == "False" and was is None:
                continue
            kind: Literal["Normal", "Warning"] = (
                "Warning"
                if (type_ == "Degraded" and now_c.status == "True") or now_c.reason == "InvalidSpec"
                else "Normal"
            )
            decision.events.append(Event(kind, now_c.reason, now_c.message or now_c.reason))
    return decision
