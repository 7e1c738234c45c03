"""Shared, session-scoped artefacts: one tiny base model for every trainer test."""

from __future__ import annotations

from pathlib import Path

import pytest

from tradetune.training import build_tiny_model


@pytest.fixture(scope="session")
def tiny_base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A pretrained tiny Llama (about 15 s on 2 cores)."""
    return build_tiny_model(tmp_path_factory.mktemp("tiny") / "base", seed=0, pretrain_steps=150)
