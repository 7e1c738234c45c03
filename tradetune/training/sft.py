"""The SFT run itself: TRL's SFTTrainer with PEFT, resumed from checkpoints, retried after OOM.

- Resume: a pod restarted by its Job finds OUTPUT/checkpoints and carries on from the last
  complete checkpoint (one with trainer_state.json, which the Trainer writes last).
- OOM: `torch.OutOfMemoryError` during training walks `recovery.next_recovery` (half the
  micro-batch, double the accumulation, then checkpointing, then a shorter maximum length)
  and trains again from the last checkpoint, recording each change.
- Speed: the LM head scores only the response's positions (`fused_head`), on CPU as on GPU;
  on CPU packed bins are rows of the micro-batch (`packing`).
"""

from __future__ import annotations

import gc
import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from tradetune.errors import RuntimeFailure
from tradetune.progress import ProgressSink, quiet_libraries
from tradetune.training.fused_head import patch_trl_to_score_labelled_only_on_cpu
from tradetune.training.packing import use_packed_rows
from tradetune.training.plan import (
    Precision,
    initial_memory,
    lora_kwargs,
    model_init_kwargs,
    packs_bins_as_rows,
    quantization_kwargs,
    sft_config_kwargs,
)
from tradetune.training.recovery import MemoryConfig, describe_recovery, next_recovery
from tradetune.training.result import RunState, save_state

if TYPE_CHECKING:
    from tradetune.api import FineTuneJobSpec

_CHECKPOINT = re.compile(r"^checkpoint-(\d+)$")
LOG_KEYS = ("loss", "eval_loss", "learning_rate", "grad_norm", "mean_token_accuracy", "entropy")


@dataclass
class SftOutcome:
    """What training produced (the trainer object stays alive for saving)."""

    trainer: Any
    train_loss: float | None
    global_step: int
    resumed_from: str | None
    memory: MemoryConfig
    oom_recoveries: list[str] = field(default_factory=list)


def latest_checkpoint(directory: Path) -> Path | None:
    """The newest complete checkpoint in `directory` (a half-written one is skipped)."""
    if not directory.is_dir():
        return None
    found = []
    for child in directory.iterdir():
        m = _CHECKPOINT.match(child.name)
        if m and child.is_dir() and (child / "trainer_state.json").is_file():
            found.append((int(m.group(1)), child))
    return max(found)[1] if found else None


def make_log_callback(log_file: IO[str], progress: ProgressSink, attempt: Callable[[], int]) -> Any:
    """A TrainerCallback writing train_log.jsonl and feeding the progress sink per logging step."""
    from transformers import TrainerCallback

    class _LogCallback(TrainerCallback):
        def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            progress.advance(state.global_step, state.max_steps)

        def on_log(self, args: Any, state: Any, control: Any, logs: Any = None, **kwargs: Any) -> None:
            logs = logs or {}
            if "train_loss" in logs:  # the end-of-training summary, not a logging step
                return
            entry: dict[str, Any] = {
                "step": state.global_step,
                "total_steps": state.max_steps,
                "epoch": state.epoch,
                "attempt": attempt(),
            }
            entry.update({k: logs[k] for k in LOG_KEYS if k in logs})
            entry["tokens_seen"] = int(getattr(state, "num_input_tokens_seen", 0) or 0)
            log_file.write(json.dumps(entry) + "\n")
            log_file.flush()
            progress.log(entry)

    return _LogCallback()


def add_speedups(trainer: Any, spec: FineTuneJobSpec, precision: Precision) -> None:
    """What TradeTune adds to TRL's SFTTrainer for speed, before it trains (docs/training.md).

    The LM head scores only the labelled (response) positions on every device, and on CPU
    packed bins are rows of the micro-batch. Same losses as TRL's own path; tested.
    """
    patch_trl_to_score_labelled_only_on_cpu()
    if packs_bins_as_rows(spec, precision):
        use_packed_rows(trainer)


def _free_memory() -> None:
    import torch

    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()


def run_sft(
    spec: FineTuneJobSpec,
    *,
    base: str,
    tokenizer: Any,
    train_rows: list[dict[str, str]],
    val_rows: list[dict[str, str]],
    output: Path,
    precision: Precision,
    token: str | None,
    state: RunState,
    progress: ProgressSink,
    callbacks: Sequence[Any] = (),
) -> SftOutcome:
    """Train until done, resuming and recovering from OOM; returns the live trainer."""
    import torch
    from datasets import Dataset
    from peft import LoraConfig
    from transformers import BitsAndBytesConfig, EarlyStoppingCallback
    from transformers.trainer_callback import PrinterCallback, ProgressCallback
    from trl.trainer.sft_config import SFTConfig
    from trl.trainer.sft_trainer import SFTTrainer

    quiet_libraries()
    checkpoints = output / "checkpoints"
    memory = state.memory_config() or initial_memory(spec)
    recoveries: list[str] = list(state.oom_recoveries)
    train_ds = Dataset.from_list(train_rows)
    val_ds = Dataset.from_list(val_rows)
    quant = quantization_kwargs(spec, precision)
    lora = lora_kwargs(spec)
    init_kwargs = model_init_kwargs(spec, precision, token)
    with (output / "train_log.jsonl").open("a", encoding="utf-8") as log_file:
        while True:
            state.attempts += 1
            state.set_memory(memory)
            save_state(output, state)
            resume = latest_checkpoint(checkpoints)
            trainer = None
            try:
                args = SFTConfig(
                    **sft_config_kwargs(spec, memory, precision, checkpoints, init_kwargs=dict(init_kwargs))
                )
                extra = [make_log_callback(log_file, progress, lambda: state.attempts), *callbacks]
                if spec.training.early_stopping is not None:
                    es = spec.training.early_stopping
                    extra.append(
                        EarlyStoppingCallback(
                            early_stopping_patience=es.patience, early_stopping_threshold=es.threshold
                        )
                    )
                trainer = SFTTrainer(
                    model=base,
                    args=args,
                    train_dataset=train_ds,
                    eval_dataset=val_ds,
                    processing_class=tokenizer,
                    peft_config=LoraConfig(**lora) if lora is not None else None,
                    quantization_config=(
                        BitsAndBytesConfig(  # type: ignore[no-untyped-call]
                            **{
                                **quant,
                                "bnb_4bit_compute_dtype": getattr(torch, quant["bnb_4bit_compute_dtype"]),
                            }
                        )
                        if quant is not None
                        else None
                    ),
                    callbacks=extra,
                )
                add_speedups(trainer, spec, precision)
                trainer.remove_callback(PrinterCallback)
                trainer.remove_callback(ProgressCallback)
                progress.phase("train", total=None)
                out = trainer.train(resume_from_checkpoint=str(resume) if resume else None)
            except torch.OutOfMemoryError:
                del trainer
                _free_memory()
                smaller = next_recovery(memory)
                if smaller is None:
                    raise RuntimeFailure(
                        "out of memory even with a micro-batch of 1, gradient checkpointing and "
                        f"maxSeqLength {memory.max_length}: use a smaller model or a bigger GPU",
                        reason="OutOfMemory",
                    ) from None
                recoveries.append(describe_recovery(memory, smaller))
                state.oom_recoveries = recoveries
                memory = smaller
                continue
            return SftOutcome(
                trainer=trainer,
                train_loss=float(out.training_loss) if out.training_loss is not None else None,
                global_step=int(out.global_step),
                resumed_from=resume.name if resume else None,
                memory=memory,
                oom_recoveries=recoveries,
            )
