"""Batched, token-weighted perplexity with padding masked, over the response and the full text.

The guide's loop runs one example at a time and averages each example's mean loss weighted
by its *input* length, which counts the first token (never predicted) and so weights short
examples slightly wrong. Here the sum of negative log-likelihoods over predicted tokens is
divided by their count: exactly exp(mean NLL per predicted token). Examples are sorted by
length and batched, so padding is small; padded positions are masked out of the sum, which is
why the batched value equals the one-at-a-time value.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from tradetune.prompt import format_prompt


@dataclass(frozen=True)
class Scored:
    """One sequence to score: token ids and the index of the first token whose NLL counts."""

    ids: list[int]
    first_target: int  # >= 1: position 0 is never predicted


@dataclass
class NllSums:
    """Summed negative log-likelihoods and token counts (response and full text)."""

    response_nll: float = 0.0
    response_tokens: int = 0
    full_nll: float = 0.0
    full_tokens: int = 0

    @property
    def response_loss(self) -> float | None:
        return self.response_nll / self.response_tokens if self.response_tokens else None

    @property
    def full_loss(self) -> float | None:
        return self.full_nll / self.full_tokens if self.full_tokens else None

    @property
    def perplexity(self) -> float | None:
        loss = self.response_loss
        return math.exp(loss) if loss is not None else None

    @property
    def full_text_perplexity(self) -> float | None:
        loss = self.full_loss
        return math.exp(loss) if loss is not None else None


def encode_records(tokenizer: Any, records: Sequence[Mapping[str, Any]], *, max_length: int) -> list[Scored]:
    """Tokenize each record as in training (prompt + response + EOS), marking where the response starts.

    The prompt is tokenized alone to find the boundary, as TRL does for prompt/completion data.
    Sequences longer than `max_length` are cut (the tail of very long responses is not scored).
    """
    out = []
    for r in records:
        prompt = format_prompt(r["instruction"])
        prompt_ids = tokenizer(prompt)["input_ids"]
        ids = tokenizer(prompt + r["response"] + tokenizer.eos_token)["input_ids"][:max_length]
        out.append(Scored(ids=ids, first_target=max(1, min(len(prompt_ids), len(ids)))))
    return out


def score(
    model: Any,
    items: Sequence[Scored],
    *,
    pad_id: int,
    batch_size: int = 8,
    on_batch: Callable[[int], None] | None = None,
) -> NllSums:
    """Sum the NLL of every predicted token (full text) and of the targets from `first_target` on."""
    import torch

    sums = NllSums()
    order = sorted(range(len(items)), key=lambda i: len(items[i].ids))
    device = next(model.parameters()).device
    model.eval()
    with torch.inference_mode():
        for start in range(0, len(order), batch_size):
            batch = [items[i] for i in order[start : start + batch_size]]
            width = max(len(s.ids) for s in batch)
            ids = torch.full((len(batch), width), pad_id, dtype=torch.long)
            mask = torch.zeros((len(batch), width), dtype=torch.long)
            response = torch.zeros((len(batch), width), dtype=torch.bool)
            for row, s in enumerate(batch):
                ids[row, : len(s.ids)] = torch.tensor(s.ids)
                mask[row, : len(s.ids)] = 1
                response[row, s.first_target : len(s.ids)] = True
            ids, mask = ids.to(device), mask.to(device)
            logits = model(input_ids=ids, attention_mask=mask).logits
            # Only real (non-padding) predicted positions are scored: one contiguous (tokens,
            # vocabulary) gather instead of a strided (batch, vocabulary, length) cross-entropy
            # that also covered the padding (same sums; a few percent faster where measured).
            predicted = mask[:, 1:].bool()
            nll = torch.nn.functional.cross_entropy(
                logits[:, :-1, :][predicted].float(), ids[:, 1:][predicted], reduction="none"
            )
            in_response = response[:, 1:].to(device)[predicted]
            sums.full_nll += float(nll.sum())
            sums.full_tokens += int(nll.numel())
            sums.response_nll += float(nll[in_response].sum())
            sums.response_tokens += int(in_response.sum())
            if on_batch is not None:
                on_batch(len(batch))
    return sums
