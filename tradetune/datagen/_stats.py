"""Dataset statistics: records per task, length percentiles, duplicate rate, multi-answer items.

Pure; the CLI draws the table. An item with more than one valid answer (meta.answer a list)
is counted per task: the generator's families declare whether they make such items
(`Family.multi_answer`), and a task that has them without declaring it is reported, because a
grader that expects one answer would mark right predictions wrong there.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from tradetune.datagen._base import instruction_key
from tradetune.datagen._core import TASKS
from tradetune.datagen.answers import valid_answer_count

__all__ = ["DatasetStats", "TaskStats", "compute_stats", "percentile"]


def percentile(sorted_values: list[int], q: float) -> int:
    """Nearest-rank percentile of an ascending list (0 for an empty list)."""
    if not sorted_values:
        return 0
    rank = max(1, min(len(sorted_values), math.ceil(q / 100 * len(sorted_values))))
    return sorted_values[rank - 1]


@dataclass
class TaskStats:
    task: str
    records: int = 0
    chars: list[int] = field(default_factory=list)
    tokens: list[int] = field(default_factory=list)
    multi_answer: int = 0  # items whose meta.answer accepts more than one answer

    @property
    def multi_answer_declared(self) -> bool:
        """Whether the generator's family for this task says it makes multi-answer items."""
        family = TASKS.get(self.task)
        return family is not None and family.multi_answer

    def summary(self) -> dict[str, Any]:
        c, t = sorted(self.chars), sorted(self.tokens)
        return {
            "records": self.records,
            "multiple_valid_answers": self.multi_answer,
            "chars": {f"p{q}": percentile(c, q) for q in (50, 90, 99)} | {"max": c[-1] if c else 0},
            "tokens": {f"p{q}": percentile(t, q) for q in (50, 90, 99)} | {"max": t[-1] if t else 0},
        }


@dataclass
class DatasetStats:
    total: TaskStats
    by_task: dict[str, TaskStats]
    duplicate_instructions: int  # records whose normalised instruction appeared before
    duplicate_records: int  # ... and whose normalised response is the same as well

    @property
    def duplicate_rate(self) -> float:
        """Share of records whose normalised instruction already appeared earlier in the file."""
        return self.duplicate_instructions / self.total.records if self.total.records else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "total": self.total.summary(),
            "by_task": {k: v.summary() for k, v in sorted(self.by_task.items())},
            "duplicate_instructions": self.duplicate_instructions,
            "duplicate_records": self.duplicate_records,
            "duplicate_rate": self.duplicate_rate,
            "undeclared_multi_answer_tasks": self.undeclared_multi_answer_tasks,
        }

    @property
    def undeclared_multi_answer_tasks(self) -> list[str]:
        """Tasks with multi-answer items whose family does not declare them (should be none)."""
        return sorted(k for k, v in self.by_task.items() if v.multi_answer and not v.multi_answer_declared)


def compute_stats(records: Iterable[dict[str, Any]]) -> DatasetStats:
    """Lengths are of instruction + response: characters, and whitespace-separated tokens."""
    total = TaskStats("all")
    by_task: dict[str, TaskStats] = {}
    seen_instr: set[bytes] = set()
    seen_rec: set[bytes] = set()
    dup_i = dup_r = 0
    for rec in records:
        text_i, text_r = rec["instruction"], rec["response"]
        chars = len(text_i) + len(text_r)
        tokens = len(text_i.split()) + len(text_r.split())
        task = str(rec.get("task") or "-")
        ts = by_task.get(task)
        if ts is None:
            ts = by_task[task] = TaskStats(task)
        meta = rec.get("meta")
        several = isinstance(meta, dict) and valid_answer_count(meta.get("answer")) > 1
        for s in (ts, total):
            s.records += 1
            s.chars.append(chars)
            s.tokens.append(tokens)
            s.multi_answer += several
        k = instruction_key(text_i)
        if k in seen_instr:
            dup_i += 1
            rk = instruction_key(text_i + "\x00" + text_r)
            dup_r += rk in seen_rec
            seen_rec.add(rk)
        else:
            seen_instr.add(k)
            seen_rec.add(instruction_key(text_i + "\x00" + text_r))
    return DatasetStats(total, by_task, dup_i, dup_r)
