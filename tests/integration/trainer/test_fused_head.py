"""The process-wide TRL patch: its fused LM head skips ignored positions on the CPU, same loss."""

from __future__ import annotations

from typing import Any

import pytest
import torch
import trl.trainer.utils as trl_utils
from trl.trainer.utils import add_fused_lm_head

from tests.integration.trainer.conftest import random_llama
from tradetune.training.fused_head import patch_trl_to_score_labelled_only_on_cpu


@pytest.fixture
def restore_trl(monkeypatch: pytest.MonkeyPatch) -> None:
    """TRL's own decision for the test (training tests may have patched it), put back afterwards."""
    current = trl_utils._use_triton
    monkeypatch.setattr(trl_utils, "_use_triton", getattr(current, "__wrapped__", current))


def _model() -> Any:
    model = random_llama(vocab_size=256, layers=1)
    add_fused_lm_head(model)
    return model


def _loss_and_rows(model: Any, monkeypatch: pytest.MonkeyPatch) -> tuple[torch.Tensor, int]:
    """The fused loss of a batch whose first 12 positions are prompt, and the rows the head saw."""
    rows: list[int] = []
    function = trl_utils._ChunkedLogProbFunction
    original_apply = function.apply

    def spy(hidden: torch.Tensor, *args: Any) -> Any:
        rows.append(hidden.shape[0])
        return original_apply(hidden, *args)

    monkeypatch.setattr(function, "apply", spy)
    generator = torch.Generator().manual_seed(1)
    input_ids = torch.randint(4, 256, (2, 32), generator=generator)
    labels = input_ids.clone()
    labels[:, :12] = -100
    with torch.no_grad():
        out = model(input_ids=input_ids, labels=labels, fused_lm_head=True)
    monkeypatch.setattr(function, "apply", original_apply)
    return out.loss, rows[0]


def test_cpu_scores_only_labelled_rows_with_the_same_loss(
    restore_trl: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = _model()
    loss_all, rows_all = _loss_and_rows(model, monkeypatch)
    patch_trl_to_score_labelled_only_on_cpu()
    loss_labelled, rows_labelled = _loss_and_rows(model, monkeypatch)

    assert rows_all == 2 * 31  # TRL alone: every shifted position of both rows
    assert rows_labelled == 2 * (31 - 11)  # patched: only positions whose next token is labelled
    assert torch.allclose(loss_labelled, loss_all, rtol=1e-6, atol=1e-6)


def test_patch_is_idempotent_and_keeps_the_gpu_decision(restore_trl: None) -> None:
    original = trl_utils._use_triton
    patch_trl_to_score_labelled_only_on_cpu()
    once = trl_utils._use_triton
    patch_trl_to_score_labelled_only_on_cpu()
    assert trl_utils._use_triton is once
    assert once(torch.device("cpu")) is True
    assert once(torch.device("meta")) is original(torch.device("meta"))
