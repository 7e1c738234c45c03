"""The trading dataset generator: task families, synthetic OHLCV, PineScript templates.

Public face (everything else in this package is private and may change):

    generate_records(size, seed, tasks=None) -> Iterator[Record]   exactly `size` records, streamed
    TASKS: dict[task id, Family]            .name, .category, .template_count, .make(rng), .capacity()
    write_jsonl(records, path, fmt="alpaca"|"openai"|"autotrain") -> int   atomic (temp file + rename)
    split_dataset(out_dir, train, val, test, seed, tasks=None) -> manifest dict   leak-free splits
    plan_split(train, val, test, seed, tasks=None) -> records per task per split (validates only)
    compute_stats(records) -> DatasetStats
    extract_answer(text), answers_match(predicted, expected)   (also in tradetune.datagen.answers)

Reading a dataset, in any shape, is tradetune.records.read_jsonl (one reader for every part).
Records follow docs/contracts.md: id, instruction, response, task, category, meta.
"""

from tradetune.datagen._base import (
    CATEGORIES,
    Family,
    Record,
    instruction_key,
    normalise_instruction,
    record_id,
)
from tradetune.datagen._core import GENERATOR_VERSION, TASKS, generate_records, resolve_tasks
from tradetune.datagen._io import write_jsonl
from tradetune.datagen._split import SPLITS, plan_split, split_dataset
from tradetune.datagen._stats import DatasetStats, compute_stats
from tradetune.datagen.answers import answers_match, extract_answer
from tradetune.records import FORMATS

__all__ = [
    "CATEGORIES",
    "FORMATS",
    "GENERATOR_VERSION",
    "SPLITS",
    "TASKS",
    "DatasetStats",
    "Family",
    "Record",
    "answers_match",
    "compute_stats",
    "extract_answer",
    "generate_records",
    "instruction_key",
    "normalise_instruction",
    "plan_split",
    "record_id",
    "resolve_tasks",
    "split_dataset",
    "write_jsonl",
]
