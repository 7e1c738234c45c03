"""SFT core (QLoRA / LoRA / full) and the tiny-model builder.

The public face of the trainer; the modules behind it are private to the package. Heavy
libraries (torch, transformers, trl, peft) are imported inside the functions that use them.
"""

from tradetune.training.corpus import generic_corpus
from tradetune.training.data import Splits, materialise, to_prompt_completion
from tradetune.training.fused_head import patch_trl_to_score_labelled_only_on_cpu
from tradetune.training.packing import PackedRowsCollator, use_packed_rows
from tradetune.training.plan import (
    Precision,
    initial_memory,
    packs_bins_as_rows,
    resolve_precision,
    sft_config_kwargs,
)
from tradetune.training.recovery import MemoryConfig, describe_recovery, next_recovery
from tradetune.training.result import (
    RESULT_PATH_ENV,
    RunState,
    load_state,
    write_metrics,
    write_termination_message,
)
from tradetune.training.run import train
from tradetune.training.sft import add_speedups, latest_checkpoint
from tradetune.training.tiny import TinyModelConfig, build_tiny_model

__all__ = [
    "RESULT_PATH_ENV",
    "MemoryConfig",
    "PackedRowsCollator",
    "Precision",
    "RunState",
    "Splits",
    "TinyModelConfig",
    "add_speedups",
    "build_tiny_model",
    "describe_recovery",
    "generic_corpus",
    "initial_memory",
    "latest_checkpoint",
    "load_state",
    "materialise",
    "next_recovery",
    "packs_bins_as_rows",
    "patch_trl_to_score_labelled_only_on_cpu",
    "resolve_precision",
    "sft_config_kwargs",
    "to_prompt_completion",
    "train",
    "use_packed_rows",
    "write_metrics",
    "write_termination_message",
]
