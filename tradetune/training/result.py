"""Writing the TrainResult (metrics.json, termination message) and the run's small state file.

The operator reads the compact TrainResult from the pod's termination message (the trainer
has no API rights); `metrics.json` keeps the whole one next to the model. The state file
survives pod restarts on the output volume: it counts attempts, remembers the dataset
fingerprint (a checkpoint is only resumed on the same data) and the memory settings an OOM
recovery arrived at (a restarted pod does not walk into the same OOM again).
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from tradetune.api import TrainResult
from tradetune.atomic import write_atomic
from tradetune.training.recovery import MemoryConfig

RESULT_PATH_ENV = "TRADETUNE_RESULT_PATH"
DEFAULT_RESULT_PATH = "/dev/termination-log"
STATE_FILE = "state.json"
METRICS_FILE = "metrics.json"


@dataclass
class RunState:
    """What one output directory remembers between trainer runs."""

    attempts: int = 0
    fingerprint: str | None = None
    run_key: str | None = None  # run_key.py: which object and spec the checkpoints belong to
    memory: dict[str, Any] | None = None
    oom_recoveries: list[str] = field(default_factory=list)

    def memory_config(self) -> MemoryConfig | None:
        return MemoryConfig(**self.memory) if self.memory else None

    def set_memory(self, memory: MemoryConfig) -> None:
        self.memory = asdict(memory)


def load_state(output: Path) -> RunState:
    """The state of a previous run in `output`, or a fresh one (also when the file is damaged)."""
    try:
        data = json.loads((output / STATE_FILE).read_text())
        return RunState(
            attempts=int(data.get("attempts", 0)),
            fingerprint=data.get("fingerprint"),
            run_key=data.get("run_key"),
            memory=data.get("memory"),
            oom_recoveries=list(data.get("oom_recoveries", [])),
        )
    except (OSError, ValueError, TypeError, AttributeError):
        return RunState()


def save_state(output: Path, state: RunState) -> None:
    write_atomic(output / STATE_FILE, (json.dumps(asdict(state), indent=2) + "\n").encode())


def write_metrics(output: Path, result: TrainResult) -> Path:
    """The whole TrainResult as metrics.json (camelCase, like the status the operator shows)."""
    path = output / METRICS_FILE
    text = json.dumps(result.model_dump(by_alias=True, exclude_none=True, mode="json"), indent=2)
    write_atomic(path, (text + "\n").encode())
    return path


def write_termination_message(result: TrainResult, path: str | None = None) -> bool:
    """Write the compact result where Kubernetes reads it; False (silently) when not writable.

    Outside a pod /dev/termination-log usually does not exist or is not writable, and that is
    not an error. The file is written in place (kubelet mounts it; it cannot be renamed over).
    """
    target = path or os.environ.get(RESULT_PATH_ENV) or DEFAULT_RESULT_PATH
    try:
        with open(target, "w", encoding="utf-8") as fh:
            fh.write(result.to_termination_message())
    except OSError:
        return False
    return True
