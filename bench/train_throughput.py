"""Training throughput: the guide's SFT recipe against TradeTune's, same tiny model, data and steps.

Both arms run QLoRA (bitsandbytes nf4) on the CPU with TRL 1.16, the same LoRA adapter,
learning rate, schedule, batch (4 x 4), maximum length (512), seed and number of optimizer steps.
What differs is the recipe:
- guide: its SFTTrainer call - `formatting_func` text ("### Instruction ... ### Response ...")
  padded per batch, loss on every token, no packing;
- ours: prompt/completion data (loss on the response only) with padding-free BFD packing.
Tokens/s counts real (non-padding) tokens. Both final models are scored with the same
function (response-token loss on the validation split), so "final eval loss" compares like
with like. Each arm runs in its own process so its peak RSS is its own.

    python bench/train_throughput.py [--steps 8] [--train 400]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def prepare(work: Path, n_train: int) -> None:
    from tradetune.datagen import split_dataset
    from tradetune.training import build_tiny_model

    build_tiny_model(work / "base", seed=0, pretrain_steps=100)
    split_dataset(work / "data", n_train, 40, 10, 1234)


def run_arm(arm: str, work: Path, steps: int) -> dict[str, Any]:
    import torch
    from datasets import Dataset
    from peft import LoraConfig
    from transformers import AutoTokenizer, BitsAndBytesConfig
    from trl.trainer.sft_config import SFTConfig
    from trl.trainer.sft_trainer import SFTTrainer

    from tradetune.evaluation import Scored, encode_records, score
    from tradetune.progress import quiet_libraries
    from tradetune.training import read_jsonl, to_prompt_completion

    quiet_libraries()
    tok = AutoTokenizer.from_pretrained(work / "base")
    train = read_jsonl(work / "data" / "train.jsonl")
    val = read_jsonl(work / "data" / "val.jsonl")
    common: dict[str, Any] = {
        "output_dir": str(work / f"out-{arm}"),
        "max_steps": steps,
        "per_device_train_batch_size": 4,
        "gradient_accumulation_steps": 4,
        "learning_rate": 2e-4,
        "lr_scheduler_type": "cosine",
        "warmup_steps": 2,  # the guide's 100 would leave a short run at a tiny learning rate
        "max_length": 512,
        "logging_steps": 10_000,
        "save_strategy": "no",
        "eval_strategy": "no",
        "report_to": [],
        "disable_tqdm": True,
        "seed": 42,
        "use_cpu": True,
        "bf16": False,
        "fp16": False,  # the guide's fp16=True needs a GPU
        "gradient_checkpointing": True,  # TRL's default, which the guide keeps; our spec default too
        "include_num_input_tokens_seen": "non_padding",
        "model_init_kwargs": {"device_map": "cpu", "dtype": "float32"},
    }
    quant = BitsAndBytesConfig(
        load_in_4bit=True,
        bnb_4bit_quant_type="nf4",
        bnb_4bit_use_double_quant=True,
        bnb_4bit_compute_dtype=torch.float32,
    )
    lora = LoraConfig(
        r=16,
        lora_alpha=32,
        lora_dropout=0.05,
        target_modules=["q_proj", "k_proj", "v_proj", "o_proj"],
        bias="none",
        task_type="CAUSAL_LM",
    )
    if arm == "guide":

        def format_instruction(example: dict[str, str]) -> str:
            return f"### Instruction:\n{example['instruction']}\n\n### Response:\n{example['response']}"

        dataset = Dataset.from_list(
            [{"instruction": r["instruction"], "response": r["response"]} for r in train]
        )
        trainer = SFTTrainer(
            model=str(work / "base"),
            args=SFTConfig(**common, packing=False),
            train_dataset=dataset,
            processing_class=tok,
            peft_config=lora,
            quantization_config=quant,
            formatting_func=format_instruction,
        )
    else:
        dataset = Dataset.from_list(to_prompt_completion(train, tok.eos_token))
        trainer = SFTTrainer(
            model=str(work / "base"),
            args=SFTConfig(**common, packing=True, packing_strategy="bfd", completion_only_loss=True),
            train_dataset=dataset,
            processing_class=tok,
            peft_config=lora,
            quantization_config=quant,
        )
    start = time.perf_counter()
    out = trainer.train()
    seconds = time.perf_counter() - start
    tokens = int(trainer.state.num_input_tokens_seen)
    items: list[Scored] = encode_records(tok, val, max_length=512)
    sums = score(trainer.model, items, pad_id=tok.pad_token_id, batch_size=8)
    return {
        "arm": arm,
        "steps": int(out.global_step),
        "seconds": seconds,
        "tokens": tokens,
        "tokens_per_s": tokens / seconds,
        "train_loss": float(out.training_loss),
        "eval_loss": sums.response_loss,
        "eval_full_text_loss": sums.full_loss,
        "peak_rss_mib": peak_rss_mib(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--steps", type=int, default=8, help="optimizer steps per arm")
    parser.add_argument("--train", type=int, default=400, help="training records")
    parser.add_argument("--arm", choices=["guide", "ours"], help=argparse.SUPPRESS)
    parser.add_argument("--work", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.arm:
        print(json.dumps(run_arm(args.arm, args.work, args.steps)))
        return
    with tempfile.TemporaryDirectory(prefix="tradetune-bench-") as tmp:
        work = Path(tmp)
        prepare(work, args.train)
        results = {}
        for arm in ("guide", "ours"):
            cmd = [sys.executable, __file__, "--arm", arm, "--work", str(work), "--steps", str(args.steps)]
            proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
            if proc.returncode != 0:
                sys.exit(f"{arm} arm failed:\n{proc.stderr[-3000:]}")
            results[arm] = json.loads(proc.stdout.strip().splitlines()[-1])
    g, o = results["guide"], results["ours"]
    print(
        f"{'arm':<6} {'steps':>5} {'seconds':>8} {'tokens':>8} {'tok/s':>8} {'eval loss':>9} {'peak RSS':>9}"
    )
    for r in (g, o):
        print(
            f"{r['arm']:<6} {r['steps']:>5} {r['seconds']:>8.1f} {r['tokens']:>8} {r['tokens_per_s']:>8.0f} "
            f"{r['eval_loss']:>9.4f} {r['peak_rss_mib']:>6.0f} MiB"
        )
    ratio = o["tokens_per_s"] / g["tokens_per_s"]
    loss_diff = (o["eval_loss"] - g["eval_loss"]) / g["eval_loss"]
    print(f"throughput ratio (ours / guide, real tokens/s): {ratio:.2f}  (goal >= 1.5)")
    print(f"final eval loss, ours vs guide: {100 * loss_diff:+.1f}%  (goal: within 5%, lower is better)")
    print(json.dumps({"throughput_ratio": ratio, "eval_loss_rel_diff": loss_diff, "arms": results}))


if __name__ == "__main__":
    main()
