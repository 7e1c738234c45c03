"""Model behaviour other parts rely on: aliases, conditions, the trainer's termination message."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tradetune.api import (
    Artifacts,
    Condition,
    EvalMetrics,
    FineTuneJob,
    FineTuneJobStatus,
    TrainResult,
    get_condition,
    parse_finetunejob,
    rfc3339,
    set_condition,
)
from tradetune.errors import InvalidInput, RuntimeFailure

ROOT = Path(__file__).resolve().parents[3]


def test_api_imports_no_heavy_library() -> None:
    code = (
        "import sys, tradetune.api, tradetune.api._crd\n"
        "heavy = {'torch', 'transformers', 'kopf', 'vllm', 'trl', 'peft', 'datasets', 'kubernetes'}\n"
        "print(sorted(heavy & {m.split('.')[0] for m in sys.modules}))"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_camel_case_round_trip() -> None:
    job = parse_finetunejob({"baseModel": {"name": "a/b"}, "dataset": {"generate": {"train": 10}}})
    data = job.to_yaml_dict()
    assert (
        data["spec"]["training"]["learningRate"] == 2e-4 and "learning_rate" not in data["spec"]["training"]
    )
    assert FineTuneJob.model_validate(data) == job
    # snake_case works in Python too (populate_by_name)
    assert job.spec.training.model_copy(update={"learning_rate": 1e-3}).learning_rate == 1e-3


def test_status_ignores_fields_it_does_not_know() -> None:
    status = FineTuneJobStatus.model_validate(
        {"phase": "Running", "kopf": {"progress": {}}, "create_fn": {"x": 1}}
    )
    assert status.phase == "Running"


def test_set_condition_keeps_transition_time_while_status_is_unchanged() -> None:
    first = set_condition([], "Ready", False, "Pending", "waiting", 1, "2026-01-01T00:00:00Z")
    assert first == [
        Condition(
            type="Ready",
            status="False",
            reason="Pending",
            message="waiting",
            last_transition_time="2026-01-01T00:00:00Z",
            observed_generation=1,
        )
    ]
    again = set_condition(first, "Ready", "False", "Running", "training", 2, "2026-01-02T00:00:00Z")
    ready = get_condition(again, "Ready")
    assert ready is not None and ready.last_transition_time == "2026-01-01T00:00:00Z"
    assert (ready.reason, ready.message, ready.observed_generation) == ("Running", "training", 2)
    flipped = set_condition(again, "Ready", True, "Succeeded", "", 2, "2026-01-03T00:00:00Z")
    ready = get_condition(flipped, "Ready")
    assert ready is not None and (ready.status, ready.last_transition_time) == (
        "True",
        "2026-01-03T00:00:00Z",
    )
    assert first[0].reason == "Pending", "the input list is not changed"


def test_set_condition_appends_and_keeps_order() -> None:
    conditions = set_condition([], "Trained", True, "Completed")
    conditions = set_condition(conditions, "Evaluated", True, "Completed")
    conditions = set_condition(conditions, "Trained", True, "Completed")
    assert [c.type for c in conditions] == ["Trained", "Evaluated"]
    assert conditions[0].last_transition_time.endswith("Z") and len(conditions[0].last_transition_time) == 20


def test_condition_reason_must_be_camel_case() -> None:
    with pytest.raises(ValueError, match="reason"):
        set_condition([], "Ready", False, "not camel case")


def test_rfc3339() -> None:
    from datetime import UTC, datetime, timedelta, timezone

    assert rfc3339(datetime(2026, 5, 1, 12, 0, 0, 123456, tzinfo=UTC)) == "2026-05-01T12:00:00Z"
    assert rfc3339(datetime(2026, 5, 1, 14, 0, tzinfo=timezone(timedelta(hours=2)))) == "2026-05-01T12:00:00Z"


def _result(message: str = "done", by_task: int = 0) -> TrainResult:
    return TrainResult(
        outcome="Succeeded",
        reason="Completed",
        message=message,
        metrics=EvalMetrics(
            perplexity=3.2,
            task_accuracy=0.5,
            task_accuracy_by_task={f"task_{i}": 0.5 for i in range(by_task)},
        ),
        base_metrics=EvalMetrics(perplexity=30.0),
        artifacts=Artifacts(
            adapter="/output/adapter", merged="/output/merged", samples="/output/samples.jsonl"
        ),
        timings={"train": 12.5, "evaluate": 3.0},
        attempts=2,
        oom_recoveries=["perDeviceBatchSize 4 -> 2"],
    )


def test_termination_message_round_trips_when_small() -> None:
    result = _result()
    text = result.to_termination_message()
    assert json.loads(text)["metrics"]["perplexity"] == 3.2
    assert text == json.dumps(json.loads(text), separators=(",", ":"), ensure_ascii=False)  # compact
    assert TrainResult.from_termination_message(text) == result


def test_termination_message_drops_detail_first_and_fits() -> None:
    result = _result(by_task=300)
    text = result.to_termination_message()
    assert len(text.encode()) <= 4096
    back = TrainResult.from_termination_message(text)
    assert back.metrics is not None and back.metrics.task_accuracy_by_task == {}
    assert back.metrics.perplexity == 3.2 and back.base_metrics == result.base_metrics
    assert back.artifacts is not None and back.artifacts.merged == "/output/merged"
    assert back.oom_recoveries == result.oom_recoveries, "only as much detail as needed is dropped"


def test_termination_message_shortens_a_huge_message_last() -> None:
    result = _result(message="é" * 5000, by_task=50)
    text = result.to_termination_message()
    assert len(text.encode()) <= 4096
    back = TrainResult.from_termination_message(text)
    assert back.message.endswith("...") and back.message.startswith("éé")
    assert back.metrics is not None and back.metrics.perplexity == 3.2 and back.timings == {}


def test_bad_termination_message_is_invalid_input() -> None:
    with pytest.raises(InvalidInput, match="not a TrainResult"):
        TrainResult.from_termination_message("Killed")
    with pytest.raises(InvalidInput, match="outcome"):
        TrainResult.from_termination_message('{"reason": "Completed"}')


def test_a_result_too_large_for_the_termination_message_is_a_failure() -> None:
    result = _result().model_copy(update={"artifacts": Artifacts(merged="/output/" + "m" * 5000)})
    back = TrainResult.from_termination_message(result.to_termination_message())
    assert back.outcome == "Failed" and back.reason == "ResultTooLarge"
    assert "metrics.json" in back.message and back.metrics is None


@pytest.mark.parametrize(
    ("metrics", "reason", "named"),
    [
        ({"trainLoss": float("nan"), "perplexity": 3.0}, "Diverged", "metrics.trainLoss=nan"),
        ({"trainLoss": 1.0, "perplexity": float("inf")}, "BadTrainerResult", "metrics.perplexity=inf"),
        (
            {"taskAccuracyByTask": {"rsi": float("nan")}},
            "BadTrainerResult",
            "metrics.taskAccuracyByTask.rsi=nan",
        ),
    ],
)
def test_non_finite_metrics_are_refused(metrics: dict[str, Any], reason: str, named: str) -> None:
    with pytest.raises(RuntimeFailure) as built:
        TrainResult(outcome="Succeeded", reason="Completed", metrics=EvalMetrics.model_validate(metrics))
    assert built.value.reason == reason and named in built.value.message
    text = json.dumps({"outcome": "Succeeded", "reason": "Completed", "metrics": metrics})  # NaN literals
    with pytest.raises(InvalidInput) as parsed:
        TrainResult.from_termination_message(text)
    assert parsed.value.reason == reason and named in parsed.value.message
