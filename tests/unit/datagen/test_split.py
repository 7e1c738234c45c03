"""Leak-free splits: counts, checksums, zero overlap, refusals that leave nothing behind."""

from __future__ import annotations

import hashlib
import json
import random
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from tradetune.datagen import (
    GENERATOR_VERSION,
    TASKS,
    Family,
    generate_records,
    normalise_instruction,
    split_dataset,
)
from tradetune.datagen import _split as split_mod
from tradetune.errors import InvalidInput


def _instructions(path: Path) -> list[str]:
    return [normalise_instruction(json.loads(line)["instruction"]) for line in path.read_text().splitlines()]


def test_split_writes_files_manifest_and_no_overlap(tmp_path: Path) -> None:
    out = tmp_path / "data"
    manifest = split_dataset(out, 300, 60, 60, seed=42)
    assert sorted(p.name for p in out.iterdir()) == [
        "manifest.json",
        "test.jsonl",
        "train.jsonl",
        "val.jsonl",
    ]
    assert json.loads((out / "manifest.json").read_text()) == manifest
    assert manifest["seed"] == 42 and manifest["generator_version"] == GENERATOR_VERSION
    sets = {}
    for split, n in (("train", 300), ("val", 60), ("test", 60)):
        info = manifest["splits"][split]
        path = out / info["file"]
        assert info["records"] == n
        assert info["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
        records = [json.loads(line) for line in path.read_text().splitlines()]
        assert len(records) == n
        assert Counter(r["task"] for r in records) == Counter(info["by_task"])
        assert sum(info["by_task"].values()) == n
        assert set(info["by_task"]) == set(TASKS)
        instructions = _instructions(path)
        assert len(set(instructions)) == n  # no duplicate inside a split either
        sets[split] = set(instructions)
    # Measured independently of the generator's own bookkeeping:
    assert (
        not sets["train"] & sets["val"]
        and not sets["train"] & sets["test"]
        and not sets["val"] & sets["test"]
    )
    assert manifest["overlap"] == {"train_val": 0, "train_test": 0, "val_test": 0}


def test_split_is_deterministic(tmp_path: Path) -> None:
    a = split_dataset(tmp_path / "a", 50, 10, 10, seed=7, tasks=["indicator_math", "market_structure"])
    b = split_dataset(tmp_path / "b", 50, 10, 10, seed=7, tasks=["indicator_math", "market_structure"])
    c = split_dataset(tmp_path / "c", 50, 10, 10, seed=8, tasks=["indicator_math", "market_structure"])
    for split in ("train", "val", "test"):
        assert a["splits"][split]["sha256"] == b["splits"][split]["sha256"]
        assert a["splits"][split]["sha256"] != c["splits"][split]["sha256"]


def test_three_seeds_leak_but_split_does_not(tmp_path: Path) -> None:
    """The guide's recipe (independent seeds per split) repeats templated instructions."""
    tasks = ["candlestick_knowledge", "market_structure"]
    train = {normalise_instruction(r["instruction"]) for r in generate_records(3000, 42, tasks)}
    test = [normalise_instruction(r["instruction"]) for r in generate_records(300, 777, tasks)]
    leaked = sum(t in train for t in test)
    assert leaked > 0
    manifest = split_dataset(tmp_path / "s", 3000, 300, 300, seed=42, tasks=tasks)
    assert set(manifest["overlap"].values()) == {0}


def test_capacity_refusal_names_the_family_and_creates_nothing(tmp_path: Path) -> None:
    cap = TASKS["candlestick_knowledge"].capacity()
    assert cap is not None
    out = tmp_path / "new"
    with pytest.raises(InvalidInput, match="candlestick_knowledge"):
        split_dataset(out, cap, 1, 1, seed=1, tasks=["candlestick_knowledge"])
    assert not out.exists()


class _Tiny(Family):
    name = "tiny"
    category = "knowledge"
    description = "only three distinct instructions"
    templates = ("question {x}",)

    def build(self, rng: random.Random) -> tuple[str, str, dict[str, Any]]:
        x = rng.randint(1, 3)
        return f"question {x}", f"answer {x}", {}


def test_family_that_runs_dry_is_refused_and_leaves_no_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(TASKS, "tiny", _Tiny())
    monkeypatch.setattr(split_mod, "_MAX_MISSES", 200)
    out = tmp_path / "existing"
    out.mkdir()
    with pytest.raises(InvalidInput, match="'tiny'"):
        split_dataset(out, 2, 1, 1, seed=1, tasks=["tiny"])
    assert list(out.iterdir()) == []


@pytest.mark.parametrize(
    ("sizes", "flag"), [((0, 1, 1), "--train"), ((5, -1, 1), "--val"), ((5, 1, 0), "--test")]
)
def test_bad_sizes(tmp_path: Path, sizes: tuple[int, int, int], flag: str) -> None:
    with pytest.raises(InvalidInput, match=flag):
        split_dataset(tmp_path / "x", *sizes, seed=1)
    assert not (tmp_path / "x").exists()
