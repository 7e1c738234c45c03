"""Dataset checks: every bad line is named, nothing half-written, the fingerprint is the file's."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from tradetune.api import DatasetSpec
from tradetune.errors import InvalidInput
from tradetune.prompt import format_prompt
from tradetune.records import parse_jsonl
from tradetune.training import materialise, to_prompt_completion

GOOD = {"instruction": "Explain a doji.", "response": "Indecision.", "task": "candlestick_knowledge"}


def lines(*objs: object) -> str:
    return "".join((o if isinstance(o, str) else json.dumps(o)) + "\n" for o in objs)


def test_malformed_line_is_named() -> None:
    with pytest.raises(InvalidInput, match=r"train\.jsonl: line 3: not valid JSON") as err:
        parse_jsonl(lines(GOOD, "", "{oops", GOOD), "train.jsonl")
    assert err.value.reason == "DatasetInvalid" and err.value.exit_code == 2


@pytest.mark.parametrize(
    ("record", "message"),
    [
        ({"response": "x"}, "line 2: record has no `instruction`"),
        ({"instruction": "x"}, "line 2: record has no `response`"),
        ({"instruction": "  ", "response": "x"}, "line 2: `instruction` must be a non-empty string"),
        ({"instruction": "x", "response": 3}, "line 2: `response` must be a non-empty string"),
        ([1, 2], "line 2: a record must be a JSON object"),
        ({"instruction": "x", "response": "y", "meta": 3}, "line 2: `meta` must be an object"),
    ],
)
def test_bad_records_are_named(record: object, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        parse_jsonl(lines(GOOD, record), "val.jsonl")


def test_empty_split() -> None:
    with pytest.raises(InvalidInput, match=r"test\.jsonl: the split is empty"):
        parse_jsonl("\n\n", "test.jsonl")


def write_dir(path: Path, train: str, val: str = "", test: str = "") -> Path:
    path.mkdir()
    (path / "train.jsonl").write_text(train)
    (path / "val.jsonl").write_text(val or lines(GOOD))
    (path / "test.jsonl").write_text(test or lines(GOOD))
    return path


def test_materialise_copies_bytes_and_fingerprints_the_train_file(tmp_path: Path) -> None:
    train = lines(GOOD, {**GOOD, "instruction": "Explain a hammer."})
    src = write_dir(tmp_path / "src", train)
    splits = materialise(DatasetSpec(path=str(src)), tmp_path / "out" / "data")
    assert splits.fingerprint == hashlib.sha256(train.encode()).hexdigest()
    assert (tmp_path / "out" / "data" / "train.jsonl").read_text() == train
    assert len(splits.train) == 2 and len(splits.validation) == 1 and len(splits.test) == 1
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["data"]  # no temp dir left


def test_materialise_names_the_bad_file_and_leaves_no_partial_output(tmp_path: Path) -> None:
    src = write_dir(tmp_path / "src", lines(GOOD), test=lines(GOOD, '{"instruction": 1}'))
    out = tmp_path / "out"
    with pytest.raises(
        InvalidInput, match=r"src/test\.jsonl: line 2: `instruction` must be a non-empty string"
    ):
        materialise(DatasetSpec(path=str(src)), out / "data")
    assert not (out / "data").exists() and list(out.iterdir()) == []
    (src / "val.jsonl").unlink()
    with pytest.raises(InvalidInput, match=r"val\.jsonl: no such file"):
        materialise(DatasetSpec(path=str(src)), out / "data")
    with pytest.raises(InvalidInput, match="is not a directory"):
        materialise(DatasetSpec(path=str(tmp_path / "nope")), out / "data")


def test_prompt_completion_rows_put_eos_after_the_response() -> None:
    rows = to_prompt_completion([GOOD], "</s>")
    assert rows == [{"prompt": format_prompt("Explain a doji."), "completion": "Indecision.</s>"}]
