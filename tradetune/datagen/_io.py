"""Reading and writing JSONL datasets: atomic writes, format conversion, line-precise errors."""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import IO, Any

from tradetune.errors import InvalidInput

__all__ = [
    "FORMATS",
    "atomic_writer",
    "check_output_path",
    "dumps_record",
    "read_jsonl",
    "to_openai",
    "write_jsonl",
]

FORMATS = ("alpaca", "openai")


def _current_umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


_UMASK = _current_umask()


def to_openai(record: Mapping[str, Any]) -> dict[str, Any]:
    """The OpenAI fine-tuning shape: one user and one assistant message."""
    return {
        "messages": [
            {"role": "user", "content": record["instruction"]},
            {"role": "assistant", "content": record["response"]},
        ]
    }


def dumps_record(record: Mapping[str, Any], fmt: str = "alpaca") -> str:
    """One JSONL line (with its newline) in `fmt`. Key order is fixed, so output is byte-stable."""
    obj = to_openai(record) if fmt == "openai" else record
    return json.dumps(obj, ensure_ascii=False) + "\n"


def check_output_path(path: str | os.PathLike[str], flag: str = "--output") -> Path:
    """The output path, or InvalidInput when its directory is missing, not a directory or read-only."""
    p = Path(path)
    if p.is_dir():
        raise InvalidInput(f"{flag}: {str(p)!r} is a directory, expected a file path")
    parent = p.parent if str(p.parent) else Path(".")
    if not parent.exists():
        raise InvalidInput(f"{flag}: directory {str(parent)!r} does not exist")
    if not parent.is_dir():
        raise InvalidInput(f"{flag}: {str(parent)!r} is not a directory")
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
    """Write records as JSONL in `fmt` ("alpaca": our record shape, "openai": messages), atomically.

    Returns the number of records written. `on_record(n)` is called every 1,000 records (for
    progress bars) and once at the end.
    """
    if fmt not in FORMATS:
        raise InvalidInput(f"--format: unknown format {fmt!r}; choose from {', '.join(FORMATS)}")
    n = 0
    dumps = json.dumps
    openai = fmt == "openai"
    with atomic_writer(path) as fh:
        write = fh.write
        buf: list[str] = []
        for rec in records:
            buf.append(dumps(to_openai(rec) if openai else rec, ensure_ascii=False))
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


def read_jsonl(path: str | os.PathLike[str], flag: str = "PATH") -> Iterator[dict[str, Any]]:
    """Records from a JSONL file in either format (openai lines become instruction/response).

    Blank lines are skipped; a line that is not a JSON object with string `instruction` and
    `response` (or a user and an assistant message) raises InvalidInput naming the line.
    """
    p = Path(path)
    if not p.is_file():
        raise InvalidInput(f"{flag}: {str(p)!r} is not a file")
    with p.open(encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                raise InvalidInput(f"{p}:{lineno}: not valid JSON ({exc.msg})") from exc
            if not isinstance(obj, dict):
                raise InvalidInput(f"{p}:{lineno}: expected a JSON object")
            if "messages" in obj and "instruction" not in obj:
                obj = _from_openai(obj, p, lineno)
            for key in ("instruction", "response"):
                if not isinstance(obj.get(key), str):
                    raise InvalidInput(f"{p}:{lineno}: field {key!r} missing or not a string")
            yield obj


def _from_openai(obj: dict[str, Any], p: Path, lineno: int) -> dict[str, Any]:
    msgs = obj.get("messages")
    if not isinstance(msgs, list):
        raise InvalidInput(f"{p}:{lineno}: 'messages' must be a list")
    user = next((m.get("content") for m in msgs if isinstance(m, dict) and m.get("role") == "user"), None)
    bot = next((m.get("content") for m in msgs if isinstance(m, dict) and m.get("role") == "assistant"), None)
    if not isinstance(user, str) or not isinstance(bot, str):
        raise InvalidInput(f"{p}:{lineno}: 'messages' needs a user and an assistant message")
    return {"instruction": user, "response": bot}
