"""PackedRowsCollator: packed bins as rows give TRL's labels and the same loss as one bin at a time."""

from __future__ import annotations

from typing import Any

import torch
from trl.trainer.sft_trainer import DataCollatorForLanguageModeling

from tests.integration.trainer.conftest import random_llama
from tradetune.training import PackedRowsCollator, use_packed_rows

PAD = 0
# Two packed bins as TRL's BFD packing leaves them: token ids, per-token completion flags, and
# the lengths of the sequences packed into the bin.
BINS: list[dict[str, Any]] = [
    {
        "input_ids": [5, 6, 7, 8, 9, 10, 11],
        "completion_mask": [0, 1, 1, 0, 0, 1, 1],
        "seq_lengths": [3, 4],
    },
    {"input_ids": [12, 13, 14, 15], "completion_mask": [0, 0, 1, 1], "seq_lengths": [4]},
]


def _trl_collator() -> DataCollatorForLanguageModeling:
    return DataCollatorForLanguageModeling(pad_token_id=PAD, padding_free=True)


def _labelled(bins: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Labels as SFTTrainer's completion-only loss prepares them: -100 outside the completion."""
    return [
        {**b, "labels": [t if m else -100 for t, m in zip(b["input_ids"], b["completion_mask"], strict=True)]}
        for b in bins
    ]


def test_rows_are_trl_rows_stacked_with_inert_padding() -> None:
    batch = PackedRowsCollator(_trl_collator(), PAD)(_labelled(BINS))

    assert set(batch) == {"input_ids", "labels", "position_ids"}
    assert batch["input_ids"].tolist() == [[5, 6, 7, 8, 9, 10, 11], [12, 13, 14, 15, PAD, PAD, PAD]]
    # positions restart at every packed sequence; each pad is a length-1 sequence of its own
    assert batch["position_ids"].tolist() == [[0, 1, 2, 0, 1, 2, 3], [0, 1, 2, 3, 0, 0, 0]]
    # prompt tokens, sequence starts and pads carry no label
    assert batch["labels"].tolist() == [
        [-100, 6, 7, -100, -100, 10, 11],
        [-100, -100, 14, 15, -100, -100, -100],
    ]


def test_rows_give_the_loss_of_one_bin_at_a_time() -> None:
    """No attention crosses a row or a packed sequence: the summed token loss is unchanged."""
    model = random_llama(vocab_size=64, layers=2, pad_token_id=PAD)
    trl = _trl_collator()
    examples = _labelled(BINS)

    def summed_loss(batch: dict[str, torch.Tensor]) -> torch.Tensor:
        with torch.no_grad():
            # use_cache=False as in training: with a cache transformers does not look for packed sequences
            logits = model(
                input_ids=batch["input_ids"], position_ids=batch["position_ids"], use_cache=False
            ).logits
        return torch.nn.functional.cross_entropy(
            logits[:, :-1].reshape(-1, logits.size(-1)), batch["labels"][:, 1:].reshape(-1), reduction="sum"
        )

    one_at_a_time = sum(summed_loss(dict(trl([e]))) for e in examples)
    as_rows = summed_loss(PackedRowsCollator(trl, PAD)(examples))
    # and one packed sequence alone, unpacked, scores as it does inside its bin
    alone = {
        "input_ids": torch.tensor([[8, 9, 10, 11]]),
        "position_ids": torch.arange(4)[None],
        "labels": torch.tensor([[-100, -100, 10, 11]]),
    }
    first_only = {
        "input_ids": torch.tensor([[5, 6, 7]]),
        "position_ids": torch.arange(3)[None],
        "labels": torch.tensor([[-100, 6, 7]]),
    }
    assert torch.allclose(as_rows, one_at_a_time, atol=1e-4)
    assert torch.allclose(
        summed_loss(trl([examples[0]])), summed_loss(first_only) + summed_loss(alone), atol=1e-4
    )


def test_use_packed_rows_wraps_the_trainers_collator() -> None:
    class Trainer:
        data_collator = _trl_collator()

    trainer = Trainer()
    original = trainer.data_collator
    use_packed_rows(trainer)
    assert isinstance(trainer.data_collator, PackedRowsCollator)
    assert trainer.data_collator.collate is original and trainer.data_collator.pad_token_id == PAD
