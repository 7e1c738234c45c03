"""Leak-free train/val/test splits from one seed.

The guide makes its three splits with three seeds. The template families have a finite
instruction space (a knowledge question about a hammer on the daily SPY chart exists once),
so independent seeds draw some of the same instructions into train and test: the test score
then measures recall, not generalisation. Here one seed feeds one stream per task; every
record's normalised instruction is hashed and a record whose hash was already used anywhere
is skipped, so each instruction lands in exactly one split. The manifest reports the overlap
measured on the written files (0) next to the counts and checksums.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import random
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from tradetune.datagen._base import Record, instruction_key
from tradetune.datagen._core import GENERATOR_VERSION, TASKS, _check_size, resolve_tasks
from tradetune.datagen._io import atomic_writer, dumps_record
from tradetune.errors import InvalidInput

__all__ = ["SPLITS", "distinct_stream", "plan_split", "quotas", "split_dataset"]

SPLITS = ("train", "val", "test")
# Give up on a family after this many duplicates in a row: it has run out of new items.
_MAX_MISSES = 5000


def quotas(total: int, tasks: Sequence[str]) -> dict[str, int]:
    """`total` spread over tasks as evenly as possible; the first tasks take the remainder."""
    base, extra = divmod(total, len(tasks))
    return {t: base + (1 if i < extra else 0) for i, t in enumerate(tasks)}


def distinct_stream(task: str, seed: int, used: set[bytes], need: int) -> Iterator[Record]:
    """Records of `task` whose normalised instruction is not in `used` (which it updates)."""
    family = TASKS[task]
    i = 0
    misses = 0
    while True:
        rec = family.make(random.Random(f"{seed}:split:{task}:{i}"))
        i += 1
        key = instruction_key(rec["instruction"])
        if key in used:
            misses += 1
            if misses >= _MAX_MISSES:
                raise InvalidInput(
                    f"task family {task!r} cannot produce {need:,} distinct instructions "
                    f"(it ran dry after {len(used):,} distinct items overall); ask for fewer records"
                )
            continue
        misses = 0
        used.add(key)
        yield rec


def plan_split(
    train: int, val: int, test: int, seed: int, tasks: Sequence[str] | None = None
) -> dict[str, dict[str, int]]:
    """Validate a split request and return the records per task for each split.

    Raises InvalidInput for a bad size or seed, an unknown task, or a family whose exact
    capacity is smaller than what the split needs - before anything is written.
    """
    sizes = {
        "train": _check_size(train, "--train"),
        "val": _check_size(val, "--val"),
        "test": _check_size(test, "--test"),
    }
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise InvalidInput(f"--seed: must be a whole number, got {seed!r}")
    names = resolve_tasks(tasks)
    per_split = {s: quotas(n, names) for s, n in sizes.items()}
    for t in names:
        need = sum(per_split[s][t] for s in SPLITS)
        cap = TASKS[t].capacity()
        if cap is not None and need > cap:
            raise InvalidInput(
                f"task family {t!r} can produce only {cap:,} distinct instructions, but the split needs "
                f"{need:,} (train {per_split['train'][t]:,} + val {per_split['val'][t]:,} + test "
                f"{per_split['test'][t]:,})"
            )
    return per_split


def split_dataset(  # noqa: PLR0917 - the documented public signature
    out_dir: str | os.PathLike[str],
    train: int,
    val: int,
    test: int,
    seed: int,
    tasks: Sequence[str] | None = None,
    *,
    fmt: str = "alpaca",
    on_record: Callable[[int], None] | None = None,
) -> dict[str, Any]:
    """Write train/val/test JSONL and manifest.json into `out_dir`; return the manifest.

    Every split holds each task in equal share; no normalised instruction appears twice in or
    across splits. Families that cannot produce enough distinct items are refused up front
    (exact capacity) or when they run dry, with nothing left on disk.
    """
    per_split = plan_split(train, val, test, seed, tasks)
    names = list(per_split["train"])
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise InvalidInput(f"--out: {str(out)!r} exists and is not a directory")
    created = not out.exists()
    if created:
        if not out.parent.exists():
            raise InvalidInput(f"--out: parent directory {str(out.parent)!r} does not exist")
        try:
            out.mkdir()
        except OSError as exc:
            raise InvalidInput(f"--out: cannot create {str(out)!r}: {exc.strerror}") from exc
    try:
        return _write_splits(out, per_split=per_split, names=names, seed=seed, fmt=fmt, on_record=on_record)
    except BaseException:
        if created:
            with contextlib.suppress(OSError):
                out.rmdir()  # only if empty: nothing of ours is left behind on failure
        raise


def _write_splits(
    out: Path,
    *,
    per_split: dict[str, dict[str, int]],
    names: list[str],
    seed: int,
    fmt: str,
    on_record: Callable[[int], None] | None,
) -> dict[str, Any]:
    used: set[bytes] = set()
    need = {t: sum(per_split[s][t] for s in SPLITS) for t in names}
    streams = {t: distinct_stream(t, seed, used, need[t]) for t in names}
    written_keys: dict[str, set[bytes]] = {}
    split_info: dict[str, Any] = {}
    done = 0
    with contextlib.ExitStack() as stack:
        handles = {s: stack.enter_context(atomic_writer(out / f"{s}.jsonl", "--out")) for s in SPLITS}
        for split in SPLITS:
            left = dict(per_split[split])
            keys: set[bytes] = set()
            dupes = 0
            digest = hashlib.sha256()
            fh = handles[split]
            count = 0
            # Round-robin over tasks until every quota is met: any prefix stays balanced.
            while any(left.values()):
                for t in names:
                    if not left[t]:
                        continue
                    rec = next(streams[t])
                    left[t] -= 1
                    line = dumps_record(rec, fmt)
                    fh.write(line)
                    digest.update(line.encode())
                    key = instruction_key(rec["instruction"])
                    dupes += key in keys
                    keys.add(key)
                    count += 1
                    done += 1
                    if on_record is not None and done % 1000 == 0:
                        on_record(done)
            written_keys[split] = keys
            split_info[split] = {
                "file": f"{split}.jsonl",
                "records": count,
                "sha256": digest.hexdigest(),
                "by_task": {t: per_split[split][t] for t in names},
                "duplicate_instructions": dupes,
            }
    if on_record is not None:
        on_record(done)
    overlap = {
        "train_val": len(written_keys["train"] & written_keys["val"]),
        "train_test": len(written_keys["train"] & written_keys["test"]),
        "val_test": len(written_keys["val"] & written_keys["test"]),
    }
    manifest: dict[str, Any] = {
        "generator": "tradetune.datagen",
        "generator_version": GENERATOR_VERSION,
        "seed": seed,
        "format": fmt,
        "tasks": names,
        "dedup": "blake2b-96 of the instruction, lowercased with whitespace collapsed",
        "splits": split_info,
        "overlap": overlap,
    }
    with atomic_writer(out / "manifest.json", "--out") as fh:
        fh.write(json.dumps(manifest, indent=2) + "\n")
    return manifest
