"""Parse rate of generated PineScript with pynescript, per task (a quality check, not a test).

    python scripts/pine_parse_rate.py [--size 2000] [--seed 7]

Generates `size` records of the PineScript-writing tasks (the program part of pine_repair,
before the `---` line) plus the programs inside strategy_explanation instructions, parses each
with pynescript and prints the share that parses. The tests parse one program per template
shape; this measures a larger random sample.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tradetune.datagen import generate_records


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    from pynescript.ast import parse

    parse('//@version=5\nindicator("warm-up")\nplot(close)\n')
    total: Counter[str] = Counter()
    ok: Counter[str] = Counter()
    start = time.perf_counter()
    tasks = ["pine_strategy", "pine_indicator", "pine_repair", "strategy_explanation"]
    for rec in generate_records(args.size, args.seed, tasks):
        task = rec["task"]
        if task == "strategy_explanation":
            code = rec["instruction"].split("\n\n", 1)[1]
        else:
            code = rec["response"].split("\n---\n")[0]
        total[task] += 1
        try:
            parse(code)
            ok[task] += 1
        except Exception as exc:  # pynescript's own SyntaxError types
            print(f"{task} {rec['id']}: {str(exc).splitlines()[0]}")
    for task in tasks:
        print(f"{task:22s} {ok[task]:5d} / {total[task]:5d} parse ({ok[task] / max(total[task], 1):.2%})")
    n, good = sum(total.values()), sum(ok.values())
    print(f"{'all':22s} {good:5d} / {n:5d} parse ({good / n:.2%}) in {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
