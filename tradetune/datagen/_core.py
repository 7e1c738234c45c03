"""The family registry and the record stream.

Determinism: records come in blocks of len(tasks). Block `b` of a run with seed `s` is drawn
from a `random.Random` seeded with an integer that encodes (s, b) one-to-one (Mersenne Twister
seeding is the same on every platform and Python run): it first shuffles the task order, then
draws the block's records in turn. So a block needs no state from other blocks, a shorter run
is a prefix of a longer one, and the same arguments always give the same bytes.

Task mix: each block holds every task once in its shuffled order, so any prefix of the stream
is balanced across tasks (counts differ by at most one) without looking periodic.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence

from tradetune.datagen._base import Family, Record
from tradetune.datagen._fam_chart import IndicatorMath, PatternRecognition
from tradetune.datagen._fam_knowledge import CandlestickKnowledge, MarketStructure
from tradetune.datagen._fam_pine import PineIndicator, PineRepair, PineStrategy, StrategyExplanation
from tradetune.datagen._fam_reading import CandleReading
from tradetune.datagen._fam_risk import BacktestStats, PositionSizing
from tradetune.errors import InvalidInput

__all__ = ["GENERATOR_VERSION", "TASKS", "generate_records", "resolve_tasks"]

# Bump when the records for a given (size, seed, tasks) change; it lands in manifest.json.
GENERATOR_VERSION = "1.2.0"

_FAMILIES: tuple[Family, ...] = (
    PineStrategy(),
    PineIndicator(),
    PineRepair(),
    CandlestickKnowledge(),
    PatternRecognition(),
    CandleReading(),
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
    if size >= 1 << 48:
        raise InvalidInput(f"{field}: must be below 2**48, got {size}")
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
    rng = random.Random()
    order = list(range(k))
    for index in range(size):
        slot = index % k
        if slot == 0:
            # One generator per block of k records: seeding is a large share of the cost of a
            # record, and a block is still independent of every other block.
            rng.seed(_block_key(seed, index // k))
            order = list(range(k))
            rng.shuffle(order)
        yield families[order[slot]].make(rng)


def _block_key(seed: int, block: int) -> int:
    """A distinct non-negative integer per (seed, block); `random.Random` ignores an int's sign."""
    zigzag = seed * 2 if seed >= 0 else -seed * 2 - 1
    return (zigzag << 48) | block
