"""status.yaml: the local twin of FineTuneJob.status, written whole or not at all."""

from __future__ import annotations

from pathlib import Path

import yaml

from tradetune.api import FineTuneJobStatus
from tradetune.atomic import write_atomic

STATUS_FILE = "status.yaml"


def write_status(output: Path, status: FineTuneJobStatus) -> Path:
    """Write `<output>/status.yaml` (camelCase, unset fields left out) via a temp file and rename."""
    output.mkdir(parents=True, exist_ok=True)
    path = output / STATUS_FILE
    text = yaml.safe_dump(status.model_dump(by_alias=True, exclude_none=True, mode="json"), sort_keys=False)
    write_atomic(path, text.encode())
    return path


def read_status(output: Path) -> FineTuneJobStatus | None:
    """The status of an earlier run in `output`, or None (a broken file counts as none)."""
    path = output / STATUS_FILE
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        return FineTuneJobStatus.model_validate(data)
    except (OSError, ValueError, yaml.YAMLError):
        return None
