"""What a local run shows of learning: accuracy per task family in counts, and a graded sample.

The gate's `taskAccuracy` is one pooled share; a newcomer needs to see it per family, as
counts, next to what guessing would score, to tell learning from noise:

- `chance`: the expected number right when guessing uniformly among the answers a question
  allows (yes/no: 1 in 2; a label: 1 in the number of labels the family uses, or k in it when
  k labels are right; a number: 0);
- `commonest`: the number right by always giving the commonest answer of each question form
  (e.g. always "yes" to yes/no questions; for labels, the one that is right most often, counted
  on every item that accepts it), a stronger baseline than chance.

The counts come from the per-task shares in the metrics and the evaluated items, which are
selected with the evaluation's own `select_items`, so they are the trainer's items. Pure
functions over records and metrics; the runner prints them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from tradetune.api import EvalMetrics
from tradetune.datagen.answers import answers_match, extract_answer
from tradetune.evaluation.accuracy import is_computed
from tradetune.evaluation.pine import PINE_TASKS, check_code, extract_code

Record = Mapping[str, Any]
_YES_NO = frozenset({"yes", "no"})


@dataclass(frozen=True)
class FamilyScore:
    """Task accuracy of one family in counts, with the tuned model, the base and two baselines."""

    task: str
    items: int
    correct: int
    base_correct: int | None
    chance: float
    commonest: int

    @property
    def gain(self) -> int:
        """Items the tuned model gets right beyond the base (0 when the base was not measured)."""
        return self.correct - (self.base_correct or 0) if self.base_correct is not None else 0


def _form(answer: object) -> str:
    if isinstance(answer, list | tuple):
        return "label"
    if isinstance(answer, bool) or not isinstance(answer, int | float):
        return "yes/no" if str(answer).strip().lower() in _YES_NO else "label"
    return "number"


def _labels(answer: object) -> set[str]:
    """The distinct answers an item accepts: one, or each label of a list (several are right)."""
    if isinstance(answer, list | tuple):
        return {str(a).strip().lower() for a in answer}
    return {str(answer).strip().lower()}


def _count(share: float | None, items: int) -> int | None:
    return None if share is None else round(share * items)


def family_scores(
    items: Sequence[Record], metrics: EvalMetrics, base_metrics: EvalMetrics | None
) -> list[FamilyScore]:
    """One FamilyScore per computed task among the evaluated `items`, in task order."""
    computed = [r for r in items if is_computed(r)]
    by_task: dict[str, list[Record]] = {}
    for record in computed:
        by_task.setdefault(str(record.get("task", "unknown")), []).append(record)
    scores = []
    for task, records in sorted(by_task.items()):
        answers = [r["meta"]["answer"] for r in records]
        labels = {label for a in answers if _form(a) == "label" for label in _labels(a)}
        chance = 0.0
        for answer in answers:
            form = _form(answer)
            if form == "yes/no":
                chance += 0.5
            elif form == "label":
                chance += len(_labels(answer)) / len(labels)
        commonest = 0
        for form in ("yes/no", "label", "number"):
            same = Counter(label for a in answers if _form(a) == form for label in _labels(a))
            commonest += same.most_common(1)[0][1] if same else 0
        n = len(records)
        base_share = base_metrics.task_accuracy_by_task.get(task) if base_metrics is not None else None
        scores.append(
            FamilyScore(
                task=task,
                items=n,
                correct=_count(metrics.task_accuracy_by_task.get(task, 0.0), n) or 0,
                base_correct=_count(base_share, n) if base_metrics is not None else None,
                chance=chance,
                commonest=commonest,
            )
        )
    return scores


def family_rows(scores: Sequence[FamilyScore]) -> list[tuple[str, str, str, str, str]]:
    """(family, base, tuned, chance, commonest answer) cells, e.g. `41/100`; pure, for tests."""
    rows = []
    for s in scores:
        base = "-" if s.base_correct is None else f"{s.base_correct}/{s.items}"
        rows.append(
            (s.task, base, f"{s.correct}/{s.items}", f"{s.chance:.0f}/{s.items}", f"{s.commonest}/{s.items}")
        )
    return rows


def families_table(scores: Sequence[FamilyScore]) -> Any:
    """A rich Table of `family_rows`."""
    from rich.table import Table

    table = Table(title="Task accuracy by family (held-out test items)")
    for column in ("family", "base", "tuned", "chance", "commonest answer"):
        table.add_column(column, justify="left" if column == "family" else "right")
    for row in family_rows(scores):
        table.add_row(*row)
    return table


def learned_sample(items: Sequence[Record], scores: Sequence[FamilyScore]) -> Record | None:
    """The first evaluated item of the family the model gained most on, or None when it gained on none.

    The sample then shows a family the model learned, not whichever record the split put first.
    """
    best = max(scores, key=lambda s: s.gain, default=None)
    if best is None or best.gain <= 0:
        return None
    return next((r for r in items if r.get("task") == best.task and is_computed(r)), None)


@dataclass(frozen=True)
class Verdict:
    """The grader's view of one answer: what it read, what it expected, whether they match."""

    answered: str | None
    expected: str
    correct: bool

    def text(self) -> str:
        got = "no `Answer:` line" if self.answered is None else f"Answer: {self.answered}"
        return f"{'correct' if self.correct else 'wrong'} ({got}; reference: {self.expected})"


@dataclass(frozen=True)
class ProgramVerdict:
    """The v5 check's view of a PineScript answer: a whole valid program, or its first errors."""

    errors: tuple[str, ...]

    @property
    def correct(self) -> bool:
        return not self.errors

    def text(self) -> str:
        if self.correct:
            return "valid (a whole Pine v5 program: it parses, declares itself and passes the v5 check)"
        more = f" (+{len(self.errors) - 2} more)" if len(self.errors) > 2 else ""
        return "not valid: line " + "; line ".join(self.errors[:2]) + more


def grade(answer: str, record: Record) -> Verdict | ProgramVerdict | None:
    """The evaluation's own judge on one answer: the task-accuracy grader for a computed item,
    the Pine v5 check for a PineScript-writing one; None for items neither grades."""
    if record.get("task") in PINE_TASKS:
        return ProgramVerdict(errors=tuple(str(f) for f in check_code(extract_code(answer)).errors))
    if not is_computed(record):
        return None
    expected = record["meta"]["answer"]
    answered = extract_answer(answer)
    return Verdict(answered=answered, expected=str(expected), correct=answers_match(answered, expected))
