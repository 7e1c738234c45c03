"""The progress contract: parsing log lines (foreign, cut short, other versions) and the one
record → status.progress mapping, ETA included."""

from __future__ import annotations

import json

import pytest

from tradetune.api import (
    PREFIX,
    FineTuneJobStatus,
    ProgressRecord,
    format_duration,
    latest_record,
    parse_line,
    progress_status,
    remaining_seconds,
    running_phase,
)

TS = 1_767_225_600.0  # 2026-01-01T00:00:00Z


def record(**fields: object) -> ProgressRecord:
    return ProgressRecord.model_validate({"ts": TS, "stage": "training", **fields})


def test_a_record_survives_its_own_line() -> None:
    rec = record(step=3, total_steps=10, train_loss=1.5, metrics={"learning_rate": 2e-4})
    line = rec.line()
    assert line.startswith(PREFIX) and "\n" not in line
    assert parse_line(line) == rec


@pytest.mark.parametrize(
    "line",
    [
        "",
        "Epoch 1/3: loss 2.0",
        '{"ts": 1, "event": "log", "phase": "train", "loss": 2.0}',  # before the contract: no prefix
        'TRADETUNE {"v": 1, "event": "progress", "ts": 1, "stage": "train',  # cut short
        'TRADETUNE {"v": 0, "event": "progress", "ts": 1, "stage": "training"}',  # an old version
        'TRADETUNE {"v": 2, "event": "progress", "ts": 1, "stage": "training"}',  # a newer major
        'TRADETUNE {"v": 1, "event": "result", "outcome": "Succeeded"}',  # another event
        'TRADETUNE {"v": 1, "event": "progress", "ts": 1, "stage": "flying"}',  # unknown stage
        'TRADETUNE {"v": 1, "event": "progress", "ts": 1, "stage": "training", "step": -4}',
        "TRADETUNE [1, 2]",
        "TRADETUNE "
        + json.dumps({"v": 1, "event": "progress", "ts": 1, "stage": "training", "x": "y" * 9000}),
    ],
)
def test_anything_but_a_valid_v1_record_is_skipped(line: str) -> None:
    assert parse_line(line) is None


def test_the_newest_valid_record_wins_over_later_garbage() -> None:
    text = "\n".join(
        [
            record(step=1).line(),
            "noise",
            record(step=2).line(),
            'TRADETUNE {"v": 1, "event": "progress", "ts": 1, "st',
            "Traceback (most recent call last):",
        ]
    )
    found = latest_record(text)
    assert found is not None and found.step == 2
    assert latest_record("nothing here\n") is None


def test_unknown_fields_of_the_same_version_are_ignored() -> None:
    line = PREFIX + json.dumps({"v": 1, "event": "progress", "ts": TS, "stage": "training", "gpuTemp": 71})
    found = parse_line(line)
    assert found is not None and found.stage == "training"


def test_eta_comes_from_the_step_rate() -> None:
    assert remaining_seconds(record(step=100, total_steps=400, steps_per_second=0.5)) == 600.0
    assert remaining_seconds(record(step=400, total_steps=400, steps_per_second=0.5)) == 0.0
    # No rate yet, no plan, or not training: unknown rather than a guess.
    assert remaining_seconds(record(step=100, total_steps=400)) is None
    assert remaining_seconds(record(step=100, steps_per_second=1.0)) is None
    assert remaining_seconds(record(stage="evaluating", step=400, total_steps=400)) is None


def test_progress_status_is_the_kubeflow_shaped_block() -> None:
    rec = record(
        step=100,
        total_steps=400,
        epoch=0.75,
        steps_per_second=0.5,
        train_loss=1.9,
        eval_loss=1.82,
        eval_step=100,
        best_eval_loss=1.8,
        tokens_per_second=6543.21,
        metrics={"learning_rate": 0.0002},
    )
    block = progress_status(rec).model_dump(by_alias=True, exclude_none=True)
    assert block == {
        "stage": "training",
        "step": 100,
        "totalSteps": 400,
        "epoch": 0.75,
        "progressPercentage": 25,
        "trainLoss": 1.9,
        "evalLoss": {"latest": 1.82, "best": 1.8, "step": 100},
        "tokensPerSecond": 6543.2,
        "estimatedRemainingSeconds": 600,
        "estimatedCompletionTime": "2026-01-01T00:10:00Z",
        "eta": "10m00s",
        "metrics": [
            {"name": "loss", "value": "1.9"},
            {"name": "eval_loss", "value": "1.82"},
            {"name": "currentEpoch", "value": "0.75"},
            {"name": "learning_rate", "value": "0.0002"},
        ],
        "lastUpdatedTime": "2026-01-01T00:00:00Z",
    }
    # It fits the status model (and so the CRD).
    assert FineTuneJobStatus.model_validate({"progress": block}).progress == progress_status(rec)


@pytest.mark.parametrize(
    ("stage", "step", "total", "percent"),
    [("dataset", None, None, 0), ("loading", None, None, 0), ("training", 1, 3, 33),
     ("training", None, None, None), ("merging", None, None, 100), ("evaluating", 5, 5, 100)],
)  # fmt: skip
def test_percentage_by_stage(stage: str, step: int | None, total: int | None, percent: int | None) -> None:
    assert progress_status(record(stage=stage, step=step, total_steps=total)).progress_percentage == percent


def test_same_record_same_block() -> None:
    rec = record(step=5, total_steps=10, steps_per_second=1.0)
    assert progress_status(rec) == progress_status(ProgressRecord.model_validate_json(rec.model_dump_json()))


def test_durations_for_a_printer_column() -> None:
    assert [format_duration(s) for s in (0, 45, 750, 3900, 190000)] == [
        "0s",
        "45s",
        "12m30s",
        "1h05m",
        "2d04h",
    ]


def test_running_phase() -> None:
    assert running_phase(None) == "Running"
    assert running_phase({"stage": "training"}) == "Running"
    assert running_phase({"stage": "evaluating"}) == "Evaluating"
    assert running_phase(progress_status(record(stage="evaluating"))) == "Evaluating"
