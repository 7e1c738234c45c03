"""Live progress against the emulated API server: the test plays the kubelet by writing the
trainer's log lines, and the operator's progress loop turns them into status.progress, the
Evaluating phase, printer columns, events and gauges."""

from __future__ import annotations

import time
from typing import Any

import pytest

from tests.integration.operator.conftest import (
    FTJ,
    NS,
    Cluster,
    OperatorHarness,
    finetunejob,
    train_result,
    wait_for,
)
from tests.integration.operator.running_emulator import RunningEmulator
from tradetune.api import ProgressRecord, printer_row

pytestmark = pytest.mark.timeout(120)


def line(stage: str, **fields: Any) -> str:
    return ProgressRecord.model_validate({"ts": time.time(), "stage": stage, **fields}).line()


def progress(cluster: Cluster, name: str) -> dict[str, Any]:
    return dict(cluster.status(name).get("progress") or {})


def log_reads(emulator: RunningEmulator) -> int:
    reads: int = emulator.call(lambda e: e.pod_logs.reads)
    return reads


def test_status_follows_the_trainer_through_its_stages(
    emulator: RunningEmulator, operator: OperatorHarness, cluster: Cluster
) -> None:
    with operator.running():
        emulator.create(FTJ, finetunejob("live"))
        pod = cluster.start_pod("live")
        cluster.wait_phase("live", "Running")
        name = pod["metadata"]["name"]

        emulator.append_log(NS, name, "loading weights ...\n" + line("dataset"))
        wait_for("stage dataset", lambda: progress(cluster, "live").get("stage") == "dataset")

        training = dict(total_steps=40, steps_per_second=2.0, tokens_per_second=6400.0, epoch=0.5)
        emulator.append_log(NS, name, line("training", step=10, train_loss=2.5, **training))
        shown = wait_for("step 10", lambda: (p := progress(cluster, "live")).get("step") == 10 and p)
        assert shown["progressPercentage"] == 25
        assert shown["estimatedRemainingSeconds"] == 15 and shown["eta"] == "15s"
        assert {"name": "loss", "value": "2.5"} in shown["metrics"]
        row = printer_row(emulator.get(FTJ, NS, "live") or {})
        assert (row["Phase"], row["Progress"], row["Loss"], row["ETA"]) == ("Running", 25, 2.5, "15s")

        # An evaluation, then more training lines that repeat it: one event for it, not one per line.
        evaluated = dict(eval_loss=1.82, eval_step=20, best_eval_loss=1.82)
        emulator.append_log(NS, name, line("training", step=20, train_loss=2.1, **training, **evaluated))
        wait_for("step 20", lambda: progress(cluster, "live").get("step") == 20)
        reads = log_reads(emulator)
        emulator.append_log(NS, name, line("training", step=30, train_loss=1.9, **training, **evaluated))
        wait_for("step 30", lambda: progress(cluster, "live").get("step") == 30)
        assert progress(cluster, "live")["evalLoss"] == {"latest": 1.82, "best": 1.82, "step": 20}
        # A read that finds the same newest line changes nothing.
        wait_for("two more reads", lambda: log_reads(emulator) >= reads + 3)
        assert progress(cluster, "live")["step"] == 30

        # The trainer evaluates (a record is a full snapshot: the losses come along): phase
        # Evaluating; a cut-short line after the record is ignored.
        done = dict(training, step=40, train_loss=1.9, detail="perplexity (tuned)", **evaluated)
        emulator.append_log(NS, name, line("evaluating", **done) + '\nTRADETUNE {"v":1,')
        status = cluster.wait_phase("live", "Evaluating")
        assert status["progress"]["progressPercentage"] == 100
        assert printer_row(emulator.get(FTJ, NS, "live") or {})["Phase"] == "Evaluating"
        text = operator.wait_metrics(
            'tradetune_finetunejob_progress_percent{name="live",namespace="tt"} 100.0',
            'tradetune_finetunejob_progress_train_loss{name="live",namespace="tt"} 1.9',
            'tradetune_finetunejob_progress_eval_loss{name="live",namespace="tt"} 1.82',
            'tradetune_finetunejob_progress_tokens_per_second{name="live",namespace="tt"} 6400.0',
        )
        assert 'tradetune_finetunejob_progress_advanced_timestamp_seconds{name="live",namespace="tt"}' in text

        cluster.finish_pod("live", pod, message=train_result())
        final = cluster.wait_phase("live", "Succeeded")
        assert final["progress"]["stage"] == "evaluating"
        events = cluster.wait_events("live", ("Normal", "Succeeded"))
        stages = [m for _, reason, m in events if reason == "StageChanged"]
        assert stages == ["stage dataset", "stage training: step 10 of 40", "stage evaluating"]
        evals = [m for _, reason, m in events if reason == "EvalLoss"]
        assert evals == ["eval loss 1.82 at step 20, best so far"]


def test_a_pod_without_progress_lines_still_succeeds(
    emulator: RunningEmulator, operator: OperatorHarness, cluster: Cluster
) -> None:
    with operator.running():
        emulator.create(FTJ, finetunejob("quiet"))
        pod = cluster.start_pod("quiet")
        cluster.wait_phase("quiet", "Running")
        name = pod["metadata"]["name"]
        # Foreign lines, an old unprefixed event, another contract version, a cut-short record.
        emulator.append_log(
            NS,
            name,
            "Epoch 1: loss 2.0\n"
            '{"ts": 1, "event": "log", "phase": "train", "loss": 2.0}\n'
            'TRADETUNE {"v": 2, "event": "progress", "ts": 1, "stage": "training"}\n'
            'TRADETUNE {"v": 1, "event": "progress", "ts": 1, "sta',
        )
        wait_for("two reads of the log", lambda: log_reads(emulator) >= 2)
        status = cluster.status("quiet")
        assert status["phase"] == "Running" and "progress" not in status
        cluster.finish_pod("quiet", pod, message=train_result())
        final = cluster.wait_phase("quiet", "Succeeded")
        assert "progress" not in final
        assert "StageChanged" not in cluster.reasons("quiet")
