"""Every command in the README, run as written on a fresh checkout, or named with the test that runs it.

A README command that is neither run here nor listed in COVERED_ELSEWHERE fails the suite, so
the README cannot gain a command nobody tried.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
IMAGES = "scripts/build_images.sh"  # what `make images` runs

# Run here as written (`.venv/bin/tradetune` becomes this interpreter with `-m tradetune`), in
# a fresh directory holding only what a clone has (examples/), in README order.
RUN_HERE = [
    ".venv/bin/tradetune generate --size 10000 --output datasets/train.jsonl --seed 42",
    ".venv/bin/tradetune dataset split --out datasets --train 10000 --val 1000 --test 1000 --seed 42",
    ".venv/bin/tradetune dataset stats datasets/train.jsonl",
    ".venv/bin/tradetune validate examples/finetunejob-local.yaml",
]
# Commands whose cost or needs (a model, a server, a cluster, a registry) put them elsewhere.
COVERED_ELSEWHERE = {
    "make demo": "tests/integration/local/test_run.py runs the same `tradetune run --exit-after-sample`",
    "make test": "is CI itself",
    "make help": "test_make_help_lists_every_readme_target below",
    "make unit": "test_make_help_lists_every_readme_target (the target); CI runs the tests",
    "make integration": "test_make_help_lists_every_readme_target (the target); CI runs the tests",
    "make e2e": "tests/e2e (needs KUBECONFIG)",
    "make bench": "tests/integration/bench/test_smoke.py runs every bench (smoke sizes)",
    "make bench-smoke": "tests/integration/bench/test_smoke.py",
    "make images": "test_make_images_without_a_builder_says_so and test_make_images_builds_three_images",
    ".venv/bin/tradetune run": "tests/integration/local/test_run.py",
    ".venv/bin/tradetune serve": "tests/integration/serving/test_serve.py",
    "curl -s localhost:8000/generate": "tests/integration/serving/test_serve.py::test_generate_*",
    "for i in operator trainer server; do docker push": "needs a registry",
    "helm install tradetune charts/tradetune": "tests/integration/chart/test_render.py renders the chart",
    "kubectl create secret generic hf-token": "needs a cluster (tests/e2e)",
    "kubectl apply -f examples/finetunejob.yaml": "a cluster (tests/e2e); tests/integration/api validates it",
    "kubectl get ftj -w": "needs a cluster (tests/e2e)",
}


def readme_commands() -> list[str]:
    """Each command of the README's bash blocks, continuation lines joined, comments dropped."""
    text = (REPO / "README.md").read_text()
    commands: list[str] = []
    for block in re.findall(r"```bash\n(.*?)```", text, re.S):
        joined = re.sub(r"\\\n\s*", "", block)
        for line in joined.splitlines():
            command = re.sub(r"\s+#\s.*$", "", line).strip()
            if command and not command.startswith("#"):
                commands.append(command)
    return commands


def test_every_readme_command_is_run_or_covered() -> None:
    for command in readme_commands():
        assert command in RUN_HERE or any(command.startswith(p) for p in COVERED_ELSEWHERE), (
            f"README command not tested: {command!r}: add it to RUN_HERE or COVERED_ELSEWHERE"
        )
    assert all(c in readme_commands() for c in RUN_HERE), "RUN_HERE names a command the README dropped"


def test_readme_commands_run_as_written_on_a_fresh_checkout(tmp_path: Path) -> None:
    shutil.copytree(REPO / "examples", tmp_path / "examples")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    for command in RUN_HERE:
        argv = [sys.executable, "-m", "tradetune", *command.split()[1:]]
        proc = subprocess.run(argv, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
        assert proc.returncode == 0, f"{command}\n{proc.stderr[-2000:]}"
    assert len((tmp_path / "datasets" / "train.jsonl").read_text().splitlines()) == 10_000
    assert sorted(p.name for p in (tmp_path / "datasets").iterdir()) == [
        "manifest.json",
        "test.jsonl",
        "train.jsonl",
        "val.jsonl",
    ]


def test_make_help_lists_every_readme_target() -> None:
    out = subprocess.run(["make", "help"], cwd=REPO, capture_output=True, text=True, check=True).stdout
    targets = {line.split()[0] for line in out.splitlines() if line.strip()}
    wanted = {c.split()[1] for c in readme_commands() if c.startswith("make ")}
    assert wanted <= targets, wanted - targets


def _tool_dir(tmp_path: Path, *tools: str) -> Path:
    """A PATH holding only the tools the image script needs (and no docker/podman/buildah)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("sed", "head", "cat", *tools):
        found = shutil.which(tool)
        assert found, tool
        (bin_dir / tool).symlink_to(found)
    return bin_dir


def test_make_images_without_a_builder_says_so(tmp_path: Path) -> None:
    bash = shutil.which("bash") or "/bin/bash"
    env = {"PATH": str(_tool_dir(tmp_path)), "HOME": str(tmp_path)}
    proc = subprocess.run(
        [bash, "scripts/build_images.sh"], cwd=REPO, env=env, capture_output=True, text=True
    )
    assert proc.returncode == 2
    assert proc.stderr.strip() == (
        "make images: no image builder found; install docker, podman or buildah (or set BUILDER=...)"
    )


@pytest.mark.parametrize("builder", ["docker", "podman", "buildah"])
def test_make_images_builds_three_images(tmp_path: Path, builder: str) -> None:
    """With a builder on PATH (here one that records its arguments), the three images are built."""
    bin_dir = _tool_dir(tmp_path)
    log = tmp_path / "calls"
    fake = bin_dir / builder
    fake.write_text(f'#!/bin/sh\necho "$*" >> {log}\n')
    fake.chmod(0o755)
    bash = shutil.which("bash") or "/bin/bash"
    env = {"PATH": str(bin_dir), "HOME": str(tmp_path), "REGISTRY": "reg.example/tt", "TAG": "9.9"}
    proc = subprocess.run(
        [bash, "scripts/build_images.sh"], cwd=REPO, env=env, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr
    verb = "bud" if builder == "buildah" else "build"
    assert log.read_text().splitlines() == [
        f"{verb} -f operator/Dockerfile -t reg.example/tt/operator:9.9 .",
        f"{verb} -f trainer_image/Dockerfile -t reg.example/tt/trainer:9.9 .",
        f"{verb} -f server_image/Dockerfile -t reg.example/tt/server:9.9 .",
    ]
    assert "image.repository=reg.example/tt/operator" in proc.stdout
