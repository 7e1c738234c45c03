"""The ModelServe rollout state machine: verify, switch, watch, roll back. Pure: no API calls.

`decide(spec, observed, status, now)` returns the actions that move one ModelServe a step and
the status it then has. Everything the machine needs to resume lives in `status.rollout`
(the phase, the served and previous revisions, when traffic moved, refused revisions) and in
the observed children, so a restarted operator picks up where the last one stopped. Actions
are idempotent ("ensure") and deletions follow from the phase (a child the phase does not
need is removed), so a step repeated after a crash creates nothing twice.

Blue-green (default):
  Stable ─new revision─> Verifying: candidate Deployment + candidate Service + verify Job
  Verifying ─pass─> Watching: the main Service selects the candidate; the previous Deployment
      stays (running or scaled to 0, spec.rollout.keepPrevious)
  Verifying ─fail / crash loop─> Stable: candidate removed, revision refused, traffic untouched
  Watching ─crash loop─> RollingBack ─previous ready─> Stable on the previous revision
  Watching ─window over─> Reverifying (a verify Job through the main Service) ─pass─> Stable,
      previous deleted; ─fail─> RollingBack
Recreate: the served Deployment is removed before the candidate starts; a failure redeploys
the last good revision (the same RollingBack step, whose Deployment is then created anew).
A revision that appears during the window waits for the window to end (one rollout at a time);
one that appears while a candidate is verified replaces that candidate.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal

from tradetune.api import EvalMetrics, GateResult, verify_live
from tradetune.api._rollout import CandidateStatus, RolloutSpec
from tradetune.errors import require
from tradetune.operator.rollout_types import (
    Action,
    DeleteCandidateService,
    DeleteDeployment,
    DeleteVerifyJob,
    DeploymentObs,
    EnsureCandidateService,
    EnsureDeployment,
    EnsureVerifyJob,
    JobObs,
    PointService,
    RolloutDecision,
    RolloutEvent,
    RolloutObserved,
    RolloutStatus,
    Stage,
    Verified,
    revision_slug,
    verify_job_name,
)

# The vocabulary lives in rollout_types.py; importers may keep naming it from here.
__all__ = [
    "Action",
    "DeleteCandidateService",
    "DeleteDeployment",
    "DeleteVerifyJob",
    "DeploymentObs",
    "EnsureCandidateService",
    "EnsureDeployment",
    "EnsureVerifyJob",
    "JobObs",
    "PointService",
    "RolloutDecision",
    "RolloutEvent",
    "RolloutObserved",
    "RolloutStatus",
    "Stage",
    "Verified",
    "decide",
    "judge",
    "revision_slug",
    "verify_enabled",
    "verify_job_name",
]


def verify_enabled(spec: RolloutSpec, from_fine_tune_job: bool) -> bool:
    """spec.rollout.verify, defaulting to on for a FineTuneJob's model and off for a plain path."""
    return spec.verify if spec.verify is not None else from_fine_tune_job


def judge(job: JobObs, recorded: EvalMetrics | None, spec: RolloutSpec) -> GateResult:
    """The verdicts of a finished verification Job against the recorded metrics."""
    result = job.result
    if result is None:
        why = job.message or "the verification Job left no result"
        return GateResult(passed=False, summary=f"Failed: {why}", verdicts=[])
    if result.outcome != "Succeeded" or result.metrics is None:
        return GateResult(
            passed=False, summary=f"Failed: {result.reason}: {result.message or ''}".rstrip(": ")
        )
    if recorded is None:
        return GateResult(passed=False, summary="Failed: the FineTuneJob recorded no metrics to compare with")
    return verify_live(result.metrics, recorded, spec.tolerance)


def _parse_time(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None


def _stamp(now: datetime) -> str:
    return now.strftime("%Y-%m-%dT%H:%M:%SZ")


class _Step:
    """One decision in progress: the mutable copies and the action list."""

    def __init__(self, spec: RolloutSpec, obs: RolloutObserved, status: RolloutStatus, now: datetime) -> None:
        self.spec, self.obs, self.now = spec, obs, now
        self.state = status.state.model_copy(deep=True)
        self.candidate = status.candidate.model_copy(deep=True) if status.candidate else None
        self.served = status.served_model
        self.last_good = status.last_good_model
        self.previous = status.previous_model
        self.out = RolloutDecision()

    def act(self, action: Action) -> None:
        """Add an action; a later EnsureDeployment of the same revision replaces the earlier one."""
        if isinstance(action, EnsureDeployment):
            self.out.actions = [
                a
                for a in self.out.actions
                if not (isinstance(a, EnsureDeployment) and a.revision == action.revision)
            ]
        if action not in self.out.actions:
            self.out.actions.append(action)

    def event(self, type_: Literal["Normal", "Warning"], reason: str, message: str) -> None:
        self.act(RolloutEvent(type_, reason, message))

    def ready(self, revision: str) -> bool:
        dep = self.obs.deployments.get(revision)
        return dep is not None and dep.ready and dep.replicas > 0

    def crash_looping(self, revision: str) -> bool:
        dep = self.obs.deployments.get(revision)
        return dep is not None and dep.crash_looping

    def finish(self) -> RolloutDecision:
        """Remove children the final phase does not need, then return the decision.

        Kept: the served revision (except while a recreate candidate runs), the previous one
        (the window's rollback target) and the candidate while it is verified. An earlier
        "ensure" of a revision the step then gave up (a refused candidate) is dropped.
        """
        state = self.state
        keep_deployments = {r for r in (state.served_revision, state.previous_revision) if r}
        keep_jobs: set[str] = set()
        candidate_service = False
        if state.phase == "Verifying" and self.candidate and self.candidate.revision:
            rev = self.candidate.revision
            if self.spec.strategy == "recreate":
                keep_deployments.discard(state.served_revision or "")
            keep_deployments.add(rev)
            keep_jobs.add(verify_job_name(self.obs.name, rev, "verify"))
            candidate_service = True
        if state.phase == "Reverifying" and state.served_revision:
            keep_jobs.add(verify_job_name(self.obs.name, state.served_revision, "reverify"))
        self.out.actions = [
            a
            for a in self.out.actions
            if not (
                isinstance(a, EnsureDeployment | EnsureVerifyJob | EnsureCandidateService)
                and a.revision not in keep_deployments
            )
            and not (isinstance(a, EnsureVerifyJob) and a.job_name not in keep_jobs)
            and not (isinstance(a, EnsureCandidateService) and not candidate_service)
        ]
        for revision in sorted(self.obs.deployments):
            if revision not in keep_deployments:
                self.act(DeleteDeployment(revision))
        for job in sorted(self.obs.jobs):
            if job not in keep_jobs:
                self.act(DeleteVerifyJob(job))
        if self.obs.candidate_service is not None and not candidate_service:
            self.act(DeleteCandidateService())
        self.out.status = RolloutStatus(
            state=self.state,
            candidate=self.candidate,
            served_model=self.served,
            last_good_model=self.last_good,
            previous_model=self.previous,
        )
        return self.out


def decide(spec: RolloutSpec, obs: RolloutObserved, status: RolloutStatus, now: datetime) -> RolloutDecision:
    """The next step of one ModelServe's rollout (see the module docstring)."""
    step = _Step(spec, obs, status, now)
    phase = step.state.phase
    if phase in {"Watching", "Reverifying"}:
        _watch(step)
    elif phase == "RollingBack":
        _roll_back(step, "")
    elif phase == "Verifying":
        _verify(step)
    else:
        _stable(step)
    return step.finish()


def _stable(step: _Step) -> None:
    state, obs = step.state, step.obs
    served = state.served_revision
    if served is not None:
        step.act(EnsureDeployment(served, obs.replicas))
        if step.ready(served) and obs.service_revision != served:
            step.act(PointService(served))
    desired = obs.desired
    if desired is None or desired.revision is None or desired.revision == served:
        return
    if desired.revision in state.rejected:
        return  # refused before: wait for a new revision; status.candidate says why
    step.candidate = CandidateStatus(
        revision=desired.revision, phase="Deploying", message="starting the candidate"
    )
    state.phase = "Verifying"
    step.event("Normal", "CandidateStarted", f"verifying revision {desired.revision} before it takes traffic")
    _verify(step)


def _verify(step: _Step) -> None:
    state, obs, spec = step.state, step.obs, step.spec
    candidate = require(step.candidate, "the candidate being verified")
    rev = require(candidate.revision, "the candidate's revision")
    if obs.desired is None or obs.desired.revision != rev:
        # the spec moved on while verifying: drop this candidate, start over from Stable
        state.phase = "Stable"
        step.candidate = None
        _stable(step)
        return
    served = state.served_revision
    if served is not None and spec.strategy == "blueGreen":
        step.act(EnsureDeployment(served, obs.replicas))
    step.act(EnsureDeployment(rev, obs.replicas))
    if step.crash_looping(rev):
        _refuse(step, rev, GateResult(passed=False, summary="Failed: the candidate server is crash-looping"))
        return
    if not step.ready(rev):
        candidate.phase = "Deploying"
        candidate.message = f"waiting for revision {rev} to become ready"
        return
    if not verify_enabled(spec, obs.from_fine_tune_job):
        _switch(step, rev, GateResult(passed=True, summary="verification off"))
        return
    job_name = verify_job_name(obs.name, rev, "verify")
    step.act(EnsureCandidateService(rev))
    job = obs.jobs.get(job_name)
    if job is None or not job.finished:
        step.act(EnsureVerifyJob(rev, "verify", job_name, "candidate"))
        candidate.phase = "Verifying"
        candidate.message = f"verification Job {job_name} is evaluating revision {rev} live"
        return
    result = judge(job, obs.recorded, spec)
    if result.passed:
        _switch(step, rev, result)
    else:
        _refuse(step, rev, result)


def _switch(step: _Step, rev: str, result: GateResult) -> None:
    state, obs, spec = step.state, step.obs, step.spec
    step.act(PointService(rev))
    previous = state.served_revision
    state.previous_revision = previous
    state.served_revision = rev
    state.switched_at = _stamp(step.now)
    step.previous = step.served if previous is not None else None
    step.served = obs.desired
    step.candidate = CandidateStatus(
        revision=rev, phase="Passed", message=f"verified live: {result.summary}", verdicts=result.verdicts
    )
    step.out.verified = Verified(True, "Passed", result.summary)
    step.event("Normal", "Promoted", f"revision {rev} verified ({result.summary}) and now takes traffic")
    if previous is not None and spec.watch_seconds > 0:
        state.phase = "Watching"
        if spec.keep_previous == "scaledToZero" or spec.strategy == "recreate":
            step.act(EnsureDeployment(previous, 0))
        else:
            step.act(EnsureDeployment(previous, obs.replicas))
        step.out.requeue_after = float(spec.watch_seconds)
    else:
        state.phase = "Stable"
        state.previous_revision = None
        step.previous = None
        step.last_good = obs.desired


def _refuse(step: _Step, rev: str, result: GateResult) -> None:
    state = step.state
    state.phase = "Stable"
    state.rejected = [*[r for r in state.rejected if r != rev], rev][-10:]
    step.candidate = CandidateStatus(
        revision=rev,
        phase="Failed",
        message=f"not promoted, traffic unchanged: {result.summary}",
        verdicts=result.verdicts,
    )
    step.out.verified = Verified(False, "VerificationFailed", result.summary)
    step.event("Warning", "VerificationFailed", f"revision {rev} refused: {result.summary}")
    served = state.served_revision
    if served is not None:
        step.act(EnsureDeployment(served, step.obs.replicas))  # recreate: the last good comes back


def _watch(step: _Step) -> None:
    state, obs, spec = step.state, step.obs, step.spec
    served = require(state.served_revision, "the served revision during the watch window")
    step.act(EnsureDeployment(served, obs.replicas))
    if state.previous_revision is not None:
        keep = 0 if spec.keep_previous == "scaledToZero" or spec.strategy == "recreate" else obs.replicas
        step.act(EnsureDeployment(state.previous_revision, keep))
    if step.crash_looping(served):
        _roll_back(step, f"revision {served} is crash-looping after the switch")
        return
    switched = _parse_time(state.switched_at) or step.now
    ends = switched + timedelta(seconds=spec.watch_seconds)
    if state.phase == "Watching":
        if step.now < ends:
            step.out.requeue_after = max(1.0, (ends - step.now).total_seconds())
            return
        if not verify_enabled(spec, obs.from_fine_tune_job):
            _clean_window(step)
            return
        state.phase = "Reverifying"
    job_name = verify_job_name(obs.name, served, "reverify")
    job = obs.jobs.get(job_name)
    if job is None or not job.finished:
        step.act(EnsureVerifyJob(served, "reverify", job_name, "main"))
        return
    result = judge(job, obs.recorded, spec)
    if result.passed:
        _clean_window(step)
    else:
        _roll_back(step, f"re-verification failed: {result.summary}", result)


def _clean_window(step: _Step) -> None:
    state = step.state
    state.phase = "Stable"
    old = state.previous_revision
    state.previous_revision = None
    step.previous = None
    step.last_good = step.served
    if old is not None:
        step.event("Normal", "WatchPassed", f"revision {state.served_revision} held; revision {old} removed")


def _roll_back(step: _Step, why: str, result: GateResult | None = None) -> None:
    state, obs = step.state, step.obs
    bad = state.served_revision
    target = state.previous_revision or (step.last_good.revision if step.last_good else None)
    if target is None or target == bad:
        return  # nothing to go back to: Degraded is the server reconciler's to report
    if why:
        state.phase = "RollingBack"
        if step.candidate is not None:
            step.candidate.message = why
            if result is not None:
                step.candidate.verdicts = result.verdicts
    state.previous_revision = target
    step.act(EnsureDeployment(target, obs.replicas))
    if not step.ready(target):
        return  # scaled to zero or recreated: wait until it answers again
    step.act(PointService(target))
    state.rejected = [*[r for r in state.rejected if r != bad], *([bad] if bad else [])][-10:]
    state.served_revision = target
    state.previous_revision = None
    state.switched_at = _stamp(step.now)
    state.phase = "Stable"
    state.rollbacks += 1
    step.served = step.previous or step.last_good
    step.previous = None
    message = (
        step.candidate.message if step.candidate and step.candidate.message else f"revision {bad} rolled back"
    )
    if step.candidate is not None:
        step.candidate.phase = "Failed"
    step.out.verified = Verified(False, "RolledBack", message)
    step.out.rolled_back = True
    step.event("Warning", "RolledBack", f"traffic back on revision {target}: {message}")
