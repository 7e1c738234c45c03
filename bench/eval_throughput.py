"""Evaluation throughput: our batched perplexity against the guide's one-at-a-time loop.

The guide's `compute_perplexity` feeds one example at a time and weights each example's mean
loss by its input length (which counts the first, never-predicted token). Three numbers are
measured on the same >= 500 texts (the guide's own "instruction\\nresponse" format) and model:
- guide: its loop and weighting, timed;
- guide, equal weighting: its loop, weighted by predicted tokens (len - 1) instead;
- ours: `tradetune.evaluation.score`, batched (length-sorted, padding masked), timed.
"ours" must equal "guide, equal weighting" (within 1e-3) and be >= 3x faster. Each arm runs in
its own process so its peak RSS is its own.

    python bench/eval_throughput.py [--items 500] [--batch-size 16]
    python bench/eval_throughput.py --smoke      # 8 items, seconds: checks the bench runs
"""

from __future__ import annotations

import argparse
import json
import math
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench._machine import describe  # noqa: E402


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def texts(n: int) -> list[str]:
    from tradetune.datagen import generate_records

    return [f"{r['instruction']}\n{r['response']}" for r in generate_records(n, 4321)]


def run_arm(arm: str, model_dir: Path, n: int, batch_size: int) -> dict[str, Any]:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from tradetune.evaluation import Scored, score

    torch.set_num_threads(torch.get_num_threads())
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32)
    model.eval()
    data = texts(n)
    start = time.perf_counter()
    if arm == "guide":
        # The guide's loop, verbatim in substance; the equal-weighting sums ride along.
        total_loss = 0.0
        total_tokens = 0
        equal_loss = 0.0
        equal_tokens = 0
        with torch.no_grad():
            for text in data:
                inputs = tokenizer(text, return_tensors="pt")
                outputs = model(**inputs, labels=inputs["input_ids"])
                total_loss += outputs.loss.item() * inputs["input_ids"].size(1)
                total_tokens += inputs["input_ids"].size(1)
                equal_loss += outputs.loss.item() * (inputs["input_ids"].size(1) - 1)
                equal_tokens += inputs["input_ids"].size(1) - 1
        seconds = time.perf_counter() - start
        return {
            "arm": arm,
            "seconds": seconds,
            "perplexity_guide_weighting": math.exp(total_loss / total_tokens),
            "perplexity_equal_weighting": math.exp(equal_loss / equal_tokens),
            "tokens": equal_tokens,
            "peak_rss_mib": peak_rss_mib(),
        }
    items = [Scored(ids=tokenizer(t)["input_ids"], first_target=1) for t in data]
    sums = score(model, items, pad_id=tokenizer.pad_token_id, batch_size=batch_size)
    seconds = time.perf_counter() - start  # tokenization included, as in the guide's loop
    return {
        "arm": arm,
        "seconds": seconds,
        "perplexity_equal_weighting": sums.full_text_perplexity,
        "tokens": sums.full_tokens,
        "peak_rss_mib": peak_rss_mib(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--items", type=int, default=500)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=2, help="interleaved runs per arm; fastest counts")
    parser.add_argument("--smoke", action="store_true", help="8 items; the numbers mean nothing")
    parser.add_argument("--arm", choices=["guide", "ours"], help=argparse.SUPPRESS)
    parser.add_argument("--model", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.arm:
        print(json.dumps(run_arm(args.arm, args.model, args.items, args.batch_size)))
        return
    if args.smoke:
        args.items, args.batch_size, args.repeats = 8, 4, 1
    from tradetune.training import build_tiny_model

    print(describe(with_torch=True))
    with tempfile.TemporaryDirectory(prefix="tradetune-bench-") as tmp:
        model = build_tiny_model(Path(tmp) / "base", seed=0, pretrain_steps=0 if args.smoke else 50)
        results: dict[str, dict[str, Any]] = {}
        for _ in range(args.repeats):  # interleaved, best of N: the machine may be shared
            for arm in ("guide", "ours"):
                cmd = [
                    sys.executable, __file__, "--arm", arm, "--model", str(model),
                    "--items", str(args.items), "--batch-size", str(args.batch_size),
                ]  # fmt: skip
                proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
                if proc.returncode != 0:
                    sys.exit(f"{arm} arm failed:\n{proc.stderr[-3000:]}")
                got = json.loads(proc.stdout.strip().splitlines()[-1])
                if arm not in results or got["seconds"] < results[arm]["seconds"]:
                    results[arm] = got
    g, o = results["guide"], results["ours"]
    ratio = g["seconds"] / o["seconds"]
    diff = abs(o["perplexity_equal_weighting"] - g["perplexity_equal_weighting"])
    print(f"items: {args.items}, predicted tokens: {o['tokens']}")
    print(
        f"guide loop:   {g['seconds']:7.2f} s  perplexity {g['perplexity_guide_weighting']:.5f} "
        f"(its weighting), {g['perplexity_equal_weighting']:.5f} (per predicted token)  "
        f"peak RSS {g['peak_rss_mib']:.0f} MiB"
    )
    print(
        f"ours batched: {o['seconds']:7.2f} s  perplexity {o['perplexity_equal_weighting']:.5f} "
        f"(per predicted token)  peak RSS {o['peak_rss_mib']:.0f} MiB"
    )
    print(f"speed ratio (guide s / ours s): {ratio:.2f}  (goal >= 3)")
    print(f"|ours - guide| at equal weighting: {diff:.2e}  (goal <= 1e-3)")
    print(json.dumps({"speed_ratio": ratio, "abs_diff": diff, "arms": results}))


if __name__ == "__main__":
    main()
