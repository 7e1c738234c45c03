"""The trainer's side of the progress contract: sink calls → full-snapshot records on stdout."""

from __future__ import annotations

import io

from tradetune.api import latest_record, parse_line
from tradetune.progress import JsonLinesProgress, ProgressTracker, RecordSink, event_line, stage_of


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_trainer_phases_map_to_contract_stages() -> None:
    assert [stage_of(p) for p in ("dataset", "load", "train", "save", "merge")] == [
        "dataset", "loading", "training", "exporting", "merging",
    ]  # fmt: skip
    assert stage_of("perplexity (tuned)") == stage_of("generation (base)") == "evaluating"


def test_rates_and_best_eval_are_measured_in_this_process() -> None:
    clock = Clock()
    t = ProgressTracker(clock)
    t.phase("train")
    t.advance(50, 200)  # resumed at step 50: the rate starts here
    clock.now += 10
    t.advance(70, 200)
    t.log({"step": 70, "loss": 2.0, "tokens_seen": 10_000, "learning_rate": 1e-4, "eval_loss": 1.9})
    clock.now += 5
    t.advance(80, 200)
    t.log({"step": 80, "loss": float("nan"), "tokens_seen": 40_000, "eval_loss": 2.1})
    r = t.record()
    assert r is not None
    assert r.step == 80 and r.total_steps == 200
    assert r.steps_per_second == 2.0
    assert r.tokens_per_second == 6000.0
    assert r.train_loss == 2.0  # NaN is not a loss to show
    assert (r.eval_loss, r.eval_step, r.best_eval_loss) == (2.1, 80, 1.9)
    assert r.metrics == {"learning_rate": 1e-4}


def test_evaluation_stages_count_their_items() -> None:
    t = ProgressTracker(Clock())
    t.phase("perplexity (tuned)", total=16)
    t.advance(8)
    r = t.record()
    assert r is not None and (r.stage, r.detail, r.stage_done, r.stage_total) == (
        "evaluating",
        "perplexity (tuned)",
        8,
        16,
    )


def test_json_lines_are_contract_records_at_phases_logs_and_heartbeats() -> None:
    out = io.StringIO()
    clock = Clock()
    sink = JsonLinesProgress(out, heartbeat=30.0, clock=clock)
    sink.phase("train")
    for step in range(1, 6):
        clock.now += 1
        sink.advance(step, 100)  # within the heartbeat: no line per step
    sink.log({"step": 5, "loss": 1.5, "total_steps": 100})
    clock.now += 31
    sink.advance(6, 100)  # the heartbeat
    lines = out.getvalue().splitlines()
    records = [parse_line(line) for line in lines]
    assert all(r is not None for r in records)
    assert [(r.stage, r.step) for r in records if r is not None] == [
        ("training", None),
        ("training", 5),
        ("training", 6),
    ]
    newest = latest_record(out.getvalue())
    assert newest is not None and newest.train_loss == 1.5 and newest.total_steps == 100


def test_other_events_carry_the_prefix_but_are_not_progress() -> None:
    line = event_line("result", {"outcome": "Succeeded"})
    assert line.startswith("TRADETUNE {") and parse_line(line) is None


def test_record_sink_publishes_full_snapshots() -> None:
    seen = []
    sink = RecordSink(seen.append, clock=Clock())
    sink.phase("dataset")
    sink.phase("load")
    assert [r.stage for r in seen] == ["dataset", "loading"]
