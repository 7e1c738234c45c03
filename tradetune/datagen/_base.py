"""What every task family shares: the record shape, the family base class, text helpers.

A family owns one task id: its instruction templates and `make(rng)`, which draws parameters
from the random generator it is handed and returns one finished record. Families never
seed their own generators and never do I/O, so the caller decides determinism and where
records go.
"""

from __future__ import annotations

import hashlib
import random
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from typing import Any, ClassVar, TypedDict

from tradetune.datagen.answers import format_answer

__all__ = [
    "CATEGORIES",
    "Family",
    "Record",
    "instruction_key",
    "normalise_instruction",
    "record_id",
]

CATEGORIES = ("pinescript", "patterns", "indicators", "risk", "backtest", "knowledge")


class Record(TypedDict):
    """One dataset line (docs/contracts.md): the pair a model learns plus where it came from."""

    id: str
    instruction: str
    response: str
    task: str
    category: str
    meta: dict[str, Any]


def record_id(task: str, instruction: str, response: str) -> str:
    """`sha256(task + instruction + response)[:16]`: stable, and equal only for equal content."""
    return hashlib.sha256((task + instruction + response).encode()).hexdigest()[:16]


def normalise_instruction(text: str) -> str:
    """Lowercase with whitespace collapsed: two instructions that differ only there are one item."""
    return " ".join(text.lower().split())


def instruction_key(text: str) -> bytes:
    """A compact hash of the normalised instruction, the unit of de-duplication across splits."""
    return hashlib.blake2b(normalise_instruction(text).encode(), digest_size=12).digest()


class Family(ABC):
    """Base of a task family: subclasses set the class attributes and implement `build`."""

    name: ClassVar[str]
    category: ClassVar[str]
    description: ClassVar[str]
    templates: ClassVar[tuple[str, ...]]
    computed: ClassVar[bool] = False
    # True where one item may have several right answers (meta.answer a list); stats reports
    # the count per task and flags tasks that produce them without declaring it.
    multi_answer: ClassVar[bool] = False
    writes_pine: ClassVar[bool] = False

    @property
    def template_count(self) -> int:
        return len(self.templates)

    @abstractmethod
    def build(self, rng: random.Random) -> tuple[str, str, dict[str, Any]]:
        """Draw one item: (instruction, response, meta)."""

    def make(self, rng: random.Random) -> Record:
        """One finished record; for computed tasks the response ends with the `Answer:` line."""
        instruction, response, meta = self.build(rng)
        return {
            "id": record_id(self.name, instruction, response),
            "instruction": instruction,
            "response": response,
            "task": self.name,
            "category": self.category,
            "meta": meta,
        }

    def capacity(self) -> int | None:
        """How many distinct (normalised) instructions this family can produce; None = unbounded."""
        return None

    def pine_shapes(self) -> Iterator[tuple[str, str]]:
        """(shape name, program) for every template and parameter shape of PineScript it writes."""
        return iter(())

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name} ({self.category}, {self.template_count} templates)>"


def pick(rng: random.Random, options: Sequence[Any]) -> Any:
    """`rng.choice` without its per-call overhead on a tuple."""
    return options[int(rng.random() * len(options))]


def answer_line(
    value: float | int | str | list[str], decimals: int = 2
) -> tuple[str, float | int | str | list[str]]:
    """The closing `Answer:` line and the exact value kept in meta.answer (they always agree).

    A list of labels (several right answers) is written comma-separated and kept as a list.
    """
    text = format_answer(value, decimals)
    if isinstance(value, list):
        return f"Answer: {text}", list(value)
    stored: float | int | str = value if isinstance(value, str | int) else float(text)
    return f"Answer: {text}", stored


def fmt(value: float, decimals: int = 2) -> str:
    """A number with fixed decimals and thousands separators (for prose, not Answer lines)."""
    return f"{value:,.{decimals}f}"
