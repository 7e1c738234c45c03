"""Task accuracy on computed items: parse `Answer:` from the generation, compare with meta.answer.

The comparison rules (numeric tolerance, labels compared case-insensitively, a list of labels
when several are right) belong to the dataset generator, which wrote the answers; this module
only counts, through the same `answers_match` the generator's tests use.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

COMPUTED_TASKS = frozenset(
    {"pattern_recognition", "candle_reading", "indicator_math", "position_sizing", "backtest_stats"}
)


def is_computed(record: Mapping[str, Any]) -> bool:
    """A record whose response ends in `Answer: <value>` kept in meta.answer."""
    meta = record.get("meta")
    return isinstance(meta, Mapping) and "answer" in meta and meta["answer"] is not None


@dataclass
class Accuracy:
    """Correct/total per task; `overall` is pooled over items (micro-average)."""

    correct: dict[str, int] = field(default_factory=dict)
    total: dict[str, int] = field(default_factory=dict)

    @property
    def overall(self) -> float | None:
        n = sum(self.total.values())
        return sum(self.correct.values()) / n if n else None

    @property
    def by_task(self) -> dict[str, float]:
        return {task: self.correct.get(task, 0) / n for task, n in sorted(self.total.items()) if n}


def task_accuracy(records: Sequence[Mapping[str, Any]], generations: Sequence[str]) -> Accuracy:
    """Score each computed record's generation against its meta.answer."""
    from tradetune.datagen.answers import answers_match, extract_answer

    acc = Accuracy()
    for record, generated in zip(records, generations, strict=True):
        task = str(record.get("task", "unknown"))
        acc.total[task] = acc.total.get(task, 0) + 1
        if answers_match(extract_answer(generated), record["meta"]["answer"]):
            acc.correct[task] = acc.correct.get(task, 0) + 1
    return acc
