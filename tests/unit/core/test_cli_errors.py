"""The CLI turns TradeTune's exceptions into one line and an exit code, never a traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import typer

from tradetune.cli import main
from tradetune.cli._app import app
from tradetune.errors import InvalidInput, RuntimeFailure, SpecError

ROOT = Path(__file__).resolve().parents[3]


@app.command("_raise-for-test", hidden=True)
def _raise_for_test(kind: str) -> None:
    """A hidden command used only here to drive the error mapping."""
    if kind == "invalid":
        raise InvalidInput("--size: must be a positive integer, got 0")
    if kind == "spec":
        raise SpecError([("spec.training.learningRate", "must be > 0")], source="job.yaml")
    raise RuntimeFailure("vLLM did not start")


@pytest.mark.parametrize(
    ("kind", "code", "text"),
    [
        ("invalid", 2, "--size: must be a positive integer, got 0"),
        ("spec", 2, "job.yaml: spec.training.learningRate: must be > 0"),
        ("runtime", 1, "vLLM did not start"),
    ],
)
def test_errors_become_one_message_and_an_exit_code(
    kind: str, code: int, text: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["_raise-for-test", kind])
    assert exited.value.code == code
    err = capsys.readouterr().err
    assert text in err
    assert "Traceback" not in err


def test_unknown_command_is_a_usage_error() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "tradetune", "no-such-command"], cwd=ROOT, capture_output=True, text=True
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr


def test_help_lists_the_commands() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "tradetune", "--help"], cwd=ROOT, capture_output=True, text=True
    )
    assert proc.returncode == 0
    assert "dataset" in proc.stdout


def test_spec_error_keeps_every_problem() -> None:
    err = SpecError([("spec.a", "bad"), ("spec.b", "worse")])
    assert err.problems == [("spec.a", "bad"), ("spec.b", "worse")]
    assert err.message.splitlines() == ["spec.a: bad", "spec.b: worse"]
    assert isinstance(err, InvalidInput)
    assert not isinstance(typer.Exit(), InvalidInput)
