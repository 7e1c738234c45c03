"""PineScript checks, the rating sample, result files and progress lines (pure parts)."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from tradetune.api import EvalMetrics, TrainResult
from tradetune.evaluation import (
    extract_code,
    pick_samples,
    sample_rows,
    syntax_checks,
    syntax_score,
    write_samples,
)
from tradetune.progress import JsonLinesProgress
from tradetune.training import RunState, load_state, write_metrics, write_termination_message
from tradetune.training.result import save_state

GOOD = '//@version=5\nstrategy("x", overlay=true)\nfast = ta.ema(close, 12)\n'


def test_guide_syntax_checks() -> None:
    assert syntax_checks(GOOD) == [True, True, True, True]
    assert syntax_score(GOOD) == 1.0
    assert syntax_score('indicator("x")\nplot(close') == 0.25  # only indicator( present
    assert syntax_score("") == 0.25  # the guide counts balanced (zero) parentheses


def test_code_is_the_text_before_a_dash_line() -> None:
    assert extract_code(GOOD + "---\nWhat was wrong: (") == GOOD.rstrip()
    assert extract_code(GOOD) == GOOD.rstrip()
    assert extract_code("a\n  ---  \nb") == "a"


def test_sample_is_reproducible_and_sorted() -> None:
    a = pick_samples(1000, 100, seed=3)
    assert a == pick_samples(1000, 100, seed=3) and a == sorted(a) and len(set(a)) == 100
    assert a != pick_samples(1000, 100, seed=4)
    assert pick_samples(5, 100) == [0, 1, 2, 3, 4] and pick_samples(5, 0) == []


def test_samples_files_have_an_empty_rating_column(tmp_path: Path) -> None:
    records = [{"id": f"r{i}", "task": "t", "instruction": f"q{i}", "response": f"a{i}"} for i in range(4)]
    rows = sample_rows(records, [1, 3], {1: "gen1", 3: 'gen "3",\nline'}, {1: "b1", 3: "b3"})
    write_samples(rows, tmp_path)
    parsed = list(csv.DictReader(io.StringIO((tmp_path / "samples.csv").read_text())))
    assert [r["id"] for r in parsed] == ["r1", "r3"]
    assert parsed[1]["generation"] == 'gen "3",\nline' and parsed[1]["base_generation"] == "b3"
    assert all(r["rating"] == "" for r in parsed)
    jsonl = [json.loads(line) for line in (tmp_path / "samples.jsonl").read_text().splitlines()]
    assert jsonl[0] == {
        "id": "r1",
        "task": "t",
        "instruction": "q1",
        "reference": "a1",
        "generation": "gen1",
        "base_generation": "b1",
    }
    guide = (tmp_path / "samples.md").read_text()
    assert "1 | Incorrect or nonsensical" in guide and "5 | Excellent, actionable" in guide


def test_termination_message_is_compact_and_unwritable_targets_are_skipped(tmp_path: Path) -> None:
    result = TrainResult(
        outcome="Succeeded",
        reason="Completed",
        message="x" * 10_000,
        metrics=EvalMetrics(perplexity=3.0, task_accuracy_by_task={f"t{i}": 0.5 for i in range(200)}),
    )
    target = tmp_path / "term"
    assert write_termination_message(result, str(target))
    text = target.read_bytes()
    assert len(text) <= 4096
    back = TrainResult.from_termination_message(text.decode())
    assert back.metrics is not None and back.metrics.perplexity == 3.0
    assert not write_termination_message(result, str(tmp_path / "missing" / "term"))
    write_metrics(tmp_path, result)
    full = json.loads((tmp_path / "metrics.json").read_text())
    assert full["outcome"] == "Succeeded" and len(full["metrics"]["taskAccuracyByTask"]) == 200


def test_default_result_path_comes_from_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRADETUNE_RESULT_PATH", str(tmp_path / "r.json"))
    assert write_termination_message(TrainResult(outcome="Failed", reason="OutOfMemory"))
    assert json.loads((tmp_path / "r.json").read_text())["reason"] == "OutOfMemory"


def test_state_survives_and_a_damaged_state_starts_fresh(tmp_path: Path) -> None:
    state = RunState(attempts=2, fingerprint="abc", oom_recoveries=["x"])
    save_state(tmp_path, state)
    assert load_state(tmp_path) == state
    (tmp_path / "state.json").write_text("{not json")
    assert load_state(tmp_path) == RunState()


def test_json_progress_is_one_object_per_line() -> None:
    buf = io.StringIO()
    sink = JsonLinesProgress(buf)
    sink.phase("train", total=10)
    sink.advance(3, 10)  # within the heartbeat: no line of its own
    sink.log({"step": 5, "loss": 1.5, "tokens_seen": 100})
    raw = buf.getvalue().splitlines()
    assert all(line.startswith("TRADETUNE {") for line in raw)
    lines = [json.loads(line.removeprefix("TRADETUNE ")) for line in raw]
    assert [(line["v"], line["event"], line["stage"]) for line in lines] == [(1, "progress", "training")] * 2
    assert lines[1]["step"] == 5 and lines[1]["trainLoss"] == 1.5 and lines[1]["totalSteps"] == 10
