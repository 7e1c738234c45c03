"""The rollout state machine as a decision table: (phase, observed children) -> actions, status."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from tradetune.api import EvalMetrics, RolloutSpec, RolloutState, ServedModel, TrainResult
from tradetune.operator.rollout import (
    DeleteCandidateService,
    DeleteDeployment,
    DeleteVerifyJob,
    DeploymentObs,
    EnsureCandidateService,
    EnsureDeployment,
    EnsureVerifyJob,
    JobObs,
    PointService,
    RolloutEvent,
    RolloutObserved,
    RolloutStatus,
    decide,
    verify_job_name,
)

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
RECORDED = EvalMetrics(perplexity=10.0, pine_syntax_score=0.8, task_accuracy=0.5)
GOOD = TrainResult(
    outcome="Succeeded",
    reason="Evaluated",
    metrics=EvalMetrics(perplexity=10.3, pine_syntax_score=0.8, task_accuracy=0.5),
)
BASE_SERVED = TrainResult(
    outcome="Succeeded",
    reason="Evaluated",
    metrics=EvalMetrics(perplexity=41.0, pine_syntax_score=0.2, task_accuracy=0.1),
)
UP = DeploymentObs(replicas=1, ready=True)
LOADING = DeploymentObs(replicas=1)
CRASHING = DeploymentObs(replicas=1, crash_looping=True)
ZERO = DeploymentObs(replicas=0)
SPEC = RolloutSpec(watch_seconds=600)
VERIFY_R2 = verify_job_name("ms", "r2", "verify")
REVERIFY_R2 = verify_job_name("ms", "r2", "reverify")


def model(rev: str) -> ServedModel:
    return ServedModel(name="ms", fine_tune_job="job", path=f"/models/{rev}", revision=rev)


def observed(desired: str | None = "r2", **kw: object) -> RolloutObserved:
    base = RolloutObserved(
        name="ms",
        desired=model(desired) if desired else None,
        recorded=RECORDED,
        from_fine_tune_job=True,
        replicas=1,
        deployments={"r1": UP},
        service_revision="r1",
    )
    return replace(base, **kw)  # type: ignore[arg-type]


def stable(rev: str = "r1", **state: object) -> RolloutStatus:
    return RolloutStatus(
        state=RolloutState(phase="Stable", served_revision=rev, **state),  # type: ignore[arg-type]
        served_model=model(rev),
        last_good_model=model(rev),
    )


def verifying(rev: str = "r2") -> RolloutStatus:
    return decide(SPEC, observed(), stable(), NOW).status


def watching(at: datetime = NOW) -> RolloutStatus:
    obs = observed(
        deployments={"r1": UP, "r2": UP}, jobs={VERIFY_R2: JobObs(True, GOOD)}, candidate_service="r2"
    )
    return decide(SPEC, obs, verifying(), at).status


def kinds(actions: list[object], kind: type) -> list[object]:
    return [a for a in actions if isinstance(a, kind)]


def reasons(actions: list[object]) -> list[str]:
    return [a.reason for a in actions if isinstance(a, RolloutEvent)]


# --- Stable -> Verifying -------------------------------------------------------------------


def test_a_new_revision_starts_a_candidate_beside_the_served_one() -> None:
    out = decide(SPEC, observed(), stable(), NOW)
    assert EnsureDeployment("r2", 1) in out.actions and EnsureDeployment("r1", 1) in out.actions
    assert not kinds(out.actions, PointService) and not kinds(out.actions, EnsureVerifyJob)
    assert out.status.state.phase == "Verifying" and out.status.state.served_revision == "r1"
    assert out.status.candidate is not None and out.status.candidate.phase == "Deploying"
    assert reasons(out.actions) == ["CandidateStarted"]


def test_a_ready_candidate_gets_its_service_and_a_verification_job() -> None:
    out = decide(SPEC, observed(deployments={"r1": UP, "r2": UP}), verifying(), NOW)
    assert EnsureCandidateService("r2") in out.actions
    assert EnsureVerifyJob("r2", "verify", VERIFY_R2, "candidate") in out.actions
    assert not kinds(out.actions, PointService)
    assert out.status.candidate is not None and out.status.candidate.phase == "Verifying"


def test_a_running_job_is_waited_for_not_duplicated() -> None:
    obs = observed(deployments={"r1": UP, "r2": UP}, jobs={VERIFY_R2: JobObs(False)}, candidate_service="r2")
    out = decide(SPEC, obs, verifying(), NOW)
    assert kinds(out.actions, EnsureVerifyJob) == [EnsureVerifyJob("r2", "verify", VERIFY_R2, "candidate")]
    assert not kinds(out.actions, DeleteVerifyJob) and not kinds(out.actions, PointService)


# --- Verifying -> switch / refuse ----------------------------------------------------------


def test_a_passing_job_moves_the_selector_and_keeps_the_previous_running() -> None:
    obs = observed(
        deployments={"r1": UP, "r2": UP}, jobs={VERIFY_R2: JobObs(True, GOOD)}, candidate_service="r2"
    )
    out = decide(SPEC, obs, verifying(), NOW)
    assert PointService("r2") in out.actions
    assert EnsureDeployment("r1", 1) in out.actions  # kept running for the window
    assert DeleteCandidateService() in out.actions and DeleteVerifyJob(VERIFY_R2) in out.actions
    assert not kinds(out.actions, DeleteDeployment)
    s = out.status
    assert (s.state.phase, s.state.served_revision, s.state.previous_revision) == ("Watching", "r2", "r1")
    assert s.served_model == model("r2") and s.last_good_model == model("r1")
    assert out.verified is not None and out.verified.status and out.verified.reason == "Passed"
    assert s.candidate is not None and [v.metric for v in s.candidate.verdicts] == [
        "perplexity",
        "pineSyntaxScore",
        "taskAccuracy",
    ]
    assert out.requeue_after == 600
    assert reasons(out.actions) == ["Promoted"]


def test_scaled_to_zero_previous_during_the_window() -> None:
    obs = observed(
        deployments={"r1": UP, "r2": UP}, jobs={VERIFY_R2: JobObs(True, GOOD)}, candidate_service="r2"
    )
    out = decide(RolloutSpec(keep_previous="scaledToZero"), obs, verifying(), NOW)
    assert EnsureDeployment("r1", 0) in out.actions and EnsureDeployment("r1", 1) not in out.actions


def test_a_failing_job_removes_the_candidate_and_never_moves_traffic() -> None:
    obs = observed(
        deployments={"r1": UP, "r2": UP}, jobs={VERIFY_R2: JobObs(True, BASE_SERVED)}, candidate_service="r2"
    )
    out = decide(SPEC, obs, verifying(), NOW)
    assert not kinds(out.actions, PointService)
    assert DeleteDeployment("r2") in out.actions and DeleteCandidateService() in out.actions
    assert DeleteVerifyJob(VERIFY_R2) in out.actions and DeleteDeployment("r1") not in out.actions
    s = out.status
    assert (s.state.phase, s.state.served_revision, s.state.rejected) == ("Stable", "r1", ["r2"])
    assert s.served_model == model("r1")
    assert (
        out.verified is not None and not out.verified.status and out.verified.reason == "VerificationFailed"
    )
    assert (
        s.candidate is not None
        and s.candidate.phase == "Failed"
        and "perplexity" in (s.candidate.message or "")
    )
    ppl = next(v for v in s.candidate.verdicts if v.metric == "perplexity")
    assert not ppl.passed and ppl.value == 41.0 and ppl.base_value == 10.0
    assert reasons(out.actions) == ["VerificationFailed"]


def test_a_refused_revision_is_not_tried_again() -> None:
    status = stable(rejected=["r2"])
    out = decide(SPEC, observed(), status, NOW)
    assert out.status.state.phase == "Stable" and not kinds(out.actions, EnsureVerifyJob)
    assert EnsureDeployment("r2", 1) not in out.actions and not reasons(out.actions)


@pytest.mark.parametrize(
    "job",
    [
        JobObs(True, None, "pod OOMKilled"),
        JobObs(True, TrainResult(outcome="Failed", reason="EndpointUnreachable", message="no route")),
    ],
)
def test_a_job_without_a_result_fails_the_candidate(job: JobObs) -> None:
    obs = observed(deployments={"r1": UP, "r2": UP}, jobs={VERIFY_R2: job}, candidate_service="r2")
    out = decide(SPEC, obs, verifying(), NOW)
    assert not kinds(out.actions, PointService) and out.status.state.rejected == ["r2"]


def test_a_crash_looping_candidate_is_refused_without_a_job() -> None:
    out = decide(SPEC, observed(deployments={"r1": UP, "r2": CRASHING}), verifying(), NOW)
    assert DeleteDeployment("r2") in out.actions and not kinds(out.actions, EnsureVerifyJob)
    assert out.status.candidate is not None and "crash-looping" in (out.status.candidate.message or "")


def test_verification_off_for_a_plain_path_switches_when_ready() -> None:
    obs = observed(deployments={"r1": UP, "r2": UP}, from_fine_tune_job=False, recorded=None)
    out = decide(SPEC, obs, verifying(), NOW)
    assert PointService("r2") in out.actions and not kinds(out.actions, EnsureVerifyJob)


def test_the_first_revision_is_verified_before_a_service_selects_it() -> None:
    empty = RolloutStatus()
    obs = observed(desired="r1", deployments={}, service_revision=None)
    first = decide(SPEC, obs, empty, NOW)
    assert EnsureDeployment("r1", 1) in first.actions and not kinds(first.actions, PointService)
    obs = replace(
        obs, deployments={"r1": UP}, jobs={verify_job_name("ms", "r1", "verify"): JobObs(True, GOOD)}
    )
    done = decide(SPEC, obs, first.status, NOW)
    assert PointService("r1") in done.actions
    assert done.status.state.phase == "Stable" and done.status.last_good_model == model("r1")


def test_the_spec_moving_on_mid_verification_drops_the_candidate() -> None:
    obs = observed(desired="r3", deployments={"r1": UP, "r2": UP}, candidate_service="r2")
    out = decide(SPEC, obs, verifying(), NOW)
    assert DeleteDeployment("r2") in out.actions and EnsureDeployment("r3", 1) in out.actions
    assert out.status.candidate is not None and out.status.candidate.revision == "r3"


# --- Watching -> clean / rollback ----------------------------------------------------------


def test_within_the_window_nothing_changes_and_a_requeue_is_asked() -> None:
    obs = observed(deployments={"r1": UP, "r2": UP}, service_revision="r2")
    out = decide(SPEC, obs, watching(), NOW + timedelta(seconds=100))
    assert out.status == watching() and out.requeue_after == 500
    assert not kinds(out.actions, DeleteDeployment) and not kinds(out.actions, PointService)


def test_a_crash_loop_in_the_window_moves_the_selector_back() -> None:
    obs = observed(deployments={"r1": UP, "r2": CRASHING}, service_revision="r2")
    out = decide(SPEC, obs, watching(), NOW + timedelta(seconds=60))
    assert PointService("r1") in out.actions and DeleteDeployment("r2") in out.actions
    s = out.status
    assert (s.state.phase, s.state.served_revision, s.state.rollbacks) == ("Stable", "r1", 1)
    assert s.served_model == model("r1") and s.last_good_model == model("r1") and "r2" in s.state.rejected
    assert out.rolled_back and out.verified is not None and out.verified.reason == "RolledBack"
    assert reasons(out.actions) == ["RolledBack"]


def test_a_rollback_to_a_scaled_down_previous_waits_for_it() -> None:
    spec = RolloutSpec(keep_previous="scaledToZero")
    obs = observed(deployments={"r1": ZERO, "r2": CRASHING}, service_revision="r2")
    out = decide(spec, obs, watching(), NOW + timedelta(seconds=60))
    assert EnsureDeployment("r1", 1) in out.actions and not kinds(out.actions, PointService)
    assert out.status.state.phase == "RollingBack" and not out.rolled_back
    later = decide(
        spec, replace(obs, deployments={"r1": UP, "r2": CRASHING}), out.status, NOW + timedelta(seconds=90)
    )
    assert PointService("r1") in later.actions and later.rolled_back
    assert later.status.state.served_revision == "r1"


def test_the_window_end_starts_a_reverification_through_the_main_service() -> None:
    obs = observed(deployments={"r1": UP, "r2": UP}, service_revision="r2")
    out = decide(SPEC, obs, watching(), NOW + timedelta(seconds=601))
    assert EnsureVerifyJob("r2", "reverify", REVERIFY_R2, "main") in out.actions
    assert out.status.state.phase == "Reverifying" and not kinds(out.actions, DeleteDeployment)


def test_a_clean_window_deletes_the_previous_deployment() -> None:
    obs = observed(deployments={"r1": UP, "r2": UP}, service_revision="r2")
    status = decide(SPEC, obs, watching(), NOW + timedelta(seconds=601)).status
    obs = replace(obs, jobs={REVERIFY_R2: JobObs(True, GOOD)})
    out = decide(SPEC, obs, status, NOW + timedelta(seconds=700))
    assert DeleteDeployment("r1") in out.actions and DeleteVerifyJob(REVERIFY_R2) in out.actions
    assert not kinds(out.actions, PointService)
    s = out.status
    assert (s.state.phase, s.state.served_revision, s.state.previous_revision) == ("Stable", "r2", None)
    assert s.last_good_model == model("r2") and reasons(out.actions) == ["WatchPassed"]


def test_a_failed_reverification_rolls_back() -> None:
    obs = observed(deployments={"r1": UP, "r2": UP}, service_revision="r2")
    status = decide(SPEC, obs, watching(), NOW + timedelta(seconds=601)).status
    obs = replace(obs, jobs={REVERIFY_R2: JobObs(True, BASE_SERVED)})
    out = decide(SPEC, obs, status, NOW + timedelta(seconds=700))
    assert PointService("r1") in out.actions and out.rolled_back
    assert out.status.state.served_revision == "r1" and out.status.served_model == model("r1")
    assert out.status.candidate is not None and "re-verification failed" in (
        out.status.candidate.message or ""
    )


# --- recreate ------------------------------------------------------------------------------


def test_recreate_stops_the_served_model_before_the_candidate() -> None:
    spec = RolloutSpec(strategy="recreate")
    out = decide(spec, observed(), stable(), NOW)
    assert DeleteDeployment("r1") in out.actions and EnsureDeployment("r2", 1) in out.actions
    assert EnsureDeployment("r1", 1) not in out.actions


def test_recreate_failure_redeploys_the_last_good_revision() -> None:
    spec = RolloutSpec(strategy="recreate")
    status = decide(spec, observed(), stable(), NOW).status
    obs = observed(
        deployments={"r2": UP}, jobs={VERIFY_R2: JobObs(True, BASE_SERVED)}, candidate_service="r2"
    )
    out = decide(spec, obs, status, NOW)
    assert EnsureDeployment("r1", 1) in out.actions and DeleteDeployment("r2") in out.actions
    assert not kinds(out.actions, PointService) and out.status.state.served_revision == "r1"


# --- restarts ------------------------------------------------------------------------------


def test_every_step_repeated_with_the_same_inputs_gives_the_same_result() -> None:
    """An operator restarted after any step sees the same status and children and does the same."""
    cases = [
        (observed(), stable()),
        (observed(deployments={"r1": UP, "r2": UP}), verifying()),
        (observed(deployments={"r1": UP, "r2": UP}, jobs={VERIFY_R2: JobObs(True, GOOD)}), verifying()),
        (observed(deployments={"r1": UP, "r2": CRASHING}, service_revision="r2"), watching()),
    ]
    for obs, status in cases:
        first, again = decide(SPEC, obs, status, NOW), decide(SPEC, obs, status, NOW)
        assert first.actions == again.actions and first.status == again.status


def test_a_step_applied_twice_creates_nothing_twice() -> None:
    """After the switch was applied but the status write was lost, the next step converges."""
    obs = observed(
        deployments={"r1": UP, "r2": UP},
        jobs={VERIFY_R2: JobObs(True, GOOD)},
        candidate_service="r2",
        service_revision="r2",  # the selector already moved before the crash
    )
    out = decide(SPEC, obs, verifying(), NOW)
    assert out.status.state.phase == "Watching" and kinds(out.actions, PointService) == [PointService("r2")]
    assert not kinds(out.actions, EnsureVerifyJob) and not kinds(out.actions, DeleteDeployment)
