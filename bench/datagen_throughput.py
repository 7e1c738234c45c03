"""Dataset generator throughput and memory, against the I/O floor measured in the same run.

The floor is json.dumps-writing the very same records (already in memory) to a file: what any
generator must pay at least. Printed: records/s for 10,000 records (best of three runs) and for
1,000,000 records streamed to disk, the ratio of our time to the floor's (lower is better; the
goal is <= 5x), and the peak RSS of the streaming run, measured in a child process that does
nothing else (resource.getrusage, so the parent's own buffers do not count).

    python bench/datagen_throughput.py [--big 1000000] [--small 10000] [--seed 42]
    python bench/datagen_throughput.py --smoke    # tiny sizes, seconds: checks the bench runs
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from itertools import islice
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._machine import describe
from tradetune.datagen import generate_records, write_jsonl


def floor_seconds(records: list[dict[str, object]], path: Path) -> float:
    """json.dumps each record and write it: the I/O floor for these records."""
    start = time.perf_counter()
    with path.open("w", encoding="utf-8") as fh:
        for rec in records:
            fh.write(json.dumps(rec, ensure_ascii=False) + "\n")
    return time.perf_counter() - start


def child_stream(size: int, seed: int, path: str) -> None:
    start = time.perf_counter()
    n = write_jsonl(generate_records(size, seed), path)
    elapsed = time.perf_counter() - start
    rss_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    print(json.dumps({"records": n, "seconds": elapsed, "peak_rss_mib": rss_kib / 1024}))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--small", type=int, default=10_000)
    ap.add_argument("--big", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--smoke", action="store_true", help="tiny sizes (seconds); the numbers mean nothing")
    ap.add_argument("--child", nargs=2, metavar=("SIZE", "PATH"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child_stream(int(args.child[0]), args.seed, args.child[1])
        return
    if args.smoke:
        args.small, args.big = 200, 2_000
    print(describe())

    with tempfile.TemporaryDirectory(prefix="datagen-bench-") as tmp:
        d = Path(tmp)
        # 10k: ours (generate + write), then the floor on the same records; best of three each,
        # so a busy machine's noise hits both sides alike.
        ours_runs = []
        for _ in range(3):
            start = time.perf_counter()
            write_jsonl(generate_records(args.small, args.seed), d / "ours.jsonl")
            ours_runs.append(time.perf_counter() - start)
        records = [dict(r) for r in generate_records(args.small, args.seed)]
        floor = min(floor_seconds(records, d / "floor.jsonl") for _ in range(3))
        ours = min(ours_runs)
        assert (d / "ours.jsonl").read_bytes() == (d / "floor.jsonl").read_bytes(), "not the same records"
        print(
            f"{args.small:>9,} records: {args.small / ours:>9,.0f} records/s ({ours:.2f} s, best of 3); "
            f"floor {args.small / floor:,.0f} records/s; ratio {ours / floor:.2f}x"
        )
        del records

        # 1M streamed in a clean child process (peak RSS is the child's own).
        out = subprocess.run(
            [
                sys.executable,
                __file__,
                "--seed",
                str(args.seed),
                "--child",
                str(args.big),
                str(d / "big.jsonl"),
            ],
            check=True,
            capture_output=True,
            text=True,
        )
        result = json.loads(out.stdout)
        size_mib = os.path.getsize(d / "big.jsonl") / 2**20
        os.unlink(d / "big.jsonl")
        # Floor for the same 1M records: generate in untimed chunks, time only dumps + write.
        floor_big = 0.0
        stream = generate_records(args.big, args.seed)
        with (d / "floor_big.jsonl").open("w", encoding="utf-8") as fh:
            while chunk := [dict(r) for r in islice(stream, 20_000)]:
                start = time.perf_counter()
                for rec in chunk:
                    fh.write(json.dumps(rec, ensure_ascii=False) + "\n")
                floor_big += time.perf_counter() - start
        print(
            f"{result['records']:>9,} records streamed: "
            f"{result['records'] / result['seconds']:>9,.0f} records/s "
            f"({result['seconds']:.1f} s, {size_mib:,.0f} MiB); floor {args.big / floor_big:,.0f} records/s; "
            f"ratio {result['seconds'] / floor_big:.2f}x; peak RSS {result['peak_rss_mib']:.0f} MiB"
        )


if __name__ == "__main__":
    main()
