"""The sample question of `tradetune run`: the one asked, else the test split's first item."""

from __future__ import annotations

import json
from pathlib import Path

from tradetune.local import SAMPLE_INSTRUCTION
from tradetune.local._runner import sample_question


def _split(path: Path, *records: dict[str, str]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


def test_first_test_item_with_its_reference(tmp_path: Path) -> None:
    split = _split(
        tmp_path / "test.jsonl",
        {"instruction": "Size a 1% risk trade.", "response": "Answer: 40"},
        {"instruction": "Explain a doji.", "response": "A doji ..."},
    )
    assert sample_question(split, None) == ("Size a 1% risk trade.", "Answer: 40")


def test_an_asked_question_has_no_reference(tmp_path: Path) -> None:
    split = _split(tmp_path / "test.jsonl", {"instruction": "Explain a doji.", "response": "A doji ..."})
    assert sample_question(split, "What is RSI?") == ("What is RSI?", None)


def test_missing_or_unreadable_split_falls_back_to_the_guides_question(tmp_path: Path) -> None:
    assert sample_question(tmp_path / "absent.jsonl", None) == (SAMPLE_INSTRUCTION, None)
    broken = tmp_path / "broken.jsonl"
    broken.write_text("{not json\n")
    assert sample_question(broken, None) == (SAMPLE_INSTRUCTION, None)
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    assert sample_question(empty, None) == (SAMPLE_INSTRUCTION, None)
