"""The sample question of `tradetune run`: the one asked, a learned family's item, or the first item."""

from __future__ import annotations

import json
from pathlib import Path

from tradetune.local import SAMPLE_INSTRUCTION
from tradetune.local._runner import SampleQuestion, sample_question


def _split(path: Path, *records: dict[str, str]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


def test_first_test_item_with_its_reference(tmp_path: Path) -> None:
    split = _split(
        tmp_path / "test.jsonl",
        {"instruction": "Size a 1% risk trade.", "response": "Answer: 40"},
        {"instruction": "Explain a doji.", "response": "A doji ..."},
    )
    sample = sample_question(split, None)
    assert (sample.instruction, sample.reference) == ("Size a 1% risk trade.", "Answer: 40")
    assert sample.record is not None and sample.record["response"] == "Answer: 40"


def test_an_asked_question_has_no_reference(tmp_path: Path) -> None:
    split = _split(tmp_path / "test.jsonl", {"instruction": "Explain a doji.", "response": "A doji ..."})
    assert sample_question(split, "What is RSI?") == SampleQuestion("What is RSI?")


def test_missing_or_unreadable_split_falls_back_to_the_guides_question(tmp_path: Path) -> None:
    assert sample_question(tmp_path / "absent.jsonl", None) == SampleQuestion(SAMPLE_INSTRUCTION)
    broken = tmp_path / "broken.jsonl"
    broken.write_text("{not json\n")
    assert sample_question(broken, None) == SampleQuestion(SAMPLE_INSTRUCTION)
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    assert sample_question(empty, None) == SampleQuestion(SAMPLE_INSTRUCTION)


def test_an_item_of_a_learned_family_comes_before_the_first_item(tmp_path: Path) -> None:
    split = _split(tmp_path / "test.jsonl", {"instruction": "Explain a doji.", "response": "A doji ..."})
    learned = {"instruction": "Which pattern?", "response": "Answer: doji", "meta": {"answer": "doji"}}
    sample = sample_question(split, None, learned)
    assert (sample.instruction, sample.reference) == ("Which pattern?", "Answer: doji")
    assert sample.record == learned
    assert sample_question(split, "Mine?", learned) == SampleQuestion("Mine?")
