"""Where long work reports its progress: a rich bar for people, JSON lines for pods.

Library code (training, evaluation) only calls a `ProgressSink`; the CLI picks the sink.
On a terminal the user sees rich progress bars; without one (a pod, a CI log) every event is
one JSON object on its own line, which log collectors parse without regexes.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Mapping
from typing import IO, Any, Protocol


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


class JsonLinesProgress:
    """One JSON object per event on a stream (stdout in a pod)."""

    def __init__(self, stream: IO[str] | None = None) -> None:
        self._stream = stream if stream is not None else sys.stdout
        self._phase = ""

    def _emit(self, obj: Mapping[str, Any]) -> None:
        line = json.dumps({"ts": round(time.time(), 3), **obj}, default=str)
        self._stream.write(line + "\n")
        self._stream.flush()

    def phase(self, name: str, total: int | None = None) -> None:
        self._phase = name
        self._emit({"event": "phase", "phase": name, "total": total})

    def advance(self, completed: int, total: int | None = None) -> None:
        """Deliberately silent: per-step lines come from `log`; one per step would flood the pod log."""

    def log(self, entry: Mapping[str, Any]) -> None:
        self._emit({"event": "log", "phase": self._phase, **entry})

    def close(self) -> None:
        pass


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
