"""Materialise a job's dataset: generate or read the splits, check them, fingerprint them.

Every record is checked before any model is loaded, so a bad line fails the job in a second
with a message naming the file and line, not an hour later inside the trainer. The splits
are written to OUTPUT/data (the record of what the model saw) and the sha256 of the training
split is the dataset's identity in the result.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from tradetune.atomic import replace_dir, temp_dir_for
from tradetune.errors import InvalidInput
from tradetune.prompt import format_prompt
from tradetune.records import REASON, Record, read_jsonl

if TYPE_CHECKING:
    from tradetune.api import DatasetSpec

SPLIT_FILES = {"train": "train.jsonl", "validation": "val.jsonl", "test": "test.jsonl"}


@dataclass(frozen=True)
class Splits:
    """The three splits of a job, checked, with the fingerprint of the training split."""

    train: list[Record]
    validation: list[Record]
    test: list[Record]
    fingerprint: str
    directory: Path


def dumps_records(records: Sequence[Record]) -> bytes:
    """JSON Lines bytes, one record a line, in order: what the fingerprint is taken over."""
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records).encode()


def _generate(spec: DatasetSpec, directory: Path) -> None:
    """Write the generated splits (train/val/test.jsonl, manifest.json) into a new `directory`."""
    from tradetune.datagen import split_dataset

    gen = spec.generate
    if gen is None:  # materialise only calls this when spec.path is unset, which the API forbids
        raise InvalidInput("spec.dataset: set either path or generate", reason=REASON)
    split_dataset(directory, gen.train, gen.validation, gen.test, gen.seed, gen.tasks)


def materialise(spec: DatasetSpec, directory: Path) -> Splits:
    """Generate or read the splits, check every record, and write them to `directory`.

    Generated splits are written as JSON Lines; a dataset directory's files are copied byte
    for byte, so the fingerprint equals `sha256sum train.jsonl` of the user's own file.
    """
    tmp = temp_dir_for(directory)
    try:
        if spec.path is not None:
            source = Path(spec.path)
            if not source.is_dir():
                raise InvalidInput(
                    f"spec.dataset.path: {source} is not a directory with train/val/test.jsonl", reason=REASON
                )
            for name in [*SPLIT_FILES.values(), "manifest.json"]:
                if (source / name).is_file():
                    shutil.copyfile(source / name, tmp / name)
        else:
            try:
                _generate(spec, tmp)
            except InvalidInput as exc:
                raise InvalidInput(f"spec.dataset.generate: {exc.message}", reason=REASON) from None
        parsed: dict[str, list[Record]] = {}
        for split, name in SPLIT_FILES.items():
            label = str(source / name) if spec.path is not None else f"generated {name}"
            parsed[split] = read_jsonl(tmp / name, label)
        train_bytes = (tmp / SPLIT_FILES["train"]).read_bytes()
        replace_dir(tmp, directory)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    fingerprint = hashlib.sha256(train_bytes).hexdigest()
    return Splits(
        train=parsed["train"],
        validation=parsed["validation"],
        test=parsed["test"],
        fingerprint=fingerprint,
        directory=directory,
    )


def to_prompt_completion(records: Sequence[Record], eos_token: str) -> list[dict[str, str]]:
    """Rows for TRL's prompt/completion format: the loss falls on the completion only."""
    return [
        {"prompt": format_prompt(r["instruction"]), "completion": r["response"] + eos_token} for r in records
    ]
