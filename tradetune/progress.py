"""Where long work reports its progress: a rich bar for people, JSON lines for pods.

Library code (training, evaluation) only calls a `ProgressSink`; the CLI picks the sink.
On a terminal the user sees rich progress bars; without one (a pod, a CI log) the sink prints
progress records of the contract in docs/contracts.md: `TRADETUNE {json}`, one per line, each a
full snapshot that the operator reads from the pod log and `tradetune run` writes to
status.yaml. `ProgressTracker` is the one place that turns the sink's calls into records.
"""

from __future__ import annotations

import json
import math
import sys
import time
from collections.abc import Callable, Mapping
from typing import IO, Any, Protocol, cast

from tradetune.api import CONTRACT_VERSION, PREFIX, ProgressRecord, Stage


class ProgressSink(Protocol):
    """Receiver of progress events. Every method must be cheap and must never raise."""

    def phase(self, name: str, total: int | None = None) -> None:
        """A new phase starts (dataset, train, merge, evaluate ...), with its step count if known."""

    def advance(self, completed: int, total: int | None = None) -> None:
        """The current phase reached `completed` of `total` steps."""

    def log(self, entry: Mapping[str, Any]) -> None:
        """A logging step: loss, learning rate, tokens seen (one JSON line in a pod)."""

    def close(self) -> None:
        """No more events."""


class NullProgress:
    """Reports nothing (library default)."""

    def phase(self, name: str, total: int | None = None) -> None:
        pass

    def advance(self, completed: int, total: int | None = None) -> None:
        pass

    def log(self, entry: Mapping[str, Any]) -> None:
        pass

    def close(self) -> None:
        pass


# The trainer's own phase names → the contract's stages (docs/contracts.md).
_STAGE_OF = {
    "dataset": "dataset",
    "load": "loading",
    "train": "training",
    "save": "exporting",
    "merge": "merging",
}
# Numbers of a logging step that go to the record's `metrics` (the losses have fields of their own).
_EXTRA_METRICS = {
    "learning_rate": "learning_rate",
    "grad_norm": "grad_norm",
    "mean_token_accuracy": "mean_token_accuracy",
    "entropy": "entropy",
}


def stage_of(phase: str) -> Stage:
    """The contract stage of a trainer phase; every evaluation sub-phase is `evaluating`."""
    return cast(Stage, _STAGE_OF.get(phase, "evaluating"))


def _finite(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


class ProgressTracker:
    """Turns the sink's calls into contract records (`ProgressRecord`): a full snapshot each time.

    Rates are measured in this process from the first training step it saw, so a resumed run
    reports its own speed and not the average since the first attempt.
    """

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self.stage: Stage | None = None
        self.detail: str | None = None
        self.step: int | None = None
        self.total_steps: int | None = None
        self.epoch: float | None = None
        self.train_loss: float | None = None
        self.eval_loss: float | None = None
        self.eval_step: int | None = None
        self.best_eval_loss: float | None = None
        self.tokens_per_second: float | None = None
        self.steps_per_second: float | None = None
        self.stage_done: int | None = None
        self.stage_total: int | None = None
        self.metrics: dict[str, float] = {}
        self._first: tuple[float, int] | None = None  # (time, step) of the first training step seen
        self._tokens: tuple[float, int] | None = None  # (time, tokens seen) at the first log entry

    def phase(self, name: str, total: int | None = None) -> bool:
        """A new phase; True when the contract stage changed (not just the sub-step)."""
        stage = stage_of(name)
        changed = stage != self.stage
        self.stage = stage
        self.detail = name if stage == "evaluating" else None
        self.stage_done, self.stage_total = (0, total) if stage != "training" else (None, None)
        return changed

    def advance(self, completed: int, total: int | None = None) -> None:
        now = self._clock()
        if self.stage == "training":
            self.step = completed
            if total:
                self.total_steps = total
            if self._first is None:
                self._first = (now, completed)
            elif now > self._first[0] and completed > self._first[1]:
                self.steps_per_second = (completed - self._first[1]) / (now - self._first[0])
        else:
            self.stage_done = completed
            if total is not None:
                self.stage_total = total

    def log(self, entry: Mapping[str, Any]) -> bool:
        """A logging step; True when it carries a new evaluation."""
        now = self._clock()
        step = entry.get("step")
        if isinstance(step, int) and self.stage == "training":
            self.step = step
        total = entry.get("total_steps")
        if isinstance(total, int) and total > 0:
            self.total_steps = total
        epoch = _finite(entry.get("epoch"))
        if epoch is not None:
            self.epoch = epoch
        loss = _finite(entry.get("loss"))
        if loss is not None:
            self.train_loss = loss
        tokens = entry.get("tokens_seen")
        if isinstance(tokens, int) and tokens > 0:
            if self._tokens is None:
                self._tokens = (now, tokens)
            elif now > self._tokens[0] and tokens > self._tokens[1]:
                self.tokens_per_second = (tokens - self._tokens[1]) / (now - self._tokens[0])
        for key, name in _EXTRA_METRICS.items():
            value = _finite(entry.get(key))
            if value is not None:
                self.metrics[name] = value
        eval_loss = _finite(entry.get("eval_loss"))
        if eval_loss is None:
            return False
        self.eval_loss = eval_loss
        self.eval_step = step if isinstance(step, int) else self.step
        if self.best_eval_loss is None or eval_loss < self.best_eval_loss:
            self.best_eval_loss = eval_loss
        return True

    def record(self) -> ProgressRecord | None:
        """The current snapshot (None before the first phase)."""
        if self.stage is None:
            return None
        return ProgressRecord(
            ts=round(self._clock(), 3),
            stage=self.stage,
            detail=self.detail,
            step=self.step,
            total_steps=self.total_steps,
            epoch=self.epoch,
            train_loss=self.train_loss,
            eval_loss=self.eval_loss,
            eval_step=self.eval_step,
            best_eval_loss=self.best_eval_loss,
            tokens_per_second=self.tokens_per_second,
            steps_per_second=self.steps_per_second,
            stage_done=self.stage_done,
            stage_total=self.stage_total,
            metrics=dict(self.metrics),
        )


class RecordSink:
    """A ProgressSink that hands a record to `publish` at each phase, logging step and heartbeat.

    `heartbeat` seconds bound the gap between records while steps advance, so a reader that
    looks only at the last minutes of a log (the operator does) always finds a recent one.
    """

    def __init__(
        self,
        publish: Callable[[ProgressRecord], None],
        *,
        heartbeat: float = 30.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._publish = publish
        self._heartbeat = heartbeat
        self._clock = clock
        self.tracker = ProgressTracker(clock)
        self._last = -math.inf

    def _emit(self) -> None:
        record = self.tracker.record()
        if record is not None:
            self._last = self._clock()
            self._publish(record)

    def phase(self, name: str, total: int | None = None) -> None:
        self.tracker.phase(name, total)
        self._emit()

    def advance(self, completed: int, total: int | None = None) -> None:
        self.tracker.advance(completed, total)
        if self._clock() - self._last >= self._heartbeat:
            self._emit()

    def log(self, entry: Mapping[str, Any]) -> None:
        self.tracker.log(entry)
        self._emit()

    def close(self) -> None:
        pass


class JsonLinesProgress(RecordSink):
    """Progress records as contract lines (`TRADETUNE {json}`) on a stream (stdout in a pod)."""

    def __init__(
        self,
        stream: IO[str] | None = None,
        *,
        heartbeat: float = 30.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._stream = stream if stream is not None else sys.stdout
        super().__init__(self._write, heartbeat=heartbeat, clock=clock)

    def _write(self, record: ProgressRecord) -> None:
        self._stream.write(record.line() + "\n")
        self._stream.flush()


class TeeProgress:
    """Every event to several sinks (a terminal's bars and the local status file)."""

    def __init__(self, *sinks: ProgressSink) -> None:
        self._sinks = sinks

    def phase(self, name: str, total: int | None = None) -> None:
        for sink in self._sinks:
            sink.phase(name, total)

    def advance(self, completed: int, total: int | None = None) -> None:
        for sink in self._sinks:
            sink.advance(completed, total)

    def log(self, entry: Mapping[str, Any]) -> None:
        for sink in self._sinks:
            sink.log(entry)

    def close(self) -> None:
        for sink in self._sinks:
            sink.close()


def event_line(event: str, body: Mapping[str, Any]) -> str:
    """Another event of the contract (e.g. the final `result`), with the same prefix and version."""
    return PREFIX + json.dumps({"v": CONTRACT_VERSION, "event": event, **body}, default=str)


class RichProgress:
    """Rich progress bars, one per phase, with the latest loss next to the training bar."""

    def __init__(self, console: Any = None) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            SpinnerColumn,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self._console = console if console is not None else Console(stderr=True)
        self._progress = Progress(
            SpinnerColumn(),
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[info]}"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=self._console,
        )
        self._task: Any = None
        self._progress.start()

    def phase(self, name: str, total: int | None = None) -> None:
        if self._task is not None:
            task = self._progress.tasks[-1]
            self._progress.update(self._task, completed=task.total or task.completed)
        self._task = self._progress.add_task(name, total=total, info="")

    def advance(self, completed: int, total: int | None = None) -> None:
        if self._task is not None:
            self._progress.update(self._task, completed=completed, total=total)

    def log(self, entry: Mapping[str, Any]) -> None:
        if self._task is None:
            return
        parts = [
            f"{key} {entry[key]:.4g}"
            for key in ("loss", "eval_loss", "learning_rate")
            if isinstance(entry.get(key), float | int)
        ]
        self._progress.update(self._task, info="  ".join(parts))

    def close(self) -> None:
        self._progress.stop()


def default_progress() -> ProgressSink:
    """Rich bars on a terminal, JSON lines otherwise (a pod, CI)."""
    if sys.stderr.isatty():
        return RichProgress()
    return JsonLinesProgress()


def quiet_libraries() -> None:
    """Silence the per-library progress bars and length warnings (ours is the progress shown).

    datasets and transformers draw tqdm bars on every map/load; in a pod log they are noise
    between the JSON lines. Process-wide by nature: call it at the edge of long work.
    """
    import datasets
    from transformers.utils import logging as hf_logging

    datasets.disable_progress_bars()
    hf_logging.disable_progress_bar()  # type: ignore[no-untyped-call]
    hf_logging.set_verbosity_error()  # type: ignore[no-untyped-call]
