"""The operator against an HTTPS API server, as on a real cluster: a CA, client certificates, and a
bearer token that expires while it runs (401 → log in again → carry on)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.integration.operator.conftest import (
    FTJ,
    JOBS,
    NS,
    Cluster,
    OperatorHarness,
    finetunejob,
    train_result,
)
from tests.integration.operator.running_emulator import RunningEmulator
from tests.integration.operator.tls import new_authority

pytestmark = pytest.mark.timeout(120)


def _https(tokens: set[str]) -> Iterator[RunningEmulator]:
    with RunningEmulator(tls=new_authority(), tokens=tokens) as emu:
        assert emu.url.startswith("https://")
        emu.request("POST", "/api/v1/namespaces", {"metadata": {"name": NS}})
        yield emu


@pytest.fixture
def cert_emulator() -> Iterator[RunningEmulator]:
    yield from _https(tokens=set())  # no token is valid: only a client certificate gets in


@pytest.fixture
def token_emulator() -> Iterator[RunningEmulator]:
    yield from _https(tokens={"token-1"})


def test_client_certificate_kubeconfig_over_https(
    cert_emulator: RunningEmulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    operator = OperatorHarness(cert_emulator, tmp_path, monkeypatch)
    operator.kubeconfig.write_text(yaml.safe_dump(cert_emulator.kubeconfig(client_certificate=True)))
    cluster = Cluster(cert_emulator)
    with operator.running():
        cert_emulator.create(FTJ, finetunejob("tls"))
        pod = cluster.start_pod("tls")
        cluster.finish_pod("tls", pod, message=train_result())
        status = cluster.wait_phase("tls", "Succeeded")
    assert status["gate"]["passed"] is True
    assert cert_emulator.call(lambda emu: emu.unauthorized) == 0
    assert cert_emulator.call(lambda emu: emu.by_certificate) > 0


def test_an_expired_token_is_renewed_and_work_goes_on(
    token_emulator: RunningEmulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    operator = OperatorHarness(token_emulator, tmp_path, monkeypatch)
    operator.kubeconfig.write_text(yaml.safe_dump(token_emulator.kubeconfig(token="token-1")))
    cluster = Cluster(token_emulator)
    with operator.running():
        token_emulator.create(FTJ, finetunejob("before"))
        cluster.wait_phase("before", "Pending")

        # The token expires; the credentials on disk are refreshed (as a token file or an exec
        # plugin would): the next calls get 401, log in again and carry on.
        token_emulator.call(lambda emu: setattr(emu, "tokens", {"token-2"}))
        operator.kubeconfig.write_text(yaml.safe_dump(token_emulator.kubeconfig(token="token-2")))
        token_emulator.create(FTJ, finetunejob("after"))
        cluster.job("after")
        cluster.wait_phase("after", "Pending")
    assert token_emulator.call(lambda emu: emu.unauthorized) > 0
    assert len(token_emulator.list(JOBS, NS)) == 2


def test_an_exec_plugin_kubeconfig_logs_in_through_the_official_client(
    token_emulator: RunningEmulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What EKS/GKE/AKS kubeconfigs hold: a command that prints the token (kubectl's exec plugins)."""
    plugin = tmp_path / "credential-plugin.py"
    calls = tmp_path / "calls"
    plugin.write_text(
        "import json, pathlib\n"
        f"pathlib.Path({str(calls)!r}).open('a').write('x')\n"
        'print(json.dumps({"apiVersion": "client.authentication.k8s.io/v1", "kind": "ExecCredential",\n'
        '                  "status": {"token": "token-1"}}))\n'
    )
    config = token_emulator.kubeconfig()
    config["users"][0]["user"] = {
        "exec": {
            "apiVersion": "client.authentication.k8s.io/v1",
            "command": sys.executable,
            "args": [str(plugin)],
            "interactiveMode": "Never",
        }
    }
    operator = OperatorHarness(token_emulator, tmp_path, monkeypatch)
    operator.kubeconfig.write_text(yaml.safe_dump(config))
    cluster = Cluster(token_emulator)
    with operator.running():
        token_emulator.create(FTJ, finetunejob("exec"))
        cluster.job("exec")
        cluster.wait_phase("exec", "Pending")
    assert calls.read_text()  # the plugin ran
    assert token_emulator.call(lambda emu: emu.unauthorized) == 0
