"""Live progress in `<output>/status.yaml` while `tradetune run` trains.

The trainer's progress sink hands each record here (through `tradetune.progress.RecordSink`);
this writes the running status with `progress` built by `tradetune.api.progress_status` - the
function the operator uses for `status.progress` - and the phase Evaluating while the trainer
evaluates, so a local run reads like a cluster run. Writes are atomic and at most one per
`min_interval` seconds, except at a stage change or a new evaluation, which always go out.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from tradetune.api import FineTuneJobStatus, ProgressRecord, ProgressStatus, progress_status, running_phase
from tradetune.local._files import write_status


class StatusFileProgress:
    """Publishes progress records into status.yaml on top of the running status."""

    def __init__(
        self,
        output: Path,
        running: FineTuneJobStatus,
        *,
        min_interval: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._output = output
        self._running = running
        self._min_interval = min_interval
        self._clock = clock
        self._last_write: float | None = None
        self.progress: ProgressStatus | None = None  # the newest block, written or not
        self.writes = 0

    def __call__(self, record: ProgressRecord) -> None:
        block = progress_status(record)
        old = self.progress
        self.progress = block
        now = self._clock()
        milestone = old is None or old.stage != block.stage or old.eval_loss != block.eval_loss
        if not milestone and self._last_write is not None and now - self._last_write < self._min_interval:
            return
        self._last_write = now
        self.writes += 1
        status = self._running.model_copy(update={"phase": running_phase(block), "progress": block})
        write_status(self._output, status)

    def finish(self, status: FineTuneJobStatus) -> FineTuneJobStatus:
        """`status` with the last progress kept (as the operator keeps it on the object)."""
        return status.model_copy(update={"progress": self.progress}) if self.progress is not None else status
