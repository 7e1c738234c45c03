"""Merge a LoRA adapter into its base: one model directory vLLM serves at full speed.

The adapter was trained against a 4-bit base (qlora), but the merge reloads the base without
quantisation (fp32 on CPU, the job's 16-bit dtype on GPU): merging into 4-bit weights would
round the update away, and vLLM serves 16-bit weights anyway. The saved tokenizer carries
the chat template, so /v1/chat/completions renders the training prompt format.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from tradetune.atomic import replace_dir, temp_dir_for
from tradetune.prompt import CHAT_TEMPLATE


def save_tokenizer(tokenizer: Any, directory: Path) -> None:
    """Save the tokenizer with the training chat template (and a pad token)."""
    tokenizer.chat_template = CHAT_TEMPLATE
    tokenizer.save_pretrained(str(directory))


def merge_adapter(
    base: str,
    adapter: Path,
    output: Path,
    tokenizer: Any,
    *,
    dtype: str = "float32",
    device: str = "cpu",
    load_kwargs: dict[str, Any] | None = None,
) -> Path:
    """Write base + adapter merged to `output` (safetensors, tokenizer, chat template)."""
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(base, dtype=dtype, device_map=device, **(load_kwargs or {}))
    merged = PeftModel.from_pretrained(model, str(adapter)).merge_and_unload()
    tmp = temp_dir_for(output)
    try:
        merged.save_pretrained(str(tmp), safe_serialization=True)
        save_tokenizer(tokenizer, tmp)
        replace_dir(tmp, output)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return output


def save_full_model(model: Any, output: Path, tokenizer: Any, *, dtype: Any = None) -> Path:
    """Save a fully fine-tuned model (no adapter) as the merged directory."""
    tmp = temp_dir_for(output)
    try:
        if dtype is not None:
            model = model.to(dtype)
        model.save_pretrained(str(tmp), safe_serialization=True)
        save_tokenizer(tokenizer, tmp)
        replace_dir(tmp, output)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return output
