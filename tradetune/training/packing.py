"""Packed bins as rows of a batch, for attention without variable-length kernels.

TRL's padding-free collator concatenates a micro-batch's packed bins into one row and leaves
the model to keep the sequences apart: FlashAttention's variable-length kernels do that for
free, but the SDPA path builds a block-diagonal mask over the whole row, so 4 bins of 512
tokens cost attention over 2048 x 2048 positions. Keeping each bin a row of a (bins, length)
batch, with position ids that restart at every packed sequence, gives transformers the same
per-sequence masking at the cost of one bin per row, and keeps the large, few matrix
products of a real micro-batch.

`PackedRowsCollator` wraps TRL's own collator, so labels (prompt, sequence starts and padding
set to -100) and position ids are exactly TRL's; it only stacks the rows. A row shorter than
the longest is padded with tokens whose position id is 0: each pad is a sequence of its own,
attends only to itself and carries no label.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch

# The keys kept, with their padding value (None: the pad token). TRL's other keys
# (cu_seq_lens_*, max_length_*, seq_idx) describe its one flattened row for FlashAttention's
# variable-length kernels, which do not run here, so they are left out.
_FILL = {"input_ids": None, "labels": -100, "position_ids": 0}


class PackedRowsCollator:
    """Collate packed examples as one row each: input_ids, labels, position_ids of shape (bins, length)."""

    def __init__(
        self, collate: Callable[[Sequence[Mapping[str, Any]]], Mapping[str, Any]], pad_token_id: int
    ):
        self.collate = collate
        self.pad_token_id = pad_token_id

    def __call__(self, examples: Sequence[Mapping[str, Any]]) -> dict[str, torch.Tensor]:
        import torch
        from torch.nn.functional import pad

        rows = [self.collate([example]) for example in examples]
        width = max(int(row["input_ids"].shape[1]) for row in rows)
        batch: dict[str, torch.Tensor] = {}
        for key, fill in _FILL.items():
            value = self.pad_token_id if fill is None else fill
            batch[key] = torch.cat(
                [pad(row[key], (0, width - row[key].shape[1]), value=value) for row in rows]
            )
        return batch


def use_packed_rows(trainer: Any) -> None:
    """Make an SFTTrainer built with padding-free packing batch its bins as rows (see module doc)."""
    collate = trainer.data_collator
    trainer.data_collator = PackedRowsCollator(collate, int(collate.pad_token_id))
