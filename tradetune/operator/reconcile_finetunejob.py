"""What a FineTuneJob's children and status should be: a pure function of what is observed.

`decide(body, observed, settings, now)` takes the FineTuneJob as the API server returned it,
its trainer Job and pods (and the promotion target when needed) and returns a `Decision`:
children to create, patches to send, the complete new status and the Events to post.
Nothing here talks to the API server, so every transition is unit-tested directly; the
handlers only fetch, call `decide` and apply.

Lifecycle: Pending (Job created, pod not running) → Running (trainer pod running) →
Evaluating (the pod succeeded; its TrainResult is in the status) → Succeeded (gate passed,
promoted if asked) or Failed (invalid spec, training failure, gate failed). Suspended while
`spec.suspend` holds the Job. A restarted operator recomputes the same status from the same
observations: the Job is found by its deterministic name and never created twice.

What a finished trainer run earns (phase, conditions, metrics, gate) is `tradetune.jobstatus`,
the rule `tradetune run` uses too; the status and its Events are built by `ftj_status`, and the
ModelServe side of a promotion is `promotion`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from tradetune.api import (
    FineTuneJob,
    get_condition,
    parse_finetunejob,
    running_phase,
)
from tradetune.errors import SpecError
from tradetune.jobstatus import Promotion, gated, recorded
from tradetune.operator import builders, ownership, patches, refusals
from tradetune.operator.bodies import api_object
from tradetune.operator.ftj_status import WARNING_REASONS, Event, StatusBuilder, dump, old_status
from tradetune.operator.promotion import promotion_due, promotion_step
from tradetune.operator.settings import OperatorSettings
from tradetune.operator.trainer_pod import PodView, job_condition, view_pod

__all__ = [
    "WARNING_REASONS",
    "Decision",
    "Event",
    "Observed",
    "decide",
    "needs_model_serve",
    "needs_resync",
    "phase_since",
]


@dataclass(frozen=True)
class Observed:
    """What exists in the cluster for one FineTuneJob."""

    job: dict[str, Any] | None = None
    pods: list[dict[str, Any]] = field(default_factory=list)
    model_serve: dict[str, Any] | None = None
    config_map: dict[str, Any] | None = None  # read only while the Job is missing (to be created)
    refused: refusals.Refusal | None = None  # the API server refused to create a child just now


@dataclass
class Decision:
    """Everything the handler must do for one reconcile, in order: create, patch, status, events."""

    status: dict[str, Any] | None = None  # the whole new status (camelCase), None: leave it alone
    create: list[dict[str, Any]] = field(default_factory=list)
    job_patch: dict[str, Any] | None = None
    model_serve_create: dict[str, Any] | None = None
    model_serve_patch: dict[str, Any] | None = None
    events: list[Event] = field(default_factory=list)
    requeue_after: float | None = None  # 0: reconcile again at once (e.g. Evaluating → gate)
    training_seconds: float | None = None  # set once, when training ends (for the histogram)
    gate_result: bool | None = None  # set when the gate was evaluated in this pass
    promoted: bool = False


def needs_model_serve(body: dict[str, Any]) -> bool:
    """Whether `decide` needs the promotion target observed (only when a promotion may happen)."""
    spec = body.get("spec") or {}
    promote = spec.get("promote") if isinstance(spec, dict) else None
    if not isinstance(promote, dict) or not promote.get("modelServe"):
        return False
    status = body.get("status") or {}
    return status.get("phase") in ("Evaluating", "Succeeded", "Failed") or bool(status.get("metrics"))


def needs_resync(body: dict[str, Any]) -> bool:
    """Whether a periodic reconcile can change anything (the one rule: `patches.still_moving`).

    Unfinished jobs, a spec not yet reconciled, and a promotion waiting for its ModelServe (to be
    created, or to opt in) are looked at again; everything else changes only on an event.
    """
    return patches.still_moving(body)


def _parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def phase_since(body: dict[str, Any]) -> float | None:
    """When the object entered its current phase, as far as its status tells (Unix seconds)."""
    status = body.get("status") or {}
    phase = status.get("phase")
    conditions = {c.get("type"): c for c in status.get("conditions") or [] if isinstance(c, dict)}
    if phase == "Running":
        stamp = status.get("startTime")
    elif phase in ("Succeeded", "Failed"):
        stamp = status.get("completionTime")
    elif phase == "Evaluating":
        stamp = (conditions.get("Evaluated") or {}).get("lastTransitionTime")
    else:
        stamp = (body.get("metadata") or {}).get("creationTimestamp")
    moment = _parse_time(stamp)
    return moment.timestamp() if moment is not None else None


def _validate(body: dict[str, Any], settings: OperatorSettings) -> FineTuneJob:
    """The parsed FineTuneJob, or SpecError with field paths (the api models plus operator rules)."""
    ftj = parse_finetunejob(api_object(body, "FineTuneJob"))
    problems: list[tuple[str, str]] = []
    if ftj.spec.promote is not None and ftj.spec.output is None:
        problems.append(("spec.output", "required when spec.promote is set (the model must outlive the pod)"))
    try:
        builders.resolve_resources(ftj.spec.resources, settings)
    except SpecError as exc:
        problems.extend(exc.problems)
    if problems:
        raise SpecError(problems)
    return ftj


def decide(
    body: dict[str, Any], observed: Observed, settings: OperatorSettings, now: datetime | None = None
) -> Decision:
    """The next step for one FineTuneJob (see the module docstring)."""
    now = now or datetime.now(UTC)
    meta = body.get("metadata") or {}
    if meta.get("deletionTimestamp"):
        return Decision()  # the delete handler cleans up
    generation = meta.get("generation")
    old = old_status(body)
    b = StatusBuilder(old, generation, now)
    decision = Decision()

    try:
        ftj = _validate(body, settings)
    except SpecError as exc:
        b.fail("InvalidSpec", exc.message, trained=None)
        return _finish(b, decision)
    name, uid = str(ftj.metadata.name), str(ftj.metadata.uid)
    jname = builders.job_name(name)
    b.new.job_name = jname
    job = observed.job

    if job is not None and not ownership.owned_by(job, uid):
        b.cond("Stalled", True, "JobConflict", f"Job {jname} exists but belongs to another object")
        b.ready(
            False, "JobConflict", f"Job {jname} exists but belongs to another object; waiting for it to go"
        )
        decision.requeue_after = 10.0
        return _finish(b, decision)
    config_map = observed.config_map
    if job is None and config_map is not None and not ownership.owned_by(config_map, uid):
        text = ownership.conflict_message("ConfigMap", builders.config_map_name(name), "FineTuneJob", name)
        b.cond("Stalled", True, ownership.NAME_CONFLICT, text)
        b.ready(False, ownership.NAME_CONFLICT, text)
        decision.requeue_after = 30.0
        return _finish(b, decision)

    if observed.refused is not None:
        b.fail(observed.refused.reason, observed.refused.message, trained=None)
        return _finish(b, decision)
    failed_condition = get_condition(old.conditions, "Failed")
    if job is None and old.phase == "Failed" and refusals.still_refused(failed_condition, generation):
        return _finish(b, decision)  # refused for good: try again when the spec changes
    failed_reason = (
        failed_condition.reason if failed_condition is not None and failed_condition.status == "True" else ""
    )
    if old.phase == "Failed" and failed_reason in refusals.REFUSAL_REASONS:
        # The spec was fixed: a new run starts, and its conditions describe it alone.
        b.new.conditions = []
        b.new.phase = None
        b.new.completion_time = None
        b.new.message = None

    # Metrics recorded: the rest is gating and promotion, re-run whenever the spec changes.
    if (
        old.metrics is not None
        and old.phase in ("Evaluating", "Succeeded", "Failed")
        and failed_reason != "InvalidSpec"
    ):
        if old.phase == "Failed" and failed_reason != "GateFailed":
            return _finish(b, decision)
        settled = (
            old.phase != "Evaluating"
            and old.observed_generation == generation
            and not promotion_due(ftj, old, observed.model_serve)
        )
        if settled:
            return _finish(b, decision)
        _gate_and_promote(ftj, b, observed, decision)
        return _finish(b, decision)

    if job is None:
        phase = b.new.phase  # the old phase, unless an invalid spec was just fixed
        if old.job_name and phase not in (None, "Failed", "Succeeded") and old.attempts > 0:
            b.fail("JobDeleted", f"the trainer Job {jname} was deleted before it finished")
            return _finish(b, decision)
        if phase in ("Failed", "Succeeded"):
            return _finish(b, decision)
        decision.create = [builders.config_map(ftj), builders.training_job(ftj, settings)]
        b.clear_stalled()
        if ftj.spec.suspend:
            b.new.phase = "Suspended"
            b.ready(False, "Suspended", f"Job {jname} created suspended; set spec.suspend to false to start")
        else:
            b.new.phase = "Pending"
            b.ready(False, "JobCreated", f"created trainer Job {jname}; waiting for its pod")
        return _finish(b, decision)

    _follow_job(ftj, job, observed.pods, b, decision)
    return _finish(b, decision)


def _follow_job(
    ftj: FineTuneJob, job: dict[str, Any], pods: list[dict[str, Any]], b: StatusBuilder, decision: Decision
) -> None:
    """Pending/Running/Suspended/Evaluating/Failed from the Job's and its pods' status."""
    jname = builders.job_name(str(ftj.metadata.name))
    job_spec = job.get("spec") or {}
    job_status = job.get("status") or {}
    views = sorted((view_pod(p) for p in pods), key=lambda v: (v.created, v.name))
    counted = (
        int(job_status.get("failed") or 0)
        + int(job_status.get("succeeded") or 0)
        + int(job_status.get("active") or 0)
    )
    b.new.attempts = max(b.old.attempts, len(views), counted)
    complete = job_condition(job, "Complete") or job_condition(job, "SuccessCriteriaMet")
    failed = job_condition(job, "Failed") or job_condition(job, "FailureTarget")
    finished = complete is not None or failed is not None

    if not finished and bool(job_spec.get("suspend")) != ftj.spec.suspend:
        decision.job_patch = {"spec": {"suspend": ftj.spec.suspend}}
        decision.events.append(
            Event(
                "Normal",
                "Suspended" if ftj.spec.suspend else "Resumed",
                f"Job {jname} {'suspended' if ftj.spec.suspend else 'resumed'}",
            )
        )

    started = next((v.started for v in views if v.started), None) or job_status.get("startTime")
    if b.new.start_time is None and started and any(v.state not in {"pending", "stalled"} for v in views):
        b.new.start_time = started

    succeeded = next((v for v in reversed(views) if v.state == "succeeded"), None)
    if complete is not None or succeeded is not None:
        _record_result(ftj, job, succeeded, b, decision)
        return
    last_failed = next((v for v in reversed(views) if v.state == "failed"), None)
    if failed is not None:
        job_reason = str(failed.get("reason") or "BackoffLimitExceeded")
        if job_reason == "DeadlineExceeded":
            reason = "DeadlineExceeded"
            message = (
                f"Job {jname} ran longer than activeDeadlineSeconds ({ftj.spec.active_deadline_seconds}s)"
            )
        elif last_failed is not None:
            reason = last_failed.reason
            message = f"attempt {b.new.attempts} failed: {last_failed.message}; no retries left"
        else:
            reason, message = job_reason, str(failed.get("message") or job_reason)
        b.new.completion_time = job_status.get("completionTime") or b.stamp
        b.fail(reason, message)
        decision.training_seconds = _seconds(b.new.start_time, b.new.completion_time)
        return

    # A Job runs one pod at a time: a live pod is the current attempt. (Creation timestamps have
    # one-second precision, so they cannot order a quick retry after its failed predecessor.)
    live = [v for v in views if v.state in ("pending", "stalled", "running")]
    latest = live[-1] if live else (views[-1] if views else None)
    if ftj.spec.suspend:
        b.new.phase = "Suspended"
        b.ready(False, "Suspended", f"Job {jname} is suspended; set spec.suspend to false to resume")
        b.clear_stalled()
        return
    if latest is None:
        b.new.phase = "Pending"
        b.ready(False, "JobCreated", f"created trainer Job {jname}; waiting for its pod")
        return
    if latest.state == "running":
        b.new.phase = running_phase(b.old.progress)  # Evaluating while the trainer evaluates
        b.ready(False, "Training", f"trainer pod {latest.name} is running (attempt {b.new.attempts})")
        b.clear_stalled()
        return
    if latest.state == "stalled":
        b.new.phase = "Pending"
        text = f"trainer pod {latest.name} cannot start: {latest.reason}" + (
            f": {latest.message}" if latest.message else ""
        )
        b.stalled(latest.reason, text)
        b.ready(False, latest.reason, text, column="the trainer pod cannot start; see condition Stalled")
        return
    b.clear_stalled()
    if latest.state == "failed":
        b.new.phase = "Pending"
        retries = ftj.spec.backoff_limit
        text = f"attempt {b.new.attempts} failed: {latest.message}; the Job retries (backoffLimit {retries})"
        b.ready(False, latest.reason, text, column=f"attempt {b.new.attempts} failed; retrying")
        return
    b.new.phase = "Pending"
    b.ready(
        False,
        "PodPending",
        f"trainer pod {latest.name} is pending" + (f": {latest.reason}" if latest.reason else ""),
    )


def _seconds(start: str | None, end: str | None) -> float | None:
    a, z = _parse_time(start), _parse_time(end)
    return (z - a).total_seconds() if a is not None and z is not None else None


def _record_result(
    ftj: FineTuneJob, job: dict[str, Any], pod: PodView | None, b: StatusBuilder, decision: Decision
) -> None:
    """The pod succeeded: its TrainResult becomes status.metrics/artifacts; gating comes next."""
    job_status = job.get("status") or {}
    end = (pod.finished if pod is not None else None) or job_status.get("completionTime") or b.stamp
    b.new.completion_time = None
    decision.training_seconds = _seconds(b.new.start_time or (pod.started if pod else None), end)
    if pod is None:
        b.fail("ResultUnavailable", "the trainer pod is gone, so its TrainResult cannot be read")
        return
    if pod.result is None:
        b.fail(
            pod.result_error_reason,
            pod.result_error or "the trainer's termination message is not a TrainResult",
        )
        return
    result = pod.result
    if result.outcome == "Failed":
        b.fail(result.reason, result.message or result.reason)
        return
    if result.metrics is None:  # a gate must never pass a model nobody measured
        b.fail("BadTrainerResult", "the trainer reported success without metrics")
        return
    if b.new.start_time is None:
        b.new.start_time = pod.started
    b.apply(recorded(result))
    if ftj.spec.output is not None and b.new.artifacts is not None:
        # Where the model is: a ModelServe serves this, not whatever the spec says later.
        output = builders.resolved_output(ftj)
        b.new.artifacts = b.new.artifacts.model_copy(
            update={"output_claim_name": output.claim_name, "output_sub_path": output.sub_path}
        )
    decision.requeue_after = 0.0


def _gate_and_promote(ftj: FineTuneJob, b: StatusBuilder, observed: Observed, decision: Decision) -> None:
    """Gate the recorded metrics (`tradetune.jobstatus.gated`) and, when it passes, promote."""
    metrics = b.new.metrics
    if metrics is None:  # the caller checked; an unreadable status has no metrics
        return
    promote = ftj.spec.promote
    verdict = gated(ftj.spec, metrics, b.new.base_metrics).gate
    promotion: Promotion | None = None
    if promote is not None and verdict is not None and verdict.passed:
        step = promotion_step(ftj, observed.model_serve, b.new.created_model_serve)
        promotion = step.promotion
        decision.model_serve_create = step.create
        decision.model_serve_patch = step.patch
        decision.promoted = step.create is not None or step.patch is not None
        if step.requeue_after is not None:
            decision.requeue_after = step.requeue_after
        if step.record is not None:
            b.new.created_model_serve = step.record
    outcome = gated(ftj.spec, metrics, b.new.base_metrics, promotion)
    if outcome.gate is not None and (
        b.old.gate is None
        or b.old.gate.model_dump() != outcome.gate.model_dump()
        or b.old.observed_generation != b.generation
    ):
        decision.gate_result = outcome.gate.passed
    b.apply(outcome)


def _finish(b: StatusBuilder, decision: Decision) -> Decision:
    new = dump(b.new)
    old = dump(b.old)
    if new != old:
        decision.status = new
        decision.events = [*decision.events, *b.events()]
    if b.old.phase in ("Evaluating", "Succeeded", "Failed"):
        decision.training_seconds = None  # observed once, on the transition out of training
    return decision
