"""Every FineTuneJob transition, decided without an API server."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from tests.unit.operator.fixtures import COMPLETE, SETTINGS, ftj_body, job, pod, result_message
from tradetune.operator.reconcile_finetunejob import (
    Decision,
    Observed,
    decide,
    needs_model_serve,
    needs_resync,
    phase_since,
)

NOW = datetime(2026, 1, 1, 1, 0, tzinfo=UTC)


def run(body: dict[str, Any], observed: Observed | None = None) -> Decision:
    return decide(body, observed or Observed(), SETTINGS, NOW)


def conds(status: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["type"]: c for c in status.get("conditions") or []}


def settle(body: dict[str, Any], observed: Observed) -> tuple[dict[str, Any], Decision]:
    """Apply decisions until nothing changes (what the handler loop does), return the last body."""
    decision = run(body, observed)
    for _ in range(5):
        if decision.status is None:
            break
        body = {**body, "status": decision.status}
        if decision.requeue_after != 0:
            break
        decision = run(body, observed)
    return body, decision


def test_new_job_creates_config_and_job() -> None:
    d = run(ftj_body())
    assert [m["kind"] for m in d.create] == ["ConfigMap", "Job"]
    assert d.status is not None
    assert d.status["phase"] == "Pending" and d.status["jobName"] == "pine-train"
    assert d.status["observedGeneration"] == 1
    assert conds(d.status)["Ready"]["reason"] == "JobCreated"
    assert [(e.type, e.reason) for e in d.events] == [("Normal", "JobCreated")]


def test_new_suspended_job_is_created_suspended() -> None:
    d = run(ftj_body(suspend=True))
    assert d.create[1]["spec"]["suspend"] is True
    assert d.status is not None and d.status["phase"] == "Suspended"


def test_restart_adopts_an_existing_job_without_status() -> None:
    d = run(ftj_body(), Observed(job=job()))
    assert d.create == []
    assert d.status is not None and d.status["phase"] == "Pending" and d.status["jobName"] == "pine-train"


def test_running_pod_moves_to_running() -> None:
    d = run(
        ftj_body(status={"phase": "Pending"}),
        Observed(job=job(active=1), pods=[pod("p1", "Running", running=True)]),
    )
    assert d.status is not None
    assert d.status["phase"] == "Running"
    assert d.status["attempts"] == 1
    assert d.status["startTime"] == "2026-01-01T00:02:00Z"
    assert conds(d.status)["Ready"]["reason"] == "Training"
    assert [(e.type, e.reason) for e in d.events] == [("Normal", "Training")]


def test_same_observation_twice_changes_nothing() -> None:
    observed = Observed(job=job(active=1), pods=[pod("p1", "Running", running=True)])
    first = run(ftj_body(), observed)
    assert first.status is not None
    again = run(ftj_body(status=first.status), observed)
    assert again.status is None and again.events == [] and again.create == []


def test_image_pull_backoff_stalls() -> None:
    d = run(ftj_body(), Observed(job=job(active=1), pods=[pod("p1", "Pending", waiting="ImagePullBackOff")]))
    assert d.status is not None
    assert d.status["phase"] == "Pending"
    stalled = conds(d.status)["Stalled"]
    assert (stalled["status"], stalled["reason"]) == ("True", "ImagePullBackOff")
    assert ("Warning", "ImagePullBackOff") in [(e.type, e.reason) for e in d.events]
    # Once the image arrives the stall clears.
    later = run(
        ftj_body(status=d.status), Observed(job=job(active=1), pods=[pod("p1", "Running", running=True)])
    )
    assert later.status is not None and conds(later.status)["Stalled"]["status"] == "False"


def test_oom_killed_pod_while_the_job_retries() -> None:
    pods = [pod("p1", "Failed", terminated={"exitCode": 137, "reason": "OOMKilled"})]
    d = run(ftj_body(status={"phase": "Running", "attempts": 1}), Observed(job=job(failed=1), pods=pods))
    assert d.status is not None
    assert d.status["phase"] == "Pending"
    ready = conds(d.status)["Ready"]
    assert ready["reason"] == "OOMKilled"
    assert "attempt 1 failed" in ready["message"] and "backoffLimit 2" in ready["message"]
    assert [(e.type, e.reason) for e in d.events] == [("Warning", "OOMKilled")]


def test_backoff_limit_reached_reports_the_last_pod_reason() -> None:
    pods = [
        pod(
            "p1",
            "Failed",
            created="2026-01-01T00:01:00Z",
            terminated={"exitCode": 137, "reason": "OOMKilled"},
        ),
        pod(
            "p2",
            "Failed",
            created="2026-01-01T00:05:00Z",
            terminated={"exitCode": 137, "reason": "OOMKilled"},
        ),
    ]
    failed = [{"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded"}]
    d = run(ftj_body(), Observed(job=job(failed=2, conditions=failed), pods=pods))
    assert d.status is not None
    assert d.status["phase"] == "Failed" and d.status["attempts"] == 2
    assert conds(d.status)["Failed"]["reason"] == "OOMKilled"
    assert d.status["completionTime"]


def test_deadline_exceeded() -> None:
    failed = [{"type": "Failed", "status": "True", "reason": "DeadlineExceeded"}]
    d = run(ftj_body(activeDeadlineSeconds=60), Observed(job=job(conditions=failed)))
    assert d.status is not None and conds(d.status)["Failed"]["reason"] == "DeadlineExceeded"
    assert "60s" in conds(d.status)["Failed"]["message"]


def test_trainer_reason_from_the_termination_message() -> None:
    pods = [
        pod(
            "p1",
            "Failed",
            terminated={"exitCode": 1, "reason": "Error", "message": result_message(outcome="Failed")},
        )
    ]
    failed = [{"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded"}]
    d = run(ftj_body(backoffLimit=0), Observed(job=job(failed=1, conditions=failed), pods=pods))
    assert d.status is not None
    assert conds(d.status)["Failed"]["reason"] == "Diverged"
    assert "loss is NaN" in conds(d.status)["Failed"]["message"]


def test_success_records_metrics_then_gates() -> None:
    pods = [
        pod("p1", "Succeeded", terminated={"exitCode": 0, "reason": "Completed", "message": result_message()})
    ]
    observed = Observed(job=job(succeeded=1, conditions=COMPLETE), pods=pods)
    d = run(
        ftj_body(status={"phase": "Running", "attempts": 1, "startTime": "2026-01-01T00:02:00Z"}), observed
    )
    assert d.status is not None
    assert d.status["phase"] == "Evaluating"
    assert d.requeue_after == 0
    assert d.status["metrics"]["perplexity"] == 8.0
    assert d.status["artifacts"]["merged"] == "/output/merged"
    assert d.training_seconds == 600.0
    assert conds(d.status)["Trained"]["status"] == "True"
    body, final = settle(ftj_body(status=d.status), observed)
    status = body["status"]
    assert status["phase"] == "Succeeded"
    assert status["gate"]["passed"] is True
    assert conds(status)["GatePassed"]["reason"] == "ThresholdsMet"
    assert conds(status)["Ready"]["status"] == "True"
    assert "Promoted" not in conds(status)
    assert final.training_seconds is None  # counted once


def test_bad_termination_message() -> None:
    pods = [pod("p1", "Succeeded", terminated={"exitCode": 0, "message": "{not json"})]
    d = run(ftj_body(), Observed(job=job(succeeded=1, conditions=COMPLETE), pods=pods))
    assert d.status is not None
    assert conds(d.status)["Failed"]["reason"] == "BadTrainerResult"


def _evaluated(**spec: Any) -> dict[str, Any]:
    pods = [
        pod(
            "p1", "Succeeded", terminated={"exitCode": 0, "message": result_message(**spec.pop("result", {}))}
        )
    ]
    observed = Observed(job=job(succeeded=1, conditions=COMPLETE), pods=pods)
    d = run(ftj_body(**spec), observed)
    assert d.status is not None and d.status["phase"] == "Evaluating"
    return d.status


def test_gate_failure_and_rerun_after_new_thresholds() -> None:
    status = _evaluated(result={"perplexity": 30.0})
    d = run(
        ftj_body(status=status, promote={"modelServe": "llm", "create": True, "auth": "none"}),
        Observed(job=job()),
    )
    assert d.status is not None
    assert d.status["phase"] == "Failed"
    assert d.model_serve_create is None and d.model_serve_patch is None
    assert conds(d.status)["Failed"]["reason"] == "GateFailed"
    assert conds(d.status)["Promoted"]["reason"] == "GateFailed"
    assert d.gate_result is False
    verdict = d.status["gate"]["verdicts"][0]
    assert (verdict["metric"], verdict["passed"], verdict["message"]) == (
        "perplexity",
        False,
        "perplexity 30 > max 20: failed",
    )

    # Same generation again: settled, nothing to do.
    same = run(
        ftj_body(status=d.status, promote={"modelServe": "llm", "create": True, "auth": "none"}),
        Observed(job=job()),
    )
    assert same.status is None and same.events == []

    # New thresholds (generation 2): re-gated from the recorded metrics, then promoted.
    body = ftj_body(
        generation=2,
        status=d.status,
        promote={"modelServe": "llm", "create": True, "auth": "none"},
        evaluation={"thresholds": {"perplexity": {"max": 40}}},
    )
    again = run(body, Observed(job=job()))
    assert again.create == []
    assert again.status is not None and again.status["phase"] == "Succeeded"
    assert again.model_serve_create is not None and again.promoted
    assert conds(again.status)["Failed"]["status"] == "False"


def test_promotion_patches_an_existing_model_serve_once() -> None:
    status = _evaluated()
    spec = {"promote": {"modelServe": "llm"}}
    ms = {
        "metadata": {"name": "llm", "annotations": {"tradetune.dev/accept-promotion-from": "pine"}},
        "spec": {"model": {"path": "/models/old"}},
    }
    assert needs_model_serve(ftj_body(status=status, **spec))
    d = run(ftj_body(status=status, **spec), Observed(job=job(), model_serve=ms))
    assert d.model_serve_patch is not None and d.promoted
    assert d.model_serve_patch["spec"]["model"]["fromFineTuneJob"] == "pine"
    assert d.status is not None and conds(d.status)["Promoted"]["status"] == "True"
    assert ("Normal", "Promoted") in [(e.type, e.reason) for e in d.events]
    # The ModelServe now points here: nothing more to do.
    promoted_ms = {
        "metadata": {"annotations": d.model_serve_patch["metadata"]["annotations"]},
        "spec": {"model": {"fromFineTuneJob": "pine"}},
    }
    again = run(ftj_body(status=d.status, **spec), Observed(job=job(), model_serve=promoted_ms))
    assert again.model_serve_patch is None and again.status is None and not again.promoted


def test_promotion_target_missing_without_create() -> None:
    status = _evaluated()
    d = run(ftj_body(status=status, promote={"modelServe": "llm"}), Observed(job=job()))
    assert d.status is not None and d.status["phase"] == "Succeeded"
    assert conds(d.status)["Promoted"]["reason"] == "ModelServeNotFound"
    assert d.requeue_after == 60.0


def test_invalid_spec_fails_once_without_children() -> None:
    body = ftj_body(training={"learningRate": 0})
    d = run(body)
    assert d.create == []
    assert d.status is not None and d.status["phase"] == "Failed"
    failed = conds(d.status)["Failed"]
    assert failed["reason"] == "InvalidSpec"
    assert failed["message"].startswith("spec.training.learningRate:")
    assert [(e.type, e.reason) for e in d.events] == [("Warning", "InvalidSpec")]
    again = run(ftj_body(training={"learningRate": 0}, status=d.status))
    assert again.status is None and again.events == []


def test_promote_needs_an_output_volume() -> None:
    d = run(ftj_body(output=None, promote={"modelServe": "llm"}))
    assert d.status is not None
    assert conds(d.status)["Failed"]["message"].startswith("spec.output: required when spec.promote is set")


def test_suspend_and_resume_patch_the_job() -> None:
    running = Observed(job=job(active=1), pods=[pod("p1", "Running", running=True)])
    d = run(ftj_body(suspend=True, status={"phase": "Running"}), running)
    assert d.job_patch == {"spec": {"suspend": True}}
    assert d.status is not None and d.status["phase"] == "Suspended"
    assert ("Normal", "Suspended") in [(e.type, e.reason) for e in d.events]
    resumed = run(ftj_body(suspend=False, status=d.status), Observed(job=job(suspend=True)))
    assert resumed.job_patch == {"spec": {"suspend": False}}
    assert ("Normal", "Resumed") in [(e.type, e.reason) for e in resumed.events]


def test_job_of_another_owner_is_not_adopted() -> None:
    d = run(ftj_body(), Observed(job=job(owner="someone-else")))
    assert d.create == [] and d.requeue_after == 10.0
    assert d.status is not None and conds(d.status)["Stalled"]["reason"] == "JobConflict"


def test_job_deleted_mid_run_fails_instead_of_retraining() -> None:
    d = run(ftj_body(status={"phase": "Running", "jobName": "pine-train", "attempts": 1}))
    assert d.create == []
    assert d.status is not None and conds(d.status)["Failed"]["reason"] == "JobDeleted"


def test_deleting_object_is_left_to_the_delete_handler() -> None:
    body = ftj_body()
    body["metadata"]["deletionTimestamp"] = "2026-01-01T00:30:00Z"
    d = run(body)
    assert d.status is None and d.create == [] and d.events == []


def test_a_retry_created_in_the_same_second_is_the_current_attempt() -> None:
    same_second = "2026-01-01T00:01:00Z"
    pods = [
        pod(
            "trainer-zzz", "Failed", created=same_second, terminated={"exitCode": 137, "reason": "OOMKilled"}
        ),
        pod("trainer-aaa", "Running", created=same_second, running=True),
    ]
    d = run(
        ftj_body(status={"phase": "Pending", "attempts": 1}), Observed(job=job(failed=1, active=1), pods=pods)
    )
    assert d.status is not None and d.status["phase"] == "Running" and d.status["attempts"] == 2


def test_phase_since_survives_a_restart() -> None:
    running = ftj_body(status={"phase": "Running", "startTime": "2026-01-01T00:02:00Z"})
    assert phase_since(running) == datetime(2026, 1, 1, 0, 2, tzinfo=UTC).timestamp()
    done = ftj_body(status={"phase": "Failed", "completionTime": "2026-01-01T00:30:00Z"})
    assert phase_since(done) == datetime(2026, 1, 1, 0, 30, tzinfo=UTC).timestamp()
    assert phase_since(ftj_body()) == datetime(2026, 1, 1, tzinfo=UTC).timestamp()


def test_only_unsettled_jobs_need_a_periodic_resync() -> None:
    done = {"phase": "Succeeded", "observedGeneration": 1}
    assert not needs_resync(ftj_body(status=done))
    assert not needs_resync(ftj_body(status={**done, "phase": "Failed"}))
    assert needs_resync(ftj_body(status={**done, "phase": "Running"}))
    assert needs_resync(ftj_body(generation=2, status=done))  # a spec change not reconciled yet
    assert needs_resync(ftj_body())  # no status at all
    waiting = {
        **done,
        "conditions": [{"type": "Promoted", "status": "False", "reason": "ModelServeNotFound"}],
    }
    assert needs_resync(ftj_body(status=waiting))  # someone may create the ModelServe


LONG = "x" * 300


def test_column_messages_stay_within_80_characters_and_the_detail_stays_in_the_condition() -> None:
    """status.message (the MESSAGE column) is at most 80 characters; the condition keeps it all."""
    long_wait = pod("p1", "Pending", waiting="ImagePullBackOff")
    long_wait["status"]["containerStatuses"][0]["state"]["waiting"]["message"] = "Back-off pulling " + LONG
    oom = pod("p1", "Failed", terminated={"exitCode": 137, "reason": "OOMKilled"})
    failure = [{"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded"}]
    failed_pod = pod(
        "p1",
        "Failed",
        terminated={"exitCode": 1, "message": result_message(outcome="Failed").replace("loss is NaN", LONG)},
    )
    cases = [
        Observed(job=job(active=1), pods=[long_wait]),
        Observed(job=job(failed=1), pods=[oom]),
        Observed(job=job(failed=1, conditions=failure), pods=[failed_pod]),
    ]
    for observed in cases:
        d = run(ftj_body(status={"phase": "Running", "attempts": 1}), observed)
        assert d.status is not None
        assert 0 < len(d.status["message"]) <= 80, d.status["message"]
        longest = max(len(c["message"]) for c in d.status["conditions"])
        assert longest > 80  # the whole story is in a condition


def test_short_cuts_on_a_word_and_says_so() -> None:
    from tradetune.jobstatus import COLUMN_MESSAGE_LIMIT, short

    text = "attempt 1 failed: the trainer was killed for exceeding its memory limit (exit code 137); retrying"
    cut = short(text)
    assert len(cut) <= COLUMN_MESSAGE_LIMIT and cut.endswith("…") and text.startswith(cut[:-1])
    assert short("fits") == "fits"
    assert len(short("y" * 500)) <= COLUMN_MESSAGE_LIMIT


def test_a_fixed_spec_leaves_no_condition_of_the_invalid_one() -> None:
    bad = run(ftj_body(training={"learningRate": 0}))
    assert bad.status is not None
    fixed = run(ftj_body(generation=2, status=bad.status))
    assert fixed.status is not None and fixed.status["phase"] == "Pending"
    assert {c["type"]: c["reason"] for c in fixed.status["conditions"]} == {"Ready": "JobCreated"}


def test_stalled_clears_when_the_pod_fails_or_runs_on() -> None:
    stalled = run(
        ftj_body(), Observed(job=job(active=1), pods=[pod("p1", "Pending", waiting="ImagePullBackOff")])
    )
    assert stalled.status is not None
    failure = [{"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded"}]
    failed = pod("p1", "Failed", terminated={"exitCode": 1, "reason": "Error"})
    d = run(ftj_body(status=stalled.status), Observed(job=job(failed=1, conditions=failure), pods=[failed]))
    assert d.status is not None and d.status["phase"] == "Failed"
    assert conds(d.status)["Stalled"]["status"] == "False"
    retrying = run(ftj_body(status=stalled.status), Observed(job=job(failed=1), pods=[failed]))
    assert retrying.status is not None and conds(retrying.status)["Stalled"]["status"] == "False"


def test_a_deleted_model_serve_is_recorded_and_not_created_again() -> None:
    status = _evaluated()
    spec = {"promote": {"modelServe": "llm", "create": True, "auth": "none"}}
    created = run(ftj_body(status=status, **spec), Observed(job=job()))
    assert created.model_serve_create is not None and created.status is not None
    assert created.status["createdModelServe"]["name"] == "llm"
    gone = run(ftj_body(status=created.status, **spec), Observed(job=job()))
    assert gone.model_serve_create is None
    assert gone.status is not None and conds(gone.status)["Promoted"]["reason"] == "ModelServeDeleted"
    assert ("Warning", "ModelServeDeleted") in [(e.type, e.reason) for e in gone.events]
    assert conds(gone.status)["Ready"]["status"] == "True"  # the job itself still succeeded
    again = run(ftj_body(status=gone.status, **spec), Observed(job=job()))
    assert again.model_serve_create is None and again.status is None
    changed = {
        "promote": {
            "modelServe": "llm",
            "create": True,
            "auth": "none",
            "modelServeTemplate": {"replicas": 2},
        }
    }
    asked = run(ftj_body(generation=2, status=gone.status, **changed), Observed(job=job()))
    assert asked.model_serve_create is not None and asked.model_serve_create["spec"]["replicas"] == 2


def test_a_model_serve_being_deleted_counts_as_deleted() -> None:
    status = _evaluated()
    spec = {"promote": {"modelServe": "llm", "create": True, "auth": "none"}}
    created = run(ftj_body(status=status, **spec), Observed(job=job()))
    assert created.model_serve_create is not None and created.status is not None
    dying = {
        **created.model_serve_create,
        "metadata": {**created.model_serve_create["metadata"], "deletionTimestamp": "x"},
    }
    d = run(ftj_body(status=created.status, **spec), Observed(job=job(), model_serve=dying))
    assert d.model_serve_patch is None
    assert d.status is not None and conds(d.status)["Promoted"]["reason"] == "ModelServeDeleted"


def test_a_missing_secret_is_secret_not_found() -> None:
    waiting = pod("p1", "Pending", waiting="CreateContainerConfigError")
    waiting["status"]["containerStatuses"][0]["state"]["waiting"]["message"] = 'secret "hf" not found'
    d = run(ftj_body(), Observed(job=job(active=1), pods=[waiting]))
    assert d.status is not None and conds(d.status)["Stalled"]["reason"] == "SecretNotFound"
    assert conds(d.status)["Stalled"]["message"].startswith(
        "trainer pod p1 cannot start: SecretNotFound: Secret hf"
    )


def test_trained_says_what_the_trainer_said_and_how_long_it_took() -> None:
    from tradetune.api import EvalMetrics, TrainResult

    message = TrainResult(
        outcome="Succeeded",
        reason="Completed",
        message="trained 1875 steps (3 epochs)",
        metrics=EvalMetrics(perplexity=5.0, task_accuracy=0.9),
        timings={"train": 5123.4, "evaluate": 310.0},
    ).to_termination_message()
    pods = [pod("p1", "Succeeded", terminated={"exitCode": 0, "message": message})]
    d = run(ftj_body(), Observed(job=job(succeeded=1, conditions=COMPLETE), pods=pods))
    assert d.status is not None
    assert conds(d.status)["Trained"]["message"] == (
        "trainer: trained 1875 steps (3 epochs); took train 5,123 s, evaluate 310 s."
    )
    assert d.status["timings"] == {"train": 5123.4, "evaluate": 310.0}


def test_gate_events_come_in_order_and_once() -> None:
    status = _evaluated(result={"perplexity": 30.0})
    d = run(
        ftj_body(status=status, promote={"modelServe": "llm", "create": True, "auth": "none"}),
        Observed(job=job()),
    )
    assert [(e.type, e.reason) for e in d.events] == [
        ("Warning", "ThresholdsNotMet"),
        ("Warning", "GateFailed"),
    ]
    ok = run(
        ftj_body(status=_evaluated(), promote={"modelServe": "llm", "create": True, "auth": "none"}),
        Observed(job=job()),
    )
    assert [e.reason for e in ok.events] == ["ThresholdsMet", "Promoted", "Succeeded"]
