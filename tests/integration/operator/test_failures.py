"""Failure paths: gate failure, OOM retry, invalid specs, stalls, deadlines, suspend and delete."""

from __future__ import annotations

import copy
import time
from typing import Any

import pytest

from tests.integration.operator.conftest import (
    CONFIGMAPS,
    FTJ,
    JOBS,
    MSERVE,
    NS,
    Cluster,
    OperatorHarness,
    finetunejob,
    train_result,
    wait_for,
)
from tests.integration.operator.running_emulator import RunningEmulator
from tradetune.api import TrainResult

pytestmark = pytest.mark.timeout(120)


def test_gate_failure_blocks_promotion_then_rethreshold_promotes(
    emulator: RunningEmulator, operator: OperatorHarness, cluster: Cluster
) -> None:
    with operator.running():
        emulator.create(
            FTJ,
            finetunejob(
                "weak",
                promote={"modelServe": "weak-llm", "create": True, "apiKeySecretRef": {"name": "llm-key"}},
            ),
        )
        pod = cluster.start_pod("weak")
        cluster.wait_phase("weak", "Running")
        cluster.finish_pod("weak", pod, message=train_result(perplexity=35.0, task_accuracy=0.3))
        status = cluster.wait_phase("weak", "Failed")
        verdicts = {v["metric"]: v for v in status["gate"]["verdicts"]}
        assert verdicts["perplexity"]["passed"] is False
        assert verdicts["perplexity"]["message"] == "perplexity 35 > max 20: failed"
        assert verdicts["taskAccuracy"]["passed"] is False
        assert status["gate"]["summary"] == "Failed: perplexity, taskAccuracy"
        conditions = {c["type"]: c for c in status["conditions"]}
        assert conditions["Failed"]["reason"] == "GateFailed"
        assert conditions["GatePassed"]["reason"] == "ThresholdsNotMet"
        assert "perplexity 35 > max 20: failed" in conditions["GatePassed"]["message"]
        assert conditions["Promoted"]["status"] == "False"
        assert conditions["Trained"]["status"] == "True"
        assert emulator.get(MSERVE, NS, "weak-llm") is None
        cluster.wait_events("weak", ("Warning", "ThresholdsNotMet"))

        # Loosening the thresholds re-runs the gate on the recorded metrics: no retraining.
        emulator.patch(
            FTJ,
            NS,
            "weak",
            {
                "spec": {
                    "evaluation": {"thresholds": {"perplexity": {"max": 40}, "taskAccuracy": {"min": 0.25}}}
                }
            },
        )
        status = cluster.wait_phase("weak", "Succeeded")
        assert status["gate"]["passed"] is True and status["observedGeneration"] == 2
        assert wait_for("ModelServe", lambda: emulator.get(MSERVE, NS, "weak-llm"))
        assert len(emulator.list(JOBS, NS)) == 1
        operator.wait_metrics(
            'tradetune_gate_evaluations_total{namespace="tt",result="failed"} 1.0',
            'tradetune_gate_evaluations_total{namespace="tt",result="passed"} 1.0',
        )


def test_oom_killed_pod_is_reported_and_retried(
    emulator: RunningEmulator, operator: OperatorHarness, cluster: Cluster
) -> None:
    with operator.running():
        emulator.create(FTJ, finetunejob("oom"))
        first = cluster.start_pod("oom")
        cluster.wait_phase("oom", "Running")
        cluster.finish_pod("oom", first, message="", exit_code=137, reason="OOMKilled")

        def retrying() -> bool:
            ready = cluster.condition("oom", "Ready") or {}
            return ready.get("reason") == "OOMKilled"

        wait_for("Ready reason OOMKilled", retrying)
        status = cluster.status("oom")
        assert status["phase"] == "Pending"
        ready = cluster.condition("oom", "Ready") or {}
        assert "attempt 1 failed" in ready["message"] and "memory limit" in ready["message"]
        assert status["message"] == "attempt 1 failed; retrying"  # the column: short, the reason beside it
        cluster.wait_events("oom", ("Warning", "OOMKilled"))

        # The Job controller retries; the second attempt succeeds.
        second = cluster.start_pod("oom")
        status = wait_for(
            "second attempt running",
            lambda: (s := cluster.status("oom"))["attempts"] == 2 and s["phase"] == "Running" and s,
        )
        cluster.finish_pod("oom", second, message=train_result())
        status = cluster.wait_phase("oom", "Succeeded")
        assert status["attempts"] == 2


def test_failed_job_reports_the_trainer_reason(
    emulator: RunningEmulator, operator: OperatorHarness, cluster: Cluster
) -> None:
    with operator.running():
        emulator.create(FTJ, finetunejob("broken", backoffLimit=0))
        pod = cluster.start_pod("broken")
        cluster.wait_phase("broken", "Running")
        failure = TrainResult(outcome="Failed", reason="Diverged", message="loss became NaN at step 12")
        cluster.finish_pod(
            "broken", pod, message=failure.to_termination_message(), exit_code=1, reason="Error"
        )
        cluster.fail_job("broken", "BackoffLimitExceeded", "Job has reached the specified backoff limit")
        status = cluster.wait_phase("broken", "Failed")
        failed = cluster.condition("broken", "Failed")
        assert failed is not None and failed["reason"] == "Diverged"
        assert "loss became NaN at step 12" in failed["message"]
        assert status["completionTime"]


def test_deadline_exceeded(emulator: RunningEmulator, operator: OperatorHarness, cluster: Cluster) -> None:
    with operator.running():
        emulator.create(FTJ, finetunejob("slow", activeDeadlineSeconds=60))
        assert cluster.job("slow")["spec"]["activeDeadlineSeconds"] == 60
        cluster.start_pod("slow")
        cluster.wait_phase("slow", "Running")
        cluster.fail_job("slow", "DeadlineExceeded", "Job was active longer than specified deadline")
        cluster.wait_phase("slow", "Failed")
        failed = cluster.condition("slow", "Failed")
        assert failed is not None and failed["reason"] == "DeadlineExceeded"


def test_image_pull_backoff_is_a_stalled_condition(
    emulator: RunningEmulator, operator: OperatorHarness, cluster: Cluster
) -> None:
    with operator.running():
        emulator.create(FTJ, finetunejob("pull"))
        pod = cluster.start_pod("pull", running=False)
        cluster.image_pull_backoff(pod)
        stalled = wait_for(
            "Stalled", lambda: (c := cluster.condition("pull", "Stalled")) and c["status"] == "True" and c
        )
        assert stalled["reason"] == "ImagePullBackOff"
        assert "registry.test/tradetune/trainer:test" in stalled["message"]
        assert cluster.status("pull")["phase"] == "Pending"
        cluster.wait_events("pull", ("Warning", "ImagePullBackOff"))


def test_invalid_spec_fails_once_with_field_path(
    emulator: RunningEmulator, operator: OperatorHarness, cluster: Cluster
) -> None:
    with operator.running():
        emulator.create(FTJ, finetunejob("bad", training={"learningRate": -1}, resources={"profile": "huge"}))
        status = cluster.wait_phase("bad", "Failed")
        failed = cluster.condition("bad", "Failed")
        assert failed is not None and failed["reason"] == "InvalidSpec"
        assert "spec.training.learningRate" in failed["message"]
        assert emulator.get(JOBS, NS, "bad-train") is None
        cluster.wait_events("bad", ("Warning", "InvalidSpec"))
        time.sleep(1.0)  # no crash loop: nothing more happens on its own
        events = [e for e in cluster.events("bad") if e[1] == "InvalidSpec"]
        assert len(events) == 1 and events[0][0] == "Warning"
        assert cluster.status("bad") == status

        # Fixing the spec starts the job.
        emulator.patch(
            FTJ, NS, "bad", {"spec": {"training": {"learningRate": 0.0002}, "resources": {"profile": None}}}
        )
        cluster.job("bad")
        status = cluster.wait_phase("bad", "Pending")
        # The conditions describe the new run only: nothing is left of the invalid spec.
        assert {c["type"]: c["reason"] for c in status["conditions"]} == {"Ready": "JobCreated"}


def test_unknown_profile_is_invalid_spec(
    emulator: RunningEmulator, operator: OperatorHarness, cluster: Cluster
) -> None:
    with operator.running():
        emulator.create(FTJ, finetunejob("prof", resources={"profile": "a100"}))
        cluster.wait_phase("prof", "Failed")
        failed = cluster.condition("prof", "Failed")
        assert failed is not None and failed["message"].startswith(
            "spec.resources.profile: unknown profile 'a100'"
        )


def test_suspend_and_resume(emulator: RunningEmulator, operator: OperatorHarness, cluster: Cluster) -> None:
    with operator.running():
        emulator.create(FTJ, finetunejob("pause", suspend=True))
        assert cluster.job("pause")["spec"]["suspend"] is True
        cluster.wait_phase("pause", "Suspended")
        emulator.patch(FTJ, NS, "pause", {"spec": {"suspend": False}})
        wait_for("Job resumed", lambda: emulator.get(JOBS, NS, "pause-train")["spec"]["suspend"] is False)
        pod = cluster.start_pod("pause")
        cluster.wait_phase("pause", "Running")
        emulator.patch(FTJ, NS, "pause", {"spec": {"suspend": True}})
        wait_for("Job suspended", lambda: emulator.get(JOBS, NS, "pause-train")["spec"]["suspend"] is True)
        cluster.wait_phase("pause", "Suspended")
        wait_for(
            "Resumed and a second Suspended event",
            lambda: "Resumed" in (r := cluster.reasons("pause")) and r.count("Suspended") >= 2,
        )
        del pod


def ftj_versions(emulator: RunningEmulator, name: str) -> list[dict[str, Any]]:
    """Every version of a FineTuneJob the emulated API server stored, the current one last."""

    def collect(e: Any) -> list[dict[str, Any]]:
        return [
            copy.deepcopy(version)
            for (resource, namespace, stored_name), obj in e.objects.items()
            if getattr(resource, "plural", None) == "finetunejobs" and (namespace, stored_name) == (NS, name)
            for version in [*obj.history, obj.raw]
        ]

    versions: list[dict[str, Any]] = emulator.call(collect)
    return versions


def test_delete_cleans_up_children(
    emulator: RunningEmulator, operator: OperatorHarness, cluster: Cluster
) -> None:
    with operator.running():
        emulator.create(FTJ, finetunejob("gone"))
        cluster.start_pod("gone")
        cluster.wait_phase("gone", "Running")
        operator.wait_metrics('name="gone"')
        # Live progress reads the trainer's log while it runs; no finalizer comes with it
        # (docs/operator.md, "No finalizers"): wait for reads, then check every version stored.
        wait_for("two reads of the trainer's log", lambda: emulator.call(lambda e: e.pod_logs.reads) >= 2)
        finalizers = [v["metadata"].get("finalizers") for v in ftj_versions(emulator, "gone")]
        assert finalizers and not any(finalizers)
        emulator.delete(FTJ, NS, "gone")
        wait_for("the FineTuneJob gone", lambda: emulator.get(FTJ, NS, "gone") is None)
        assert emulator.get(JOBS, NS, "gone-train") is None  # collected by its ownerReference
        assert emulator.get(CONFIGMAPS, NS, "gone-config") is None
        wait_for("the series dropped", lambda: 'name="gone"' not in operator.metrics())
