"""Cost of the Pine v5 check per 100 programs, against a bare pynescript parse in the same run.

Arms, each in a fresh process so the parser's warm-up (ANTLR builds its prediction tables on
the first programs a process sees) is counted as an evaluation run pays it:
- parse: pynescript's `parse` on every program (the baseline: what pineParseRate cost);
- check: `check_code` in-process (parse + semantic pass);
- pool: `check_programs` with worker processes and a time limit per program (what the
  evaluator runs), then the same programs again (answered from the cache).
Programs are the generator's PineScript answers (strategies, indicators, repairs).

    python bench/pine_check.py [--programs 100] [--workers 2] [--smoke]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def programs(n: int) -> list[str]:
    from tradetune.datagen import generate_records

    tasks = ["pine_strategy", "pine_indicator", "pine_repair"]
    return [r["response"].split("\n---\n")[0] for r in generate_records(n, 1234, tasks=tasks)]


def run_arm(arm: str, n: int, workers: int) -> dict[str, Any]:
    codes = programs(n)
    start = time.perf_counter()
    out: dict[str, Any] = {"arm": arm}
    if arm == "parse":
        from pynescript.ast import parse

        for code in codes:
            parse(code)
    elif arm == "check":
        from tradetune.evaluation.pine import check_code

        out["valid"] = sum(check_code(c).valid for c in codes)
    else:
        from tradetune.evaluation.pine import check_programs

        out["valid"] = sum(r.valid for r in check_programs(codes, workers=workers, timeout_s=600))
        out["first_s"] = time.perf_counter() - start
        again = time.perf_counter()
        check_programs(codes, workers=workers, timeout_s=600)
        out["cached_s"] = time.perf_counter() - again
    out["seconds"] = time.perf_counter() - start if arm != "pool" else out["first_s"]
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--programs", type=int, default=100)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument(
        "--smoke", action="store_true", help="2 programs: checks the script runs (the numbers mean nothing)"
    )
    ap.add_argument("--arm", help=argparse.SUPPRESS)
    args = ap.parse_args()
    n = 2 if args.smoke else args.programs
    if args.arm:
        print(json.dumps(run_arm(args.arm, n, args.workers)))
        return
    from bench._machine import describe

    print(describe())
    print(f"programs: {n}; workers: {args.workers}")
    results = {}
    for arm in ("parse", "check", "pool"):
        cmd = [sys.executable, __file__, "--arm", arm, "--programs", str(n), "--workers", str(args.workers)]
        done = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, check=True)
        results[arm] = json.loads(done.stdout.strip().splitlines()[-1])
    base = results["parse"]["seconds"]
    for arm in ("parse", "check", "pool"):
        secs = results[arm]["seconds"]
        valid = f", valid {results[arm]['valid']}/{n}" if "valid" in results[arm] else ""
        per_100 = secs * 100 / n
        print(f"{arm:6s} {secs:8.1f} s = {per_100:7.1f} s per 100 programs, {secs / base:5.2f}x parse{valid}")
    cached = results["pool"]["cached_s"]
    print(f"pool, second pass (cache): {cached * 1000:.1f} ms for {n} programs")


if __name__ == "__main__":
    main()
