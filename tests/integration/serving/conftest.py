"""Fixtures for the serving tests: one tiny model per session, one vLLM server per module.

Each server fixture stops its server with SIGTERM at the end and checks that nothing of it is
left (`stop_with_sigterm`): no test kills a shared server, so the tests run in any order.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tradetune.serving import free_port

REPO = Path(__file__).resolve().parents[3]
API_KEY = "test-key-123"
INSTRUCTION = "Explain the doji candlestick pattern."


@pytest.fixture(scope="session")
def tiny_model(tiny_pretrained: Path) -> Path:
    """The session's tiny pretrained Llama (tests/integration/conftest.py), served as a merged model."""
    return tiny_pretrained


@dataclass
class RunningServe:
    proc: subprocess.Popen[str]
    base_url: str
    model_name: str
    log: Path


def cli(*args: str, env: dict[str, str], timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tradetune", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def start_serve(
    args: list[str], env: dict[str, str], log: Path, port: int, timeout: float = 400
) -> subprocess.Popen[str]:
    """Start `tradetune serve` as a user would, and wait for /health."""
    with log.open("w") as sink:
        proc = subprocess.Popen(
            [sys.executable, "-m", "tradetune", "serve", *args, "--port", str(port), "--quiet"],
            cwd=REPO,
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
            text=True,
        )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"tradetune serve exited {proc.returncode}:\n{log.read_text()[-4000:]}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as response:
                if response.status == 200:
                    return proc
        except OSError:
            pass
        time.sleep(1)
    proc.terminate()
    proc.wait(30)
    raise AssertionError(f"tradetune serve not ready in {timeout}s:\n{log.read_text()[-4000:]}")


def stop_with_sigterm(proc: subprocess.Popen[Any]) -> None:
    """Stop `tradetune serve` as Kubernetes does (SIGTERM) and check it leaves no process behind.

    Every server fixture ends this way, so the check runs whichever tests ran and in any order,
    and no test has to kill a server that others share.
    """
    import psutil

    if proc.poll() is not None:
        raise AssertionError(f"tradetune serve died during the tests (exit code {proc.returncode})")
    family = psutil.Process(proc.pid).children(recursive=True)
    if not any("vllm" in " ".join(p.cmdline()) for p in family):
        proc.kill()
        raise AssertionError("tradetune serve was not running a vLLM engine")
    proc.send_signal(signal.SIGTERM)
    try:
        code = proc.wait(90)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise AssertionError("tradetune serve did not stop within 90 s of SIGTERM") from None
    _gone, alive = psutil.wait_procs(family, timeout=30)
    for p in alive:
        p.kill()
    assert code == 0, f"tradetune serve exited with {code} on SIGTERM"
    assert not alive, f"processes left after SIGTERM: {[p.pid for p in alive]}"


@pytest.fixture(scope="module")
def served(
    tiny_model: Path, vllm_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningServe]:
    """`tradetune serve` on the tiny model (float32, to compare with transformers), with an API key."""
    env = {**vllm_env, "VLLM_API_KEY": API_KEY}
    port = free_port()
    log = tmp_path_factory.mktemp("serve") / "serve.log"
    proc = start_serve(
        ["--model", str(tiny_model), "--dtype", "float32", "--served-model-name", "tiny"], env, log, port
    )
    try:
        yield RunningServe(proc, f"http://127.0.0.1:{port}", "tiny", log)
    except BaseException:
        proc.kill()
        raise
    stop_with_sigterm(proc)


def post(url: str, body: dict[str, Any], key: str | None = API_KEY) -> tuple[int, Any]:
    headers = {"Content-Type": "application/json"}
    if key:
        headers["Authorization"] = f"Bearer {key}"
    request = urllib.request.Request(url, data=json.dumps(body).encode(), headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"null")


def client(served: RunningServe) -> Any:
    from openai import OpenAI

    return OpenAI(base_url=f"{served.base_url}/v1", api_key=API_KEY, timeout=60)
