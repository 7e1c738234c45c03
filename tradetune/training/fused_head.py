"""Score only the positions that carry a label, on every device.

TRL 1.16's SFTTrainer never materialises the (batch, length, vocabulary) logits: its fused LM
head projects hidden states through the output embedding in tiles and returns per-token
log-probabilities. On CUDA it first drops the positions whose label is -100; elsewhere it
scores every position and zeroes the ignored ones afterwards, so that accelerators that
compile per tile shape (Neuron) see one shape per batch.

With the loss on the response only, the prompt's positions are ignored: 39% of the tokens of
the generated dataset. On a CPU nothing recompiles per shape, so scoring them is pure waste -
and with a small model the LM head is a large share of the work. Measured with
`python bench/train_throughput.py` on 2 CPU cores, dropping them raised training tokens/s by
about a third with the same losses.

TRL decides with the private `trl.trainer.utils._use_triton`, which in that module guards
nothing but this choice (the kernels module keeps its own reference).
`patch_trl_to_score_labelled_only_on_cpu()` widens it to the CPU, for the whole process. A test
checks the patched forward returns the same loss as the original
and that it hands the LM head only the labelled rows, so a TRL upgrade that moves the choice
fails the suite rather than silently losing the speed.
"""

from __future__ import annotations

import functools
from typing import Any

_PATCHED = "_tradetune_labelled_only"
_DECISION = "_use_triton"  # the private TRL 1.16 function that picks compact scoring


def patch_trl_to_score_labelled_only_on_cpu() -> None:
    """Patch TRL, for the whole process: its fused LM head skips ignored positions on the CPU too.

    It replaces a function in `trl.trainer.utils`, so every SFTTrainer in this process is
    affected, not only ours; calling it twice is harmless.
    """
    import trl.trainer.utils as trl_utils

    original = getattr(trl_utils, _DECISION)
    if getattr(original, _PATCHED, False):
        return

    @functools.wraps(original)  # keeps TRL's own as `__wrapped__`
    def compact(device: Any) -> bool:
        return bool(device.type == "cpu" or original(device))

    setattr(compact, _PATCHED, True)
    setattr(trl_utils, _DECISION, compact)
