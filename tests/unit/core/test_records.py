"""One dataset reader: every shape `tradetune dataset` writes is read back by every part."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

from tradetune.api import DatasetSpec
from tradetune.cli import main
from tradetune.errors import InvalidInput
from tradetune.prompt import format_prompt
from tradetune.records import FORMATS, check_record, read_jsonl, to_format
from tradetune.training import materialise

ROOT = Path(__file__).resolve().parents[3]
GOOD = {"instruction": "Explain a doji.", "response": "Indecision.\nAnswer: neutral"}


def _cli(argv: list[str]) -> int:
    try:
        main(argv)
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_written_shape_reads_back_as_the_same_record(fmt: str) -> None:
    line = json.loads(json.dumps(to_format(GOOD, fmt)))
    back = check_record(line, "x.jsonl: line 1")
    assert (back["instruction"], back["response"]) == (GOOD["instruction"], GOOD["response"])


def test_autotrain_text_is_the_training_prompt_format() -> None:
    assert to_format(GOOD, "autotrain") == {"text": format_prompt(GOOD["instruction"]) + GOOD["response"]}


def test_a_system_message_goes_in_front_of_the_instruction_as_the_chat_template_puts_it() -> None:
    line = {
        "messages": [
            {"role": "system", "content": "You are a trader."},
            {"role": "user", "content": "Explain a doji."},
            {"role": "assistant", "content": "Indecision."},
        ]
    }
    assert check_record(line, "x")["instruction"] == "You are a trader.\n\nExplain a doji."


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ({"messages": "hi"}, "`messages` must be a list"),
        ({"messages": [{"role": "user", "content": "q"}]}, "`messages` needs a user and an assistant"),
        ({"text": "no headers here"}, "`text` must hold one example in the prompt format"),
        ({"prompt": "q", "completion": "a"}, "record has no `instruction` \\(nor `messages` or `text`\\)"),
    ],
)
def test_bad_lines_of_each_shape_are_named(tmp_path: Path, line: object, message: str) -> None:
    path = tmp_path / "d.jsonl"
    path.write_text(json.dumps(GOOD) + "\n" + json.dumps(line) + "\n")
    with pytest.raises(InvalidInput, match=f"d\\.jsonl: line 2: {message}") as err:
        read_jsonl(path)
    assert err.value.reason == "DatasetInvalid"


@pytest.mark.parametrize("fmt", ["openai", "autotrain"])
def test_a_split_written_in_any_format_is_a_finetunejob_dataset(tmp_path: Path, fmt: str) -> None:
    """`tradetune dataset split --format openai` output used as spec.dataset.path (it used to fail)."""
    ours, theirs = tmp_path / "alpaca", tmp_path / fmt
    base = ["dataset", "split", "--train", "20", "--val", "10", "--test", "10", "--seed", "3"]
    assert _cli([*base, "--out", str(ours)]) == 0
    assert _cli([*base, "--out", str(theirs), "--format", fmt]) == 0
    assert "instruction" not in (theirs / "train.jsonl").read_text()  # really the other shape
    splits = materialise(DatasetSpec(path=str(theirs)), tmp_path / "run" / "data")
    reference = materialise(DatasetSpec(path=str(ours)), tmp_path / "ref" / "data")
    for got, want in ((splits.train, reference.train), (splits.test, reference.test)):
        assert [(r["instruction"], r["response"]) for r in got] == [
            (r["instruction"], r["response"]) for r in want
        ]


def test_convert_to_autotrain_prints_a_command_that_names_the_text_column(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = tmp_path / "train.jsonl"
    src.write_text(json.dumps(GOOD) + "\n")
    out = tmp_path / "autotrain" / "train.jsonl"
    assert _cli(["dataset", "convert", str(src), "--to", "autotrain", "--output", str(out)]) == 0
    err = capsys.readouterr().err
    assert "--text-column text" in err and f"--data-path {out.parent}" in err and "--train-split train" in err
    assert [json.loads(x) for x in out.read_text().splitlines()] == [to_format(GOOD, "autotrain")]


def test_training_and_evaluation_do_not_import_each_other() -> None:
    """The reader lives below both; neither package needs the other's modules to read data."""

    def imports(package: str) -> set[str]:
        found: set[str] = set()
        for path in (ROOT / "tradetune" / package).glob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.ImportFrom) and node.module:
                    found.add(node.module)
        return found

    assert not any(m.startswith("tradetune.training") for m in imports("evaluation"))
