"""Training throughput: the guide's SFT recipe against TradeTune's, same tiny model, data and steps.

Every arm runs QLoRA (bitsandbytes nf4) on the CPU with TRL 1.16, the same LoRA adapter,
learning rate, schedule, batch (4 x 4), maximum length (512), seed and number of optimizer steps.
What differs is the recipe:
- guide: its SFTTrainer call - `formatting_func` text ("### Instruction ... ### Response ...")
  padded per batch, loss on every token, no packing, gradient checkpointing off (the guide
  builds transformers' TrainingArguments, where it defaults to off);
- ours: the SFTConfig tradetune's trainer builds (tradetune.training.sft_config_kwargs):
  prompt/completion data (loss on the response only), padding-free BFD packing with each
  packed bin a row of the micro-batch on CPU (tradetune.training.PackedRowsCollator: a
  quarter of the attention cost of TRL's one flattened row of 4 bins), an LM head that
  scores only the response's positions
  (tradetune.training.patch_trl_to_score_labelled_only_on_cpu; TRL does so on CUDA only), and
  gradient checkpointing off - it trades compute for memory, and the
  trainer turns it on by itself when a run hits out-of-memory (tradetune.training.add_speedups
  applies the first two to the trainer);
- ours+ckpt: the same with gradient checkpointing on (the spec's default), for transparency;
- defaults: what a FineTuneJob that sets nothing runs - the spec's defaults exactly (packing
  off, gradient checkpointing on, batch 4 x 4, maxSeqLength 512) through tradetune's trainer
  setup; only the step count, learning rate and warm-up are the bench's shared values.
The learning rate is 1e-3 rather than the guide's 2e-4 (tuned for 7B models) so a short run on
the tiny model moves the loss; all arms share it. Tokens/s counts real (non-padding) tokens as
the Trainer feeds them to the model (its `num_input_tokens_seen`). Both final models are
scored with the same function (response-token loss on the validation split), so "final eval
loss" compares like with like.
Each arm runs in its own process so its peak RSS is its own.

Every arm prints its eval loss on the response tokens and on the full text (prompt included):
packing changes which tokens the model attends to, so both are shown. The first line names the
CPU and its SIMD features: the CPU-only speed-ups (packed rows, the LM-head patch) are measured
on it and do nothing on CUDA.

    python bench/train_throughput.py [--steps 10] [--train 800] [--arms guide,defaults,ours,ours+ckpt]
    python bench/train_throughput.py --smoke      # one step per arm, seconds: checks the bench runs
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

from bench._machine import describe  # noqa: E402


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


ARMS = ("guide", "defaults", "ours", "ours+ckpt")


def prepare(work: Path, n_train: int, *, pretrain_steps: int = 100, n_val: int = 40) -> None:
    from tradetune.datagen import split_dataset
    from tradetune.training import build_tiny_model

    build_tiny_model(work / "base", seed=0, pretrain_steps=pretrain_steps)
    split_dataset(work / "data", n_train, n_val, 10, 1234)


def run_arm(arm: str, work: Path, steps: int) -> dict[str, Any]:
    import torch
    from datasets import Dataset
    from peft import LoraConfig
    from transformers import AutoTokenizer, BitsAndBytesConfig
    from trl.trainer.sft_config import SFTConfig
    from trl.trainer.sft_trainer import SFTTrainer

    from tradetune.api import FineTuneJobSpec
    from tradetune.evaluation import Scored, encode_records, score
    from tradetune.progress import quiet_libraries
    from tradetune.records import read_jsonl
    from tradetune.training import (
        add_speedups,
        initial_memory,
        resolve_precision,
        sft_config_kwargs,
        to_prompt_completion,
    )
    from tradetune.training.plan import model_init_kwargs

    quiet_libraries()
    tok = AutoTokenizer.from_pretrained(work / "base")
    train = read_jsonl(work / "data" / "train.jsonl")
    val = read_jsonl(work / "data" / "val.jsonl")
    common: dict[str, Any] = {
        "output_dir": str(work / f"out-{arm}"),
        "max_steps": steps,
        "per_device_train_batch_size": 4,
        "gradient_accumulation_steps": 4,
        "learning_rate": 1e-3,
        "lr_scheduler_type": "cosine",
        "warmup_steps": 2,  # the guide's 100 would leave a short run at a tiny learning rate
        "max_length": 512,
        "logging_steps": 10_000,
        "save_strategy": "no",
        "eval_strategy": "no",
        "report_to": [],
        "include_num_input_tokens_seen": "non_padding",  # the Trainer counts what it feeds the model
        "disable_tqdm": True,
        "seed": 42,
        "use_cpu": True,
        "bf16": False,
        "fp16": False,  # the guide's fp16=True needs a GPU
        # The guide passes transformers' TrainingArguments, whose default is off; only ours+ckpt has it on.
        "gradient_checkpointing": arm == "ours+ckpt",
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
    else:  # defaults, ours, ours+ckpt: the SFTConfig tradetune's trainer builds for this spec on this CPU
        training: dict[str, Any] = {
            "maxSteps": steps,
            "learningRate": common["learning_rate"],
            "warmupSteps": common["warmup_steps"],
            "evalSteps": 10_000,
            "saveSteps": 10_000,
            "loggingSteps": 10_000,
        }
        if arm != "defaults":  # "defaults" leaves packing, checkpointing and lengths to the spec
            training.update(
                maxSeqLength=common["max_length"],
                packing=True,
                gradientCheckpointing=common["gradient_checkpointing"],
            )
        spec = FineTuneJobSpec.model_validate(
            {
                "baseModel": {"path": str(work / "base")},
                "dataset": {"path": str(work / "data")},
                "training": training,
            }
        )
        precision = resolve_precision(spec, cuda=False, bf16_supported=False)
        kwargs = sft_config_kwargs(
            spec,
            initial_memory(spec),
            precision,
            work / f"out-{arm}",
            init_kwargs=model_init_kwargs(spec, precision, None),
        )
        kwargs.update(eval_strategy="no", save_strategy="no")
        dataset = Dataset.from_list(to_prompt_completion(train, tok.eos_token))
        trainer = SFTTrainer(
            model=str(work / "base"),
            args=SFTConfig(**kwargs),
            train_dataset=dataset,
            processing_class=tok,
            peft_config=lora,
            quantization_config=quant,
        )
        add_speedups(trainer, spec, precision)
    start = time.perf_counter()
    out = trainer.train()
    seconds = time.perf_counter() - start
    tokens = int(trainer.state.num_input_tokens_seen)
    items: list[Scored] = encode_records(tok, val, max_length=512)
    sums = score(trainer.model, items, pad_id=tok.pad_token_id, batch_size=8)
    knobs = (
        {"packing": False, "gradient_checkpointing": False}
        if arm == "guide"
        else {
            "packing": spec.training.packing,
            "gradient_checkpointing": spec.training.gradient_checkpointing,
        }
    )
    return {
        "arm": arm,
        **knobs,
        "steps": int(out.global_step),
        "seconds": seconds,
        "tokens": tokens,
        "tokens_per_s": tokens / seconds,
        "train_loss": float(out.training_loss),
        "eval_loss": sums.response_loss,
        "eval_full_text_loss": sums.full_loss,
        "peak_rss_mib": peak_rss_mib(),
    }


def onoff(flag: bool) -> str:
    return "on" if flag else "off"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--steps", type=int, default=10, help="optimizer steps per arm")
    parser.add_argument("--train", type=int, default=800, help="training records")
    parser.add_argument("--arms", default=",".join(ARMS), help="comma-separated arms to run")
    parser.add_argument("--repeats", type=int, default=2, help="runs per arm (the fastest counts)")
    parser.add_argument("--smoke", action="store_true", help="one step per arm; the numbers mean nothing")
    parser.add_argument("--arm", choices=ARMS, help=argparse.SUPPRESS)
    parser.add_argument("--work", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.arm:
        print(json.dumps(run_arm(args.arm, args.work, args.steps)))
        return
    if args.smoke:
        args.steps, args.train, args.repeats = 1, 16, 1
    print(describe(with_torch=True))
    with tempfile.TemporaryDirectory(prefix="tradetune-bench-") as tmp:
        work = Path(tmp)
        prepare(work, args.train, **({"pretrain_steps": 0, "n_val": 8} if args.smoke else {}))
        results: dict[str, dict[str, Any]] = {}
        for _ in range(args.repeats):  # interleaved, best of N: the machine may be shared
            for arm in args.arms.split(","):
                cmd = [
                    sys.executable,
                    __file__,
                    "--arm",
                    arm,
                    "--work",
                    str(work),
                    "--steps",
                    str(args.steps),
                ]
                proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
                if proc.returncode != 0:
                    sys.exit(f"{arm} arm failed:\n{proc.stderr[-3000:]}")
                got = json.loads(proc.stdout.strip().splitlines()[-1])
                if arm not in results or got["tokens_per_s"] > results[arm]["tokens_per_s"]:
                    results[arm] = got
    g = results["guide"]
    print(
        f"{'arm':<10} {'pack':>4} {'ckpt':>4} {'steps':>5} {'seconds':>8} {'tokens':>8} {'tok/s':>8} "
        f"{'x guide':>7} {'resp loss':>9} {'full loss':>9} {'peak RSS':>9}"
    )
    for r in results.values():
        print(
            f"{r['arm']:<10} {onoff(r['packing']):>4} {onoff(r['gradient_checkpointing']):>4} "
            f"{r['steps']:>5} {r['seconds']:>8.1f} {r['tokens']:>8} {r['tokens_per_s']:>8.0f} "
            f"{r['tokens_per_s'] / g['tokens_per_s']:>7.2f} {r['eval_loss']:>9.4f} "
            f"{r['eval_full_text_loss']:>9.4f} {r['peak_rss_mib']:>6.0f} MiB"
        )
    summary: dict[str, float] = {}
    for arm, r in results.items():
        if arm == "guide":
            continue
        summary[f"throughput_ratio[{arm}]"] = r["tokens_per_s"] / g["tokens_per_s"]
        summary[f"eval_loss_rel_diff[{arm}]"] = (r["eval_loss"] - g["eval_loss"]) / g["eval_loss"]
        summary[f"full_loss_rel_diff[{arm}]"] = (r["eval_full_text_loss"] - g["eval_full_text_loss"]) / g[
            "eval_full_text_loss"
        ]
    if "ours" in results and "defaults" in results:
        d, o = results["defaults"], results["ours"]
        speed = o["tokens_per_s"] / d["tokens_per_s"]
        resp = (o["eval_loss"] - d["eval_loss"]) / d["eval_loss"]
        full = (o["eval_full_text_loss"] - d["eval_full_text_loss"]) / d["eval_full_text_loss"]
        print(
            f"ours (packing on, checkpointing off) vs defaults: {speed:.2f}x tok/s, "
            f"response loss {100 * resp:+.1f}%, full-text loss {100 * full:+.1f}%"
        )
    print("x guide: tokens/s against the guide arm measured in this run (arms interleaved, best of repeats)")
    print(json.dumps({**summary, "arms": results}))


if __name__ == "__main__":
    main()
