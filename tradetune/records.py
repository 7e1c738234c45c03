"""Dataset records on disk: the one reader, and the three shapes a record may be written in.

Every part that reads a dataset (the generator's stats and convert commands, the trainer's
splits, the evaluation suite, `tradetune run`'s sample question) calls `read_jsonl` or
`parse_jsonl` here, so a file one of them accepts, all of them accept. Three line shapes are
read, and each becomes our record (`instruction`, `response`, and whatever else the line
carries, such as `id`, `task`, `meta`):

    alpaca     {"instruction": ..., "response": ..., ...}            what `tradetune generate` writes
    openai     {"messages": [{"role": "user", ...}, {"role": "assistant", ...}]}
    autotrain  {"text": "### Instruction:\\n...\\n\\n### Response:\\n..."}  the one prompt format

This module sits below datagen, training and evaluation and imports none of them.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from tradetune.errors import InvalidInput
from tradetune.prompt import INSTRUCTION_HEADER, RESPONSE_HEADER, format_prompt

__all__ = [
    "FORMATS",
    "REASON",
    "Record",
    "check_record",
    "iter_jsonl",
    "parse_jsonl",
    "read_jsonl",
    "to_autotrain",
    "to_format",
    "to_openai",
]

Record = dict[str, Any]
FORMATS = ("alpaca", "openai", "autotrain")
REASON = "DatasetInvalid"


def _invalid(message: str) -> InvalidInput:
    return InvalidInput(message, reason=REASON)


def to_openai(record: Mapping[str, Any]) -> Record:
    """The OpenAI fine-tuning shape: one user and one assistant message."""
    return {
        "messages": [
            {"role": "user", "content": record["instruction"]},
            {"role": "assistant", "content": record["response"]},
        ]
    }


def to_autotrain(record: Mapping[str, Any]) -> Record:
    """AutoTrain's SFT shape: one `text` column with the whole example in the one prompt format.

    No end-of-sequence token is written: it belongs to the tokenizer of whichever model the
    user trains, and TRL's SFT trainer (which AutoTrain runs) appends it when it tokenizes.
    """
    return {"text": format_prompt(record["instruction"]) + record["response"]}


def to_format(record: Mapping[str, Any], fmt: str) -> Mapping[str, Any]:
    """The record in `fmt` (one of FORMATS); "alpaca" is the record itself."""
    if fmt == "openai":
        return to_openai(record)
    if fmt == "autotrain":
        return to_autotrain(record)
    return record


def _from_openai(obj: Mapping[str, Any], where: str) -> Record:
    msgs = obj.get("messages")
    if not isinstance(msgs, list):
        raise _invalid(f"{where}: `messages` must be a list of {{role, content}} objects")
    system = [m.get("content") for m in msgs if isinstance(m, dict) and m.get("role") == "system"]
    user = next((m.get("content") for m in msgs if isinstance(m, dict) and m.get("role") == "user"), None)
    bot = next((m.get("content") for m in msgs if isinstance(m, dict) and m.get("role") == "assistant"), None)
    if not isinstance(user, str) or not isinstance(bot, str):
        raise _invalid(f"{where}: `messages` needs a user and an assistant message with string content")
    # The chat template puts a system message in front of the instruction; so does the reader.
    prefix = "".join(f"{s}\n\n" for s in system if isinstance(s, str))
    return {"instruction": prefix + user, "response": bot}


def _from_autotrain(obj: Mapping[str, Any], where: str) -> Record:
    text = obj.get("text")
    if not isinstance(text, str) or not text.startswith(INSTRUCTION_HEADER) or RESPONSE_HEADER not in text:
        raise _invalid(
            f"{where}: `text` must hold one example in the prompt format "
            "('### Instruction:' ... '### Response:' ...)"
        )
    instruction, _, response = text[len(INSTRUCTION_HEADER) :].partition(RESPONSE_HEADER)
    return {"instruction": instruction, "response": response}


def check_record(obj: object, where: str) -> Record:
    """Our record from one parsed line in any of the three shapes, or InvalidInput naming `where`.

    `instruction` and `response` must be non-empty strings and `meta`, when present, an object.
    """
    if not isinstance(obj, dict):
        raise _invalid(f"{where}: a record must be a JSON object, got {type(obj).__name__}")
    if "instruction" not in obj and "response" not in obj:
        if "messages" in obj:
            obj = _from_openai(obj, where)
        elif "text" in obj:
            obj = _from_autotrain(obj, where)
    for field in ("instruction", "response"):
        value = obj.get(field)
        if value is None:
            raise _invalid(f"{where}: record has no `{field}` (nor `messages` or `text`)")
        if not isinstance(value, str) or not value.strip():
            raise _invalid(f"{where}: `{field}` must be a non-empty string")
    meta = obj.get("meta")
    if meta is not None and not isinstance(meta, dict):
        raise _invalid(f"{where}: `meta` must be an object")
    return obj


def _check_line(line: str, source: str, lineno: int) -> Record:
    try:
        obj = json.loads(line)
    except json.JSONDecodeError as exc:
        raise _invalid(f"{source}: line {lineno}: not valid JSON ({exc.msg})") from None
    return check_record(obj, f"{source}: line {lineno}")


def parse_jsonl(text: str, source: str) -> list[Record]:
    """Parse JSON Lines text, naming the first bad line (1-based). Blank lines are skipped.

    An empty result is an error: a split with no records cannot be trained or evaluated on.
    """
    records = [_check_line(line, source, n) for n, line in enumerate(text.splitlines(), 1) if line.strip()]
    if not records:
        raise _invalid(f"{source}: the split is empty")
    return records


def _open(path: Path, label: str) -> Iterator[str]:
    try:
        with path.open(encoding="utf-8") as fh:
            yield from fh
    except FileNotFoundError:
        raise _invalid(f"{label}: no such file") from None
    except IsADirectoryError:
        raise _invalid(f"{label}: is a directory, expected a JSONL file") from None
    except UnicodeDecodeError:
        raise _invalid(f"{label}: not UTF-8 text") from None
    except OSError as exc:
        raise _invalid(f"{label}: cannot read ({exc.strerror or exc})") from None


def iter_jsonl(path: str | Path, label: str | None = None) -> Iterator[Record]:
    """Records from a JSONL file, one at a time (for files bigger than memory).

    Errors name `label` (default: the path) and the line; blank lines are skipped.
    """
    p = Path(path)
    source = label or str(p)
    for lineno, line in enumerate(_open(p, source), 1):
        if line.strip():
            yield _check_line(line, source, lineno)


def read_jsonl(path: str | Path, label: str | None = None) -> list[Record]:
    """All records of one JSONL file, checked; an empty file is an error."""
    records = list(iter_jsonl(path, label))
    if not records:
        raise _invalid(f"{label or path}: the split is empty")
    return records
