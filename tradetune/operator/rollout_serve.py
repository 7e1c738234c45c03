"""A ModelServe driven by the rollout state machine: children in, status and child operations out.

Pure. It reads the observations (rollout_observe.py), runs `rollout.decide`, turns each action
into concrete API operations on objects this ModelServe owns (creates carry its ownerReference,
patches and deletes the observed uid), and writes the status (rollout_status.py). serve_runtime.py
only performs the operations.

Which ModelServes it drives: those whose model comes from a FineTuneJob (a revision is the
job's uid and generation, and the job's recorded metrics are the reference), with or without
`spec.rollout`. A plain path has neither: it keeps the single Deployment rolled in place
(reconcile_modelserve.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from pydantic import ValidationError

from tradetune.api import (
    EvalMetrics,
    FineTuneJobStatus,
    ModelServe,
    ServedModel,
    parse_modelserve,
    rfc3339,
    set_condition,
)
from tradetune.api._rollout import RolloutSpec, RolloutState
from tradetune.errors import SpecError
from tradetune.jobstatus import short
from tradetune.operator import builders, ownership, patches, refusals, rollout, rollout_status
from tradetune.operator import reconcile_modelserve as rm
from tradetune.operator.bodies import api_object
from tradetune.operator.builders import verify as vb
from tradetune.operator.ftj_status import Event
from tradetune.operator.rollout_observe import (
    RolloutChildren,
    by_revision,
    deployment_obs,
    job_obs,
    revision_pods,
    selected_revision,
)
from tradetune.operator.settings import OperatorSettings

Kind = Literal["Deployment", "Service", "NetworkPolicy", "Job"]
POD_TEMPLATE_HASH = "pod-template-hash"  # set by the Deployment controller on each ReplicaSet's pods


@dataclass(frozen=True)
class Create:
    manifest: dict[str, Any]


@dataclass(frozen=True)
class Patch:
    kind: Kind
    name: str
    patch: dict[str, Any]  # carries the observed uid: it applies to that very object or fails


@dataclass(frozen=True)
class Delete:
    kind: Kind
    name: str
    uid: str


Op = Create | Patch | Delete


@dataclass
class RolloutServeDecision:
    serve: rm.ServeDecision = field(default_factory=rm.ServeDecision)
    ops: list[Op] = field(default_factory=list)
    rolled_back: bool = False
    requeue_after: float | None = None


def drives(body: dict[str, Any]) -> bool:
    """Whether the rollout state machine drives this ModelServe: its model comes from a FineTuneJob.

    Such a model has revisions (the job's uid and generation) and recorded metrics to verify
    against; `spec.rollout` unset takes the defaults. A plain path has neither.
    """
    model = (body.get("spec") or {}).get("model") or {}
    return isinstance(model, dict) and bool(model.get("fromFineTuneJob"))


def _recorded(ftj: dict[str, Any] | None) -> EvalMetrics | None:
    try:
        return FineTuneJobStatus.model_validate((ftj or {}).get("status") or {}).metrics
    except ValidationError:
        return None


def _uid(obj: dict[str, Any]) -> str:
    return str((obj.get("metadata") or {}).get("uid") or "")


def _ensure(have: dict[str, Any] | None, want: dict[str, Any]) -> Op | None:
    """Create `want`, or patch `have` when its spec hash differs; None when it matches."""
    if have is None:
        return Create(want)
    if not rm.changed(have, want):
        return None
    patch = patches.child_patch(want)
    selector = (want.get("spec") or {}).get("selector")
    if want["kind"] == "Service" and isinstance(selector, dict):
        # A merge patch merges maps: a selector key the new selector drops must be nulled.
        stale = ((have.get("spec") or {}).get("selector") or {}).keys() - selector.keys()
        patch["spec"]["selector"] = {**dict.fromkeys(stale), **selector}
    return Patch(want["kind"], want["metadata"]["name"], patches.with_uid(patch, have))


def _pin_legacy_service(children: RolloutChildren) -> Op | None:
    """Keep a single-Deployment Service off the revision pods while the first candidate runs.

    A ModelServe served by an earlier operator already has `<name>-vllm`, whose selector matches
    every server pod, a candidate's too. Until the first switch it is pinned to the pods the
    single Deployment runs now (their `pod-template-hash`), so no request reaches an unverified
    model.
    """
    service = children.service
    selector = ((service or {}).get("spec") or {}).get("selector") or {}
    if service is None or vb.REVISION_LABEL in selector or POD_TEMPLATE_HASH in selector:
        return None
    hashes = sorted(
        str(labels[POD_TEMPLATE_HASH])
        for pod in children.server_pods
        if vb.REVISION_LABEL not in (labels := (pod.get("metadata") or {}).get("labels") or {})
        and POD_TEMPLATE_HASH in labels
        and not (pod.get("metadata") or {}).get("deletionTimestamp")
    )
    pinned = hashes[-1] if hashes else "none"
    patch = {"metadata": {"uid": _uid(service)}, "spec": {"selector": {POD_TEMPLATE_HASH: pinned}}}
    return Patch("Service", str(service["metadata"]["name"]), patch)


def decide(
    body: dict[str, Any],
    children: RolloutChildren,
    settings: OperatorSettings,
    now: datetime,
    refused: refusals.Refusal | None = None,
) -> RolloutServeDecision:
    """The next step of a rollout-driven ModelServe (see the module docstring)."""
    out = RolloutServeDecision()
    meta = body.get("metadata") or {}
    if meta.get("deletionTimestamp"):
        return out
    try:
        mserve: ModelServe = parse_modelserve(api_object(body, "ModelServe"))
        builders.resolve_resources(mserve.spec.resources, settings)
    except SpecError:
        out.serve = rm.decide(body, rm.ServeObserved(), settings, now)
        out.serve.create, out.serve.patch = [], []
        return out
    generation = meta.get("generation")
    old = rm.old_status(body)
    new = old.model_copy(deep=True)
    new.observed_generation = generation
    stamp = rfc3339(now)
    name, uid = str(mserve.metadata.name), str(mserve.metadata.uid or "")
    new.endpoint = builders.endpoint(mserve)
    new.selector = (
        f"{builders.INSTANCE_LABEL}={name},{builders.COMPONENT_LABEL}=server,{builders.MSERVE_LABEL}={name}"
    )
    out.serve.desired_replicas = mserve.spec.replicas
    foreign = ownership.first_foreign(
        uid,
        [
            ("Service", children.service),
            ("Service", children.candidate_service),
            ("NetworkPolicy", children.network_policy),
        ],
    )
    blocked: tuple[str, str] | None = None
    if refused is not None:
        blocked = (refused.reason, refused.message)
    elif foreign is not None:
        kind, obj = foreign
        text = ownership.conflict_message(kind, str(obj["metadata"]["name"]), "ModelServe", name)
        blocked = (ownership.NAME_CONFLICT, text)
    if blocked is not None:
        for type_, value in (("Ready", False), ("Progressing", False), ("Degraded", True)):
            new.conditions = set_condition(new.conditions, type_, value, *blocked, generation, stamp)
        new.message, new.state = short(blocked[1]), "Degraded"
        out.serve.degraded = True
        out.serve = rm.finish_status(old, new, out.serve)
        return out

    model: builders.ResolvedModel | None = None
    unresolved: builders.UnresolvedModelError | None = None
    try:
        model = builders.resolve_model(mserve, rm.source_job(children.fine_tune_job))
    except builders.UnresolvedModelError as exc:
        unresolved = exc
    state = old.rollout or RolloutState()
    deployments = by_revision(children.deployments)
    desired = rm.served(mserve, model) if model is not None else None
    known = {*deployments, *(r for r in (state.served_revision, state.previous_revision) if r)}
    if desired is not None and desired.revision:
        known.add(desired.revision)
    candidate_service = None
    if children.candidate_service is not None:
        candidate_service = selected_revision(children.candidate_service, known) or "unknown"
    observed = rollout.RolloutObserved(
        name=name,
        desired=desired,
        recorded=_recorded(children.fine_tune_job),
        from_fine_tune_job=True,
        replicas=mserve.spec.replicas,
        deployments={
            rev: deployment_obs(d, revision_pods(children.server_pods, d)) for rev, d in deployments.items()
        },
        service_revision=selected_revision(children.service, known),
        candidate_service=candidate_service,
        jobs={str(j["metadata"]["name"]): job_obs(j, children.job_pods) for j in children.jobs},
    )
    before = rollout.RolloutStatus(
        state=state,
        candidate=old.candidate,
        served_model=old.served_model if state.served_revision else None,
        last_good_model=old.last_good_model,
        previous_model=old.last_good_model if state.previous_revision else None,
    )
    step = rollout.decide(mserve.spec.rollout or RolloutSpec(), observed, before, now)
    out.rolled_back, out.requeue_after = step.rolled_back, step.requeue_after
    models = {model.revision: model} if model is not None and model.revision else {}
    models.update(_last_good(mserve, old.last_good_model, children.last_good_job, models))
    out.ops = _plan(mserve, models, step, observed, children, deployments, settings)
    served_rev = step.status.state.served_revision
    serving = deployments.get(served_rev) if served_rev else None
    view = rollout_status.StepView(
        observed=observed,
        serving=serving,
        serving_pods=revision_pods(children.server_pods, serving) if serving else [],
        unresolved=(unresolved.reason, unresolved.message) if unresolved is not None else None,
        waiting=unresolved is not None and unresolved.reason == "FineTuneJobNotSucceeded",
    )
    out.serve.degraded = rollout_status.apply(old, new, step, view, generation, stamp)
    out.serve.ready_replicas = new.ready_replicas
    out.serve = rm.finish_status(old, new, out.serve)
    said = [Event(a.type, a.reason, a.message) for a in step.actions if isinstance(a, rollout.RolloutEvent)]
    # A condition that changed for the reason a rollout event already gives is said once.
    out.serve.events = [e for e in out.serve.events if e.reason not in {s.reason for s in said}] + said
    return out


def _last_good(
    mserve: ModelServe,
    last_good: ServedModel | None,
    job: dict[str, Any] | None,
    known: dict[str, builders.ResolvedModel],
) -> dict[str, builders.ResolvedModel]:
    """The last good revision's model, when its FineTuneJob still holds it (recreate redeploys it)."""
    if last_good is None or not last_good.fine_tune_job or last_good.revision in known or job is None:
        return {}
    source = mserve.spec.model.model_copy(update={"from_fine_tune_job": last_good.fine_tune_job})
    other = mserve.model_copy(update={"spec": mserve.spec.model_copy(update={"model": source})})
    try:
        model = builders.resolve_model(other, rm.source_job(job))
    except builders.UnresolvedModelError:
        return {}
    return {last_good.revision: model} if model.revision == last_good.revision and last_good.revision else {}


def _plan(  # noqa: PLR0917
    mserve: ModelServe,
    models: dict[str, builders.ResolvedModel],
    step: rollout.RolloutDecision,
    observed: rollout.RolloutObserved,
    children: RolloutChildren,
    deployments: dict[str, dict[str, Any]],
    settings: OperatorSettings,
) -> list[Op]:
    """The API operations that carry out the step's actions (each on an owned object only)."""
    name, namespace = str(mserve.metadata.name), str(mserve.metadata.namespace)
    ops: list[Op | None] = [
        _ensure(children.network_policy, builders.with_spec_hash(builders.network_policy(mserve))),
        _pin_legacy_service(children),
    ]
    jobs = {str(j["metadata"]["name"]): j for j in children.jobs}
    for action in step.actions:
        if isinstance(action, rollout.EnsureDeployment):
            have = deployments.get(action.revision)
            if (model := models.get(action.revision)) is not None:
                want = vb.revision_deployment(mserve, model, action.revision, action.replicas, settings)
                ops.append(_ensure(have, builders.with_spec_hash(want)))
            elif have is not None and int((have.get("spec") or {}).get("replicas") or 0) != action.replicas:
                patch = {"metadata": {"uid": _uid(have)}, "spec": {"replicas": action.replicas}}
                ops.append(Patch("Deployment", str(have["metadata"]["name"]), patch))
        elif isinstance(action, rollout.DeleteDeployment):
            if (have := deployments.get(action.revision)) is not None:
                ops.append(Delete("Deployment", str(have["metadata"]["name"]), _uid(have)))
        elif isinstance(action, rollout.EnsureCandidateService):
            want = builders.with_spec_hash(vb.candidate_service(mserve, action.revision))
            ops.append(_ensure(children.candidate_service, want))
        elif isinstance(action, rollout.DeleteCandidateService):
            if (svc := children.candidate_service) is not None:
                ops.append(Delete("Service", str(svc["metadata"]["name"]), _uid(svc)))
        elif isinstance(action, rollout.EnsureVerifyJob):
            if action.job_name not in jobs and (model := models.get(action.revision)) is not None:
                url = (
                    vb.candidate_url(name, namespace)
                    if action.through == "candidate"
                    else builders.endpoint(mserve)
                )
                ops.append(
                    Create(vb.verification_job(mserve, model, action.revision, action.stage, url, settings))
                )
        elif isinstance(action, rollout.DeleteVerifyJob):
            if (found := jobs.get(action.job_name)) is not None:
                ops.append(Delete("Job", action.job_name, _uid(found)))
        elif isinstance(action, rollout.PointService):
            ops.append(
                _ensure(children.service, builders.with_spec_hash(vb.main_service(mserve, action.revision)))
            )
    served = step.status.state.served_revision
    pointed = any(isinstance(a, rollout.PointService) for a in step.actions)
    if not pointed and served is not None and observed.service_revision == served:
        # Nothing moves: repair the Service if someone edited it (same selection, same spec).
        ops.append(_ensure(children.service, builders.with_spec_hash(vb.main_service(mserve, served))))
    legacy = children.legacy_deployment  # left from the single-Deployment path: gone once a revision serves
    if legacy is not None and served is not None and rollout_status.selected_after(step, observed) == served:
        ops.append(Delete("Deployment", str(legacy["metadata"]["name"]), _uid(legacy)))
    return [op for op in ops if op is not None]
