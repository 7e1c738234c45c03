"""Fixtures for the chart tests (see _support.py for the helpers)."""

from __future__ import annotations

import os

import pytest

from tests.integration.chart._support import Helm, find_tool


@pytest.fixture(scope="session")
def helm(tmp_path_factory: pytest.TempPathFactory) -> Helm:
    home = tmp_path_factory.mktemp("helm-home")
    env = dict(os.environ)
    for var in ("HELM_CACHE_HOME", "HELM_CONFIG_HOME", "HELM_DATA_HOME"):
        env[var] = str(home / var.lower())
    # Rendering must never need a cluster: point helm at a kubeconfig that does not exist.
    env["KUBECONFIG"] = str(home / "no-kubeconfig")
    return Helm(find_tool("helm"), env)


@pytest.fixture(scope="session")
def promtool() -> str:
    return find_tool("promtool")


@pytest.fixture(scope="session")
def kubernetes_validate() -> str:
    return find_tool("kubernetes-validate")
