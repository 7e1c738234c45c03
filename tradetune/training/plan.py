"""From a FineTuneJob spec and the machine to concrete trainer settings. Pure: no torch here.

One code path serves CPU and GPU; only these decisions differ. Keeping them in plain
functions of (spec, device facts) means every choice is unit-tested without a GPU:
- precision: bf16/fp16 on CUDA as the spec asks (bf16 falls back to fp16 on cards without
  it), fp32 on CPU (CPU autocast in bf16 is slower than fp32 on most CPUs and TRL 1.16
  defaults bf16 on, so it is switched off explicitly);
- QLoRA: nf4/fp4 4-bit with double quantisation, compute in the spec's dtype on GPU and
  fp32 on CPU;
- TRL 1.16 names: `max_length`, `eval_strategy`, `packing_strategy="bfd"` (padding-free),
  `completion_only_loss` (the loss falls on the response only), `use_cpu`;
- packed bins as rows of a batch on CPU, TRL's flattened row on CUDA (`packs_bins_as_rows`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from tradetune.training.recovery import MemoryConfig

if TYPE_CHECKING:
    from tradetune.api import FineTuneJobSpec
    from tradetune.evaluation.suite import EvalOptions

DType = Literal["float32", "bfloat16", "float16"]


@dataclass(frozen=True)
class Precision:
    """Where and in which number format the model trains."""

    device: Literal["cpu", "cuda"]
    load_dtype: DType  # dtype of the non-quantised weights
    compute_dtype: DType  # 4-bit matmul compute dtype (qlora)
    bf16: bool
    fp16: bool


def resolve_precision(spec: FineTuneJobSpec, *, cuda: bool, bf16_supported: bool) -> Precision:
    """The spec's precision on CUDA, fp32 everywhere on CPU."""
    if not cuda:
        return Precision(device="cpu", load_dtype="float32", compute_dtype="float32", bf16=False, fp16=False)
    wanted = spec.training.precision
    if wanted == "bf16" and not bf16_supported:
        wanted = "fp16"
    quant = spec.effective_quantization
    compute: DType = quant.compute_dtype if quant is not None else "bfloat16"
    if compute == "bfloat16" and not bf16_supported:
        compute = "float16"
    if wanted == "bf16":
        return Precision("cuda", "bfloat16", compute, bf16=True, fp16=False)
    if wanted == "fp16":
        return Precision("cuda", "float16", compute, bf16=False, fp16=True)
    return Precision("cuda", "float32", compute, bf16=False, fp16=False)


def initial_memory(spec: FineTuneJobSpec) -> MemoryConfig:
    """The memory-relevant settings the spec asks for (before any OOM recovery)."""
    t = spec.training
    return MemoryConfig(
        per_device_batch_size=t.per_device_batch_size,
        gradient_accumulation_steps=t.gradient_accumulation_steps,
        gradient_checkpointing=t.gradient_checkpointing,
        max_length=t.max_seq_length,
    )


def quantization_kwargs(spec: FineTuneJobSpec, precision: Precision) -> dict[str, Any] | None:
    """Keyword arguments of transformers.BitsAndBytesConfig for qlora; None for lora/full."""
    quant = spec.effective_quantization
    if spec.method != "qlora" or quant is None:
        return None
    return {
        "load_in_4bit": True,
        "bnb_4bit_quant_type": quant.type,
        "bnb_4bit_use_double_quant": quant.double_quant,
        "bnb_4bit_compute_dtype": precision.compute_dtype,
        "bnb_4bit_quant_storage": "uint8",
    }


def lora_kwargs(spec: FineTuneJobSpec) -> dict[str, Any] | None:
    """Keyword arguments of peft.LoraConfig (the guide's adapter); None for full fine-tuning."""
    if spec.method == "full":
        return None
    lora = spec.lora
    return {
        "r": lora.r,
        "lora_alpha": lora.alpha,
        "lora_dropout": lora.dropout,
        "target_modules": list(lora.target_modules),
        "bias": "none",
        "task_type": "CAUSAL_LM",
    }


def model_init_kwargs(spec: FineTuneJobSpec, precision: Precision, token: str | None) -> dict[str, Any]:
    """How TRL loads the base model (the quantisation config is passed to SFTTrainer separately)."""
    kwargs: dict[str, Any] = {
        "dtype": precision.load_dtype,
        "device_map": "cpu" if precision.device == "cpu" else {"": 0},
    }
    if spec.base_model.name is not None:
        kwargs["revision"] = spec.base_model.revision
        if token:
            kwargs["token"] = token
    return kwargs


def sft_config_kwargs(
    spec: FineTuneJobSpec,
    memory: MemoryConfig,
    precision: Precision,
    checkpoints: Path,
    *,
    init_kwargs: dict[str, Any],
) -> dict[str, Any]:
    """Keyword arguments of trl.SFTConfig for this spec, memory setting and device."""
    t = spec.training
    early = t.early_stopping is not None
    kwargs: dict[str, Any] = {
        "output_dir": str(checkpoints),
        "num_train_epochs": t.epochs,
        "max_steps": t.max_steps,
        "per_device_train_batch_size": memory.per_device_batch_size,
        "per_device_eval_batch_size": memory.per_device_batch_size,
        "gradient_accumulation_steps": memory.gradient_accumulation_steps,
        "gradient_checkpointing": memory.gradient_checkpointing,
        "max_length": memory.max_length,
        "learning_rate": t.learning_rate,
        "warmup_steps": t.warmup_steps,
        "lr_scheduler_type": t.scheduler,
        "bf16": precision.bf16,
        "fp16": precision.fp16,
        "use_cpu": precision.device == "cpu",
        "packing": t.packing,
        "completion_only_loss": True,
        "eval_strategy": "steps",
        "eval_steps": t.eval_steps,
        "save_strategy": "steps",
        "save_steps": t.save_steps,
        "save_total_limit": t.save_total_limit,
        "logging_strategy": "steps",
        "logging_steps": t.logging_steps,
        "seed": t.seed,
        "data_seed": t.seed,
        "load_best_model_at_end": early,
        "metric_for_best_model": "eval_loss",
        "greater_is_better": False,
        "include_num_input_tokens_seen": "non_padding",
        "report_to": [],
        "disable_tqdm": True,
        "dataloader_num_workers": 0,
        "model_init_kwargs": init_kwargs,
    }
    if memory.gradient_checkpointing:
        kwargs["gradient_checkpointing_kwargs"] = {"use_reentrant": False}
    if t.packing:
        kwargs["packing_strategy"] = "bfd"
    return kwargs


def packs_bins_as_rows(spec: FineTuneJobSpec, precision: Precision) -> bool:
    """Whether packed bins go to the model as rows of a batch (`packing.PackedRowsCollator`).

    On CPU there is no FlashAttention, whose variable-length kernels make TRL's one flattened
    row of bins cheap; SDPA would attend over the whole row. On CUDA TRL's layout stays.
    """
    return spec.training.packing and precision.device == "cpu"


def evaluation_options(spec: FineTuneJobSpec) -> EvalOptions:
    """How the trainer evaluates a job: which test items, how many samples, how long generations are.

    `tradetune run` selects the same items from the saved test split to show counts per family,
    so both read the choice from here.
    """
    from tradetune.evaluation.suite import EvalOptions

    ev = spec.evaluation
    return EvalOptions(
        samples=ev.samples,
        max_items=ev.max_items,
        max_new_tokens=ev.max_new_tokens,
        max_length=max(spec.training.max_seq_length, 1024),
        seed=spec.training.seed,
    )
