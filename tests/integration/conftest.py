"""Fixtures shared by the integration suites that start vLLM (serving and the local run)."""

from __future__ import annotations

import os

import pytest


@pytest.fixture(scope="session")
def vllm_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The environment for a vLLM subprocess: a private compile cache and no inherited API key."""
    env = dict(os.environ)
    env["VLLM_CACHE_ROOT"] = str(tmp_path_factory.mktemp("vllm-cache"))
    env.pop("VLLM_API_KEY", None)
    return env
