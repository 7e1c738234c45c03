"""Generations kept for human rating on the guide's 1-5 scale (JSONL and CSV).

The sample is drawn with a seeded RNG from the evaluated items, so two runs on the same data
rate the same examples and their scores can be compared.
"""

from __future__ import annotations

import csv
import io
import json
import random
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from tradetune.atomic import write_atomic

RATING_GUIDE = """# Rating the samples

`samples.csv` and `samples.jsonl` hold a reproducible random sample of the test items with the
reference answer and the model's generation (and the base model's, when it was evaluated).
Fill the empty `rating` column with a whole number from 1 to 5:

| rating | meaning |
| --- | --- |
| 1 | Incorrect or nonsensical |
| 2 | Partially correct |
| 3 | Correct but generic |
| 4 | Correct and specific |
| 5 | Excellent, actionable |

Rate the `generation` against the `instruction`; the `reference` is one correct answer, not
the only one. The average rating is the human score of the model.
"""

CSV_COLUMNS = ["id", "task", "instruction", "reference", "generation", "base_generation", "rating"]


def pick_samples(n_items: int, k: int, *, seed: int = 0) -> list[int]:
    """Indices of a reproducible random sample of `k` items (all items when fewer), sorted."""
    if k <= 0 or n_items <= 0:
        return []
    if k >= n_items:
        return list(range(n_items))
    return sorted(random.Random(seed).sample(range(n_items), k))


def sample_rows(
    records: Sequence[Mapping[str, Any]],
    indices: Sequence[int],
    generations: Mapping[int, str],
    base_generations: Mapping[int, str] | None = None,
) -> list[dict[str, Any]]:
    """One row per sampled item: what a rater needs to see."""
    rows = []
    for i in indices:
        r = records[i]
        row: dict[str, Any] = {
            "id": r.get("id", str(i)),
            "task": r.get("task", ""),
            "instruction": r["instruction"],
            "reference": r["response"],
            "generation": generations.get(i, ""),
        }
        if base_generations is not None:
            row["base_generation"] = base_generations.get(i, "")
        rows.append(row)
    return rows


def write_samples(rows: Sequence[Mapping[str, Any]], directory: Path) -> Path:
    """Write samples.jsonl, samples.csv (empty `rating` column) and samples.md; returns the JSONL path."""
    jsonl = "".join(json.dumps(dict(r), ensure_ascii=False) + "\n" for r in rows)
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=CSV_COLUMNS, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for r in rows:
        writer.writerow({**{c: "" for c in CSV_COLUMNS}, **r, "rating": ""})
    write_atomic(directory / "samples.jsonl", jsonl.encode())
    write_atomic(directory / "samples.csv", buf.getvalue().encode())
    write_atomic(directory / "samples.md", RATING_GUIDE.encode())
    return directory / "samples.jsonl"
