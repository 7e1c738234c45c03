"""Fixtures shared by the integration suites: one tiny pretrained model, the vLLM environment.

The trainer, serving and local-run suites all start from the same tiny Llama (seed 0, 100
pretraining steps); it is built once per test session, not once per suite.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def tiny_pretrained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A briefly pretrained tiny Llama (read-only for every test), so greedy decoding is not a coin toss."""
    from tradetune.training import build_tiny_model

    return build_tiny_model(tmp_path_factory.mktemp("tiny") / "base", seed=0, pretrain_steps=100)


@pytest.fixture(scope="session")
def vllm_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The environment for a vLLM subprocess: a private compile cache and no inherited API key."""
    env = dict(os.environ)
    env["VLLM_CACHE_ROOT"] = str(tmp_path_factory.mktemp("vllm-cache"))
    env.pop("VLLM_API_KEY", None)
    return env
