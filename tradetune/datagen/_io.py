"""Writing JSONL datasets atomically, in any of the record shapes (reading is tradetune.records)."""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import IO, Any

from tradetune.errors import InvalidInput
from tradetune.records import FORMATS, to_format

__all__ = [
    "FORMATS",
    "atomic_writer",
    "check_output_path",
    "dumps_record",
    "write_jsonl",
]


def _current_umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


_UMASK = _current_umask()


def dumps_record(record: Mapping[str, Any], fmt: str = "alpaca") -> str:
    """One JSONL line (with its newline) in `fmt`. Key order is fixed, so output is byte-stable."""
    return json.dumps(to_format(record, fmt), ensure_ascii=False) + "\n"


def check_output_path(path: str | os.PathLike[str], flag: str = "--output") -> Path:
    """The output path, its missing parent directories created (as `mkdir -p` would).

    InvalidInput when the path is a directory, when a parent is a file, or when the
    directory cannot be created or written: one line, naming the flag and the directory.
    """
    p = Path(path)
    if p.is_dir():
        raise InvalidInput(f"{flag}: {str(p)!r} is a directory, expected a file path")
    parent = p.parent if str(p.parent) else Path(".")
    blocker = next((a for a in (parent, *parent.parents) if a.exists() and not a.is_dir()), None)
    if blocker is not None:
        raise InvalidInput(f"{flag}: {str(blocker)!r} is a file, not a directory; choose another path")
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InvalidInput(f"{flag}: cannot create directory {str(parent)!r}: {exc.strerror}") from None
    if not os.access(parent, os.W_OK | os.X_OK):
        raise InvalidInput(f"{flag}: directory {str(parent)!r} is not writable")
    return p


@contextlib.contextmanager
def atomic_writer(path: str | os.PathLike[str], flag: str = "--output") -> Iterator[IO[str]]:
    """A text file that appears at `path` only when the block finishes without an exception.

    It is written as a hidden temporary file in the same directory (so the final rename is
    atomic on POSIX) and removed on any failure, including KeyboardInterrupt.
    """
    target = check_output_path(path, flag)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent or ".")
    except OSError as exc:
        raise InvalidInput(f"{flag}: cannot write to {str(target.parent)!r}: {exc.strerror}") from exc
    try:
        os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes 0600; the result should look like any new file
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
            yield fh
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def write_jsonl(
    records: Iterable[Mapping[str, Any]],
    path: str | os.PathLike[str],
    fmt: str = "alpaca",
    *,
    on_record: Callable[[int], None] | None = None,
) -> int:
    """Write records as JSONL in `fmt` (one of tradetune.records.FORMATS), atomically.

    Returns the number of records written. `on_record(n)` is called every 1,000 records (for
    progress bars) and once at the end.
    """
    if fmt not in FORMATS:
        raise InvalidInput(f"--format: unknown format {fmt!r}; choose from {', '.join(FORMATS)}")
    n = 0
    dumps = json.dumps
    with atomic_writer(path) as fh:
        write = fh.write
        buf: list[str] = []
        for rec in records:
            buf.append(dumps(to_format(rec, fmt), ensure_ascii=False))
            n += 1
            if len(buf) == 1000:
                write("\n".join(buf) + "\n")
                buf.clear()
                if on_record is not None:
                    on_record(n)
        if buf:
            write("\n".join(buf) + "\n")
    if on_record is not None:
        on_record(n)
    return n
