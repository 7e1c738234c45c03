"""Serving throughput: vLLM (tradetune serve) against transformers' generate, same model and prompts.

32 prompts, 128 new tokens each (EOS ignored on both sides, so both produce exactly the same
number of tokens), float32 on both sides. vLLM gets the 32 requests concurrently through the
official openai client; transformers gets them as one padded batch to `generate`, its best
case. Prints tokens/s of both and the ratio.

    python bench/serve_throughput.py [--requests 32] [--new-tokens 128] [--pretrain-steps 100]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._machine import describe
from tradetune.prompt import format_prompt

INSTRUCTIONS = [
    "Write a PineScript v5 strategy for an EMA crossover with {a} and {b} periods.",
    "Explain the hammer candlestick pattern on a {a}-minute chart.",
    "Compute the position size for a ${a}000 account risking {b}% with a 2% stop.",
    "What does an RSI of {a} with a {b}-period lookback tell a trader?",
]


def prompts(n: int) -> list[str]:
    return [format_prompt(INSTRUCTIONS[i % len(INSTRUCTIONS)].format(a=5 + i, b=20 + i)) for i in range(n)]


def bench_transformers(model_dir: Path, texts: list[str], new_tokens: int) -> dict[str, tuple[int, float]]:
    """Two baselines: one `generate` per request (what the guide's FastAPI /generate server
    does with concurrent requests) and all prompts in one padded batch (generate's best case)."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(model_dir, padding_side="left")
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32).eval()
    fixed = {"max_new_tokens": new_tokens, "min_new_tokens": new_tokens, "do_sample": False}
    results: dict[str, tuple[int, float]] = {}
    with torch.inference_mode():
        model.generate(**tokenizer(texts[:2], return_tensors="pt", padding=True), max_new_tokens=4)  # warm-up
        start = time.perf_counter()
        tokens = 0
        for text in texts:
            single = tokenizer(text, return_tensors="pt")
            out = model.generate(**single, **fixed)
            tokens += int(out.shape[1] - single["input_ids"].shape[1])
        results["per_request"] = (tokens, time.perf_counter() - start)
        batch = tokenizer(texts, return_tensors="pt", padding=True)
        start = time.perf_counter()
        out = model.generate(**batch, **fixed)
        results["batched"] = (
            int((out.shape[1] - batch["input_ids"].shape[1]) * out.shape[0]),
            time.perf_counter() - start,
        )
    return results


async def _vllm_requests(
    base_url: str, name: str, texts: list[str], new_tokens: int, rounds: int = 3
) -> tuple[int, float]:
    from openai import AsyncOpenAI

    client = AsyncOpenAI(base_url=f"{base_url}/v1", api_key="EMPTY", timeout=600)
    extra = {"ignore_eos": True}
    await client.completions.create(model=name, prompt=texts[0], max_tokens=4, extra_body=extra)  # warm-up
    start = time.perf_counter()
    results = await asyncio.gather(
        *[
            client.completions.create(
                model=name, prompt=t, max_tokens=new_tokens, temperature=0, extra_body=extra
            )
            for t in texts
        ]
    )
    elapsed = time.perf_counter() - start
    await client.close()
    return sum(r.usage.completion_tokens for r in results if r.usage), elapsed


def bench_vllm(model_dir: Path, texts: list[str], new_tokens: int, cache: Path) -> tuple[int, float]:
    import os

    from tradetune.serving import ServeOptions, VLLMServer, free_port, prepare

    options = prepare(
        ServeOptions(model=str(model_dir), served_model_name="bench", port=free_port(), dtype="float32")
    )
    env = {**os.environ, "VLLM_CACHE_ROOT": str(cache)}
    with VLLMServer(options, env=env, log_file=cache / "vllm.log") as server:
        server.wait_ready(timeout=900)
        return asyncio.run(_vllm_requests(server.base_url, "bench", texts, new_tokens))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=32)
    parser.add_argument("--new-tokens", type=int, default=128)
    parser.add_argument("--pretrain-steps", type=int, default=100)
    parser.add_argument("--model", type=Path, help="serve this model dir instead of building a tiny one")
    parser.add_argument("--smoke", action="store_true", help="2 short requests; the numbers mean nothing")
    args = parser.parse_args()
    if args.smoke:
        args.requests, args.new_tokens, args.pretrain_steps = 2, 4, 0

    from tradetune.training import build_tiny_model

    with tempfile.TemporaryDirectory(prefix="tradetune-bench-") as tmp:
        root = Path(tmp)
        model_dir = args.model or build_tiny_model(root / "tiny", seed=0, pretrain_steps=args.pretrain_steps)
        texts = prompts(args.requests)
        hf = bench_transformers(model_dir, texts, args.new_tokens)
        vl_tokens, vl_s = bench_vllm(model_dir, texts, args.new_tokens, root)
    vl_rate = vl_tokens / vl_s
    rates = {k: t / s for k, (t, s) in hf.items()}
    print(describe(with_torch=True))
    print(f"requests={args.requests} new_tokens={args.new_tokens} dtype=float32")
    for key, label in (("per_request", "one generate per request"), ("batched", "one padded batch")):
        tokens, secs = hf[key]
        print(f"transformers, {label:25s} {tokens} tokens {secs:7.2f} s {rates[key]:9,.0f} tokens/s")
    label = f"{args.requests} concurrent requests"
    print(f"vLLM, {label:33s} {vl_tokens} tokens {vl_s:7.2f} s {vl_rate:9,.0f} tokens/s")
    print(f"ratio vLLM / transformers per request: {vl_rate / rates['per_request']:.1f}x (aim >= 5x)")
    print(f"ratio vLLM / transformers one batch:   {vl_rate / rates['batched']:.1f}x")


if __name__ == "__main__":
    main()
