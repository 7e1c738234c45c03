"""The determinism contract across processes: same seed, same bytes, whatever the hash seed.

The in-process tests cannot see an output that depends on Python's per-process string hash
(iterating a set of labels, say); two `tradetune` processes with different PYTHONHASHSEED
values can. The split's manifest names the generator version, and `dataset stats` on the
result reports multi-answer items only for the task that declares them.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tradetune.datagen import GENERATOR_VERSION, TASKS

ROOT = Path(__file__).resolve().parents[3]


def _tradetune(args: list[str], hash_seed: str) -> str:
    env = {**os.environ, "PYTHONHASHSEED": hash_seed}
    done = subprocess.run(
        [sys.executable, "-m", "tradetune", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_split_bytes_do_not_depend_on_the_process(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    sizes = ["--train", "300", "--val", "60", "--test", "60", "--seed", "7"]
    _tradetune(["dataset", "split", "--out", str(a), *sizes], hash_seed="1")
    _tradetune(["dataset", "split", "--out", str(b), *sizes], hash_seed="2")
    for name in ("train.jsonl", "val.jsonl", "test.jsonl", "manifest.json"):
        assert (a / name).read_bytes() == (b / name).read_bytes(), name
    assert json.loads((a / "manifest.json").read_text())["generator_version"] == GENERATOR_VERSION

    stats = json.loads(_tradetune(["dataset", "stats", str(a / "train.jsonl"), "--json"], hash_seed="3"))
    several = {task: s["multiple_valid_answers"] for task, s in stats["by_task"].items()}
    declaring = {"pattern_recognition", "candle_reading"}  # the families with multi_answer = True
    assert declaring == {name for name, family in TASKS.items() if family.multi_answer}
    assert all(several.pop(task) > 0 for task in declaring)
    assert set(several.values()) == {0}
    assert stats["undeclared_multi_answer_tasks"] == []
