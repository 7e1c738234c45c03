"""Accuracy per family in counts beside chance and the commonest answer, the learned sample, the grader."""

from __future__ import annotations

from typing import Any

from tradetune.api import EvalMetrics
from tradetune.local._learned import FamilyScore, family_rows, family_scores, grade, learned_sample


def _item(task: str, answer: Any, i: int) -> dict[str, Any]:
    return {"task": task, "instruction": f"q{i}", "response": f"Answer: {answer}", "meta": {"answer": answer}}


def _items() -> list[dict[str, Any]]:
    # pattern: 4 yes/no (3 yes) and 4 labels out of 2 distinct ones (3 doji); sizing: 2 numbers;
    # one knowledge item without an answer, which is not graded.
    answers = ["yes", "yes", "no", "yes", "doji", "doji", "hammer", "doji"]
    items = [_item("pattern_recognition", a, i) for i, a in enumerate(answers)]
    items += [_item("position_sizing", 40, 8), _item("position_sizing", 12.5, 9)]
    items.append({"task": "candlestick_knowledge", "instruction": "Explain", "response": "..."})
    return items


def test_counts_chance_and_commonest_answer_per_family() -> None:
    tuned = EvalMetrics(task_accuracy_by_task={"pattern_recognition": 0.75, "position_sizing": 0.5})
    base = EvalMetrics(task_accuracy_by_task={"pattern_recognition": 0.125, "position_sizing": 0.0})
    scores = family_scores(_items(), tuned, base)
    assert scores == [
        # chance: 4 yes/no items x 1/2 + 4 label items x 1/2 (two labels used); commonest: 3 yes + 3 doji
        FamilyScore("pattern_recognition", items=8, correct=6, base_correct=1, chance=4.0, commonest=6),
        FamilyScore("position_sizing", items=2, correct=1, base_correct=0, chance=0.0, commonest=1),
    ]
    assert family_rows(scores)[0] == ("pattern_recognition", "1/8", "6/8", "4/8", "6/8")
    assert [s.gain for s in scores] == [5, 1]


def test_without_a_base_there_is_no_base_count_and_no_gain() -> None:
    scores = family_scores(_items(), EvalMetrics(task_accuracy_by_task={"pattern_recognition": 1.0}), None)
    assert scores[0].base_correct is None and scores[0].gain == 0
    assert family_rows(scores)[0][1] == "-"
    assert learned_sample(_items(), scores) is None


def test_the_sample_comes_from_the_family_with_the_largest_gain() -> None:
    tuned = EvalMetrics(task_accuracy_by_task={"pattern_recognition": 0.25, "position_sizing": 1.0})
    base = EvalMetrics(task_accuracy_by_task={"pattern_recognition": 0.25, "position_sizing": 0.0})
    sample = learned_sample(_items(), family_scores(_items(), tuned, base))
    assert sample is not None and sample["instruction"] == "q8"
    flat = EvalMetrics(task_accuracy_by_task={"pattern_recognition": 0.0, "position_sizing": 0.0})
    assert learned_sample(_items(), family_scores(_items(), flat, flat)) is None


def test_the_grader_reads_the_answer_line_like_the_evaluation() -> None:
    item = _item("pattern_recognition", "inside bar", 0)
    right = grade("The first rule that matches is inside bar.\nAnswer: Inside bar", item)
    assert right is not None and right.correct
    assert right.text() == "correct (Answer: Inside bar; reference: inside bar)"
    wrong = grade("Answer: doji", item)
    assert wrong is not None and not wrong.correct and wrong.text().startswith("wrong (Answer: doji")
    silent = grade("no idea", item)
    assert silent is not None and silent.text() == "wrong (no `Answer:` line; reference: inside bar)"
    assert grade("Answer: x", {"instruction": "Explain", "response": "..."}) is None


def test_an_item_with_several_right_labels_counts_each_for_chance_and_commonest() -> None:
    # A guess is right on a multi-answer item when it names any of its labels, so the
    # baselines must credit each label: 3 labels in use ("inside bar", "bullish harami", "doji").
    answers: list[Any] = [["bullish harami", "inside bar"], "inside bar", "doji", ["inside bar", "doji"]]
    items = [_item("candle_reading", a, i) for i, a in enumerate(answers)]
    (score,) = family_scores(items, EvalMetrics(task_accuracy_by_task={"candle_reading": 0.5}), None)
    assert score.chance == (2 + 1 + 1 + 2) / 3
    assert score.commonest == 3  # "inside bar" is right on three of the four items


def test_a_pine_answer_is_graded_by_the_v5_check() -> None:
    item = {"task": "pine_indicator", "instruction": "Write an RSI indicator", "response": "..."}
    good = grade('//@version=5\nindicator("RSI")\nplot(ta.rsi(close, 14))\n', item)
    assert good is not None and good.correct and good.text().startswith("valid")
    fragment = grade("plot(close, 10)\n", item)  # parses, but is no program
    assert fragment is not None and not fragment.correct
    assert "PINE-E403" in fragment.text()
    typo = grade('//@version=5\nindicator("RSI")\nplot(ta.rsii(close, 14))\n', item)
    assert typo is not None and not typo.correct and "PINE-E101" in typo.text()
