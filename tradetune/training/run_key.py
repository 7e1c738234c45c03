"""Which earlier run an output directory may resume: same object, same result-changing spec.

Checkpoints stay on the output volume after success. Keyed on the data alone, deleting and
recreating a FineTuneJob with a new learning rate or base model would silently resume (or
no-op) the old run. The key is a hash of the object's uid (a recreated object is a new run)
and of the spec fields that change the trained model; fields that do not (thresholds,
promotion, resources, scheduling, volumes) may change without throwing work away.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

from tradetune.api import FineTuneJobSpec
from tradetune.training.result import RunState, save_state

# The spec fields that change what training produces.
RESULT_FIELDS = frozenset({"base_model", "dataset", "method", "lora", "quantization", "training"})


def run_key(spec: FineTuneJobSpec, uid: str | None) -> str:
    """sha256 over the uid and the result-changing spec fields (canonical JSON)."""
    fields = spec.model_dump(include=set(RESULT_FIELDS), by_alias=True, exclude_none=True, mode="json")
    payload = json.dumps({"uid": uid or "", "spec": fields}, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(payload.encode()).hexdigest()


def forget_other_runs(output: Path, state: RunState, *, fingerprint: str, key: str) -> bool:
    """Drop checkpoints and the training log left by another run; record this run in `state`.

    Another run: other data (the dataset fingerprint), another object or a result-changing spec
    field (the run key). Returns whether anything was dropped.
    """
    stale = (state.fingerprint is not None and state.fingerprint != fingerprint) or (
        state.run_key is not None and state.run_key != key
    )
    if stale:
        shutil.rmtree(output / "checkpoints", ignore_errors=True)
        (output / "train_log.jsonl").unlink(missing_ok=True)
        state.memory, state.oom_recoveries = None, []
    state.fingerprint, state.run_key = fingerprint, key
    save_state(output, state)
    return stale
