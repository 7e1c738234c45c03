"""The family registry and the record stream.

Determinism: record `i` of a run with seed `s` is drawn from its own `random.Random`
seeded with the string f"{s}:{i}" (hashed with SHA-512 by the random module, the same on
every platform and Python run), so the stream can start anywhere, needs no state between
records, and the same arguments always give the same bytes.

Task mix: records come in blocks of len(tasks); each block holds every task once in an order
shuffled by the block's own seed, so any prefix of the stream is balanced across tasks
(counts differ by at most one) without looking periodic.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence

from tradetune.datagen._base import Family, Record
from tradetune.datagen._fam_computed import BacktestStats, IndicatorMath, PatternRecognition, PositionSizing
from tradetune.datagen._fam_knowledge import CandlestickKnowledge, MarketStructure
from tradetune.datagen._fam_pine import PineIndicator, PineRepair, PineStrategy, StrategyExplanation
from tradetune.errors import InvalidInput

__all__ = ["GENERATOR_VERSION", "TASKS", "generate_records", "resolve_tasks"]

# Bump when the records for a given (size, seed, tasks) change; it lands in manifest.json.
GENERATOR_VERSION = "1.0.0"

_FAMILIES: tuple[Family, ...] = (
    PineStrategy(),
    PineIndicator(),
    PineRepair(),
    CandlestickKnowledge(),
    PatternRecognition(),
    IndicatorMath(),
    PositionSizing(),
    BacktestStats(),
    MarketStructure(),
    StrategyExplanation(),
)
TASKS: dict[str, Family] = {f.name: f for f in _FAMILIES}


def resolve_tasks(tasks: Sequence[str] | None) -> list[str]:
    """Validated task ids in registry order (None or empty = all), duplicates dropped."""
    if not tasks:
        return list(TASKS)
    unknown = [t for t in tasks if t not in TASKS]
    if unknown:
        raise InvalidInput(f"--task: unknown task {unknown[0]!r}; choose from {', '.join(TASKS)}")
    wanted = set(tasks)
    return [t for t in TASKS if t in wanted]


def _check_size(size: object, field: str = "--size") -> int:
    if isinstance(size, bool) or not isinstance(size, int):
        raise InvalidInput(f"{field}: must be a whole number, got {size!r}")
    if size <= 0:
        raise InvalidInput(f"{field}: must be at least 1, got {size}")
    return size


def generate_records(size: int, seed: int, tasks: Sequence[str] | None = None) -> Iterator[Record]:
    """Exactly `size` records for `seed`, streamed (constant memory), balanced over `tasks`."""
    _check_size(size)
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise InvalidInput(f"--seed: must be a whole number, got {seed!r}")
    names = resolve_tasks(tasks)
    families = [TASKS[n] for n in names]
    return _stream(size, seed, families)


def _stream(size: int, seed: int, families: list[Family]) -> Iterator[Record]:
    k = len(families)
    order = list(range(k))
    for index in range(size):
        slot = index % k
        if slot == 0:
            order = list(range(k))
            random.Random(f"{seed}:block:{index // k}").shuffle(order)
        family = families[order[slot]]
        yield family.make(random.Random(f"{seed}:{index}"))
