"""`tradetune run` end to end on a minimal job: real data generation, QLoRA, evaluation, gate,
vLLM serving and the openai client; then resume, gate failure and bad input.

The first run is made once; a test that runs again works on its own copy of that run's output
directory (resuming from the copied checkpoint), so no test sees another's changes and they
pass in any order.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest
import yaml

from tradetune.api import FineTuneJobStatus, TrainResult
from tradetune.serving import free_port

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory, tiny_pretrained: Path) -> Path:
    """Job files and outputs; the base model is the session's shared tiny model (linked, not rebuilt)."""
    root = tmp_path_factory.mktemp("run")
    (root / "tiny-base").symlink_to(tiny_pretrained, target_is_directory=True)
    return root


def job(workdir: Path, thresholds: dict[str, Any], name: str = "mini") -> Path:
    body = {
        "apiVersion": "tradetune.dev/v1alpha1",
        "kind": "FineTuneJob",
        "metadata": {"name": name},
        "spec": {
            "baseModel": {"path": str(workdir / "tiny-base")},
            "dataset": {"generate": {"train": 96, "validation": 16, "test": 16, "seed": 7}},
            "method": "qlora",
            "lora": {"r": 8, "alpha": 16, "targetModules": ["q_proj", "v_proj"]},
            "training": {
                "maxSteps": 8,
                "learningRate": 2e-3,
                "perDeviceBatchSize": 8,
                "gradientAccumulationSteps": 1,
                "maxSeqLength": 192,
                "warmupSteps": 2,
                "precision": "fp32",
                "gradientCheckpointing": False,
                "evalSteps": 4,
                "saveSteps": 4,
                "loggingSteps": 2,
            },
            "evaluation": {
                "thresholds": thresholds,
                "compareToBase": False,
                "samples": 2,
                "maxItems": 6,
                "maxNewTokens": 16,
            },
            "promote": {"modelServe": "mini-served", "create": True, "auth": "none"},
        },
    }
    path = workdir / f"{name}-{len(list(workdir.glob('*.yaml')))}.yaml"
    path.write_text(yaml.safe_dump(body))
    return path


def run(args: list[str], env: dict[str, str], timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tradetune", "run", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def copy_of(output: Path, tmp_path: Path) -> Path:
    """A private copy of the first run's output directory, for a test that runs again."""
    return Path(shutil.copytree(output, tmp_path / "out", symlinks=True))


def status_of(output: Path) -> FineTuneJobStatus:
    return FineTuneJobStatus.model_validate(yaml.safe_load((output / "status.yaml").read_text()))


@pytest.fixture(scope="module")
def first_run(
    workdir: Path, vllm_env: dict[str, str]
) -> Iterator[tuple[subprocess.CompletedProcess[str], Path]]:
    output = workdir / "out"
    before = {p.pid for p in psutil.process_iter()}
    result = run(
        [str(job(workdir, {"perplexity": {"max": 1e6}})), "--output", str(output), "--port", str(free_port()),
         "--exit-after-sample"],
        vllm_env,
    )  # fmt: skip
    yield result, output
    leftovers = [
        p
        for p in psutil.process_iter(["cmdline"])
        if p.pid not in before and "vllm" in " ".join(p.info["cmdline"] or [])
    ]
    assert not leftovers


def test_run_trains_gates_serves_and_answers_a_sample(
    first_run: tuple[subprocess.CompletedProcess[str], Path],
) -> None:
    result, output = first_run
    assert result.returncode == 0, result.stderr[-3000:]
    status = status_of(output)
    assert status.phase == "Succeeded"
    assert status.gate is not None and status.gate.passed
    types = {c.type: (c.status, c.reason) for c in status.conditions}
    assert types["Promoted"] == ("True", "ServedLocally")
    assert types["Trained"] == ("True", "TrainingSucceeded")
    assert status.metrics is not None and status.metrics.perplexity is not None
    # vLLM was verified live against the offline metrics before the sample was printed.
    assert types["Verified"] == ("True", "Verified")
    assert status.verification is not None and status.verification.passed
    ppl = next(v for v in status.verification.verdicts if v.metric == "perplexity")
    assert (
        ppl.value is not None
        and abs(ppl.value - status.metrics.perplexity) <= 0.01 * status.metrics.perplexity
    )
    assert result.stdout.index("live verification") < result.stdout.index("reference answer (test split)")
    assert (
        status.artifacts is not None
        and (output / (status.artifacts.merged or "merged") / "config.json").is_file()
    )
    # The table and the sample answer reached the user.
    assert "Gate: Passed" in result.stdout
    assert "perplexity" in result.stdout
    # The sample question is the first held-out item of the job's own test split, with its reference.
    first = json.loads((output / "data" / "test.jsonl").read_text().splitlines()[0])
    assert first["instruction"][:30] in result.stdout
    assert "reference answer (test split)" in result.stdout
    assert "vLLM ready" in result.stdout
    # The sample went through vLLM's OpenAI chat route (its access log is in serve.log).
    assert '"POST /v1/chat/completions HTTP/1.1" 200' in (output / "serve.log").read_text()


def test_second_run_resumes_from_the_checkpoint(
    first_run: tuple[subprocess.CompletedProcess[str], Path],
    workdir: Path,
    vllm_env: dict[str, str],
    tmp_path: Path,
) -> None:
    output = copy_of(first_run[1], tmp_path)
    again = run(
        [str(job(workdir, {"perplexity": {"max": 1e6}})), "--output", str(output), "--no-serve"], vllm_env
    )
    assert again.returncode == 0, again.stderr[-3000:]
    result = TrainResult.model_validate_json((output / "metrics.json").read_text())
    assert "resumed from" in result.message
    status = status_of(output)
    assert {c.type: (c.status, c.reason) for c in status.conditions}["Promoted"] == ("False", "NotServed")
    assert "tradetune serve --model" in again.stdout


def test_failed_gate_exits_1_serves_nothing_and_the_table_says_why(
    first_run: tuple[subprocess.CompletedProcess[str], Path],
    workdir: Path,
    vllm_env: dict[str, str],
    tmp_path: Path,
) -> None:
    output = copy_of(first_run[1], tmp_path)
    port = free_port()
    failed = run(
        [str(job(workdir, {"perplexity": {"max": 1.0}})), "--output", str(output), "--port", str(port)],
        vllm_env,
    )
    assert failed.returncode == 1
    assert "did not pass its gate" in failed.stderr
    assert "FAIL:" in failed.stdout and "> max 1" in failed.stdout
    assert "vLLM" not in failed.stdout
    status = status_of(output)
    assert status.phase == "Failed"
    assert {c.type: (c.status, c.reason) for c in status.conditions}["GatePassed"] == (
        "False",
        "ThresholdsNotMet",
    )


def test_invalid_job_file_exits_2_with_field_paths(workdir: Path, vllm_env: dict[str, str]) -> None:
    bad = workdir / "bad.yaml"
    bad.write_text(
        "apiVersion: tradetune.dev/v1alpha1\nkind: FineTuneJob\nmetadata: {name: bad}\n"
        "spec:\n  baseModel: {path: x}\n  dataset: {generate: {}}\n  training: {learningRate: -1}\n"
    )
    result = run([str(bad), "--output", str(workdir / "bad-out")], vllm_env, timeout=120)
    assert result.returncode == 2
    assert "spec.training.learningRate" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (workdir / "bad-out").exists()


def test_port_in_use_is_refused_before_training(workdir: Path, vllm_env: dict[str, str]) -> None:
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = run(
            [
                str(job(workdir, {"perplexity": {"max": 1e6}})),
                "--output",
                str(workdir / "busy"),
                "--port",
                str(port),
            ],
            vllm_env,
            timeout=120,
        )
    assert result.returncode == 2
    assert f"--port {port}: already in use" in result.stderr
    assert not (workdir / "busy").exists()
