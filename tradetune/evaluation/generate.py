"""Batched greedy generation in the training prompt format.

Greedy decoding with a fixed seed makes the metrics reproducible (the guide samples with
temperature 0.7, so its scores change from run to run). Prompts are sorted by length and left
padded, so a batch decodes together without padding between prompt and answer.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from tradetune.prompt import format_prompt


def generate(
    model: Any,
    tokenizer: Any,
    instructions: Sequence[str],
    *,
    max_new_tokens: int,
    batch_size: int = 16,
    max_prompt_length: int = 768,
    seed: int = 0,
    on_batch: Callable[[int], None] | None = None,
) -> list[str]:
    """The response text for each instruction (special tokens dropped), in input order."""
    import torch

    if not instructions:
        return []
    torch.manual_seed(seed)
    prompts = [format_prompt(i) for i in instructions]
    encoded = [tokenizer(p)["input_ids"][-max_prompt_length:] for p in prompts]
    order = sorted(range(len(prompts)), key=lambda i: len(encoded[i]))
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    device = next(model.parameters()).device
    results: list[str] = [""] * len(prompts)
    model.eval()
    with torch.inference_mode():
        for start in range(0, len(order), batch_size):
            idx = order[start : start + batch_size]
            width = max(len(encoded[i]) for i in idx)
            ids = torch.full((len(idx), width), pad_id, dtype=torch.long)
            mask = torch.zeros((len(idx), width), dtype=torch.long)
            for row, i in enumerate(idx):
                seq = encoded[i]
                ids[row, width - len(seq) :] = torch.tensor(seq)
                mask[row, width - len(seq) :] = 1
            out = model.generate(
                input_ids=ids.to(device),
                attention_mask=mask.to(device),
                max_new_tokens=max_new_tokens,
                do_sample=False,
                pad_token_id=pad_id,
                eos_token_id=tokenizer.eos_token_id,
            )
            for row, i in enumerate(idx):
                results[i] = tokenizer.decode(out[row, width:], skip_special_tokens=True)
            if on_batch is not None:
                on_batch(len(idx))
    return results
