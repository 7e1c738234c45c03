"""`tradetune validate` and `tradetune crds`, run in-process through the real CLI entry point."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tradetune.cli import main

ROOT = Path(__file__).resolve().parents[3]


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    with pytest.raises(SystemExit) as info:
        main(args)
        raise SystemExit(0)
    out = capsys.readouterr()
    code = info.value.code
    return (code if isinstance(code, int) else 0), out.out + out.err


def test_validate_examples_ok(capsys: pytest.CaptureFixture[str]) -> None:
    files = sorted(str(p) for p in (ROOT / "examples").glob("*.yaml"))
    code, out = run(["validate", *files], capsys)
    assert code == 0, out
    assert out.count(": ok (") == len(files)
    assert "FineTuneJob/trading-mistral-7b" in out and "ModelServe/trading-mistral" in out


def test_validate_reports_every_problem_and_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.yaml"
    example = (ROOT / "examples/finetunejob.yaml").read_text()
    bad.write_text(example.replace("learningRate: 2.0e-4", "learningRate: -1") + "---\nkind: Pod\n")
    pod_line = example.count("\n") + 2
    rate_line = example[: example.index("learningRate")].count("\n") + 1
    broken = tmp_path / "broken.yaml"
    broken.write_text("spec:\n  a: [1\n")
    good = ROOT / "examples/modelserve.yaml"
    code, out = run(["validate", str(bad), str(broken), str(good)], capsys)
    assert code == 2
    lines = out.splitlines()
    assert f"{bad}: document 1: spec.training.learningRate: must be > 0 (got -1) (line {rate_line})" in lines
    assert f"{bad}: document 2: apiVersion: required (tradetune.dev/v1alpha1) (line {pod_line})" in lines
    assert (
        f"{bad}: document 2: kind: must be FineTuneJob or ModelServe (got 'Pod') (line {pod_line})" in lines
    )
    assert any(line.startswith(f"{broken}: line 3, column 1: invalid YAML") for line in lines)
    assert f"{good}: ok (ModelServe/trading-mistral)" in lines
    assert lines[-1] == "4 problem(s) found"
    assert "Traceback" not in out


def test_validate_missing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run(["validate", str(tmp_path / "nope.yaml")], capsys)
    assert code == 2 and "cannot read" in out


def test_crds_check_passes_on_committed_crds(capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run(["crds", "--check", "--output-dir", str(ROOT / "crds")], capsys)
    assert code == 0, out
    assert "up to date" in out


def test_crds_write_then_check_detects_staleness(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "crds"
    code, out = run(["crds", "--output-dir", str(target)], capsys)
    assert code == 0
    assert sorted(p.name for p in target.iterdir()) == [
        "finetunejobs.yaml",
        "modelserves.yaml",
        "peering.yaml",
    ]
    for name in ("finetunejobs.yaml", "modelserves.yaml", "peering.yaml"):
        assert (target / name).read_text() == (ROOT / "crds" / name).read_text()
    stale = target / "finetunejobs.yaml"
    stale.write_text(stale.read_text().replace("shortNames:\n    - ftj", "shortNames:\n    - fj"))
    (target / "modelserves.yaml").unlink()
    code, out = run(["crds", "--check", "--output-dir", str(target)], capsys)
    assert code == 1
    assert f"{stale}: stale (+1 -1 lines)" in out
    assert f"{target / 'modelserves.yaml'}: missing" in out
    assert "-    - fj" in out and "+    - ftj" in out
    assert "2 file(s) out of date" in out
    assert stale.read_text().count("- fj") == 1, "--check writes nothing"


def test_crds_leave_no_temporary_files_and_are_readable(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shutil.copytree(ROOT / "crds", tmp_path / "crds")
    code, _ = run(["crds", "--output-dir", str(tmp_path / "crds")], capsys)
    assert code == 0
    assert not [p for p in (tmp_path / "crds").iterdir() if p.name.startswith(".")]
    umask = os.umask(0)
    os.umask(umask)
    # written through a private temporary file, yet with the permissions of any new file
    assert {p.stat().st_mode & 0o777 for p in (tmp_path / "crds").iterdir()} == {0o666 & ~umask}


def test_explain_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run(["explain", "ftj.spec.training.learningRate"], capsys)
    assert code == 0 and "FIELD: learningRate <number>" in out
    code, out = run(["explain", "ftj.spec.nope"], capsys)
    assert code == 2 and "field 'nope' does not exist in finetunejob.spec" in out
    code, _ = run(["explain", "--markdown", "--output", str(tmp_path / "ref.md")], capsys)
    assert code == 0
    assert (tmp_path / "ref.md").read_text() == (ROOT / "docs/api-reference.md").read_text()


def test_validate_reads_stdin(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    import io

    text = (ROOT / "examples/modelserve.yaml").read_text()
    monkeypatch.setattr("sys.stdin", io.StringIO(text))
    code, out = run(["validate", "-"], capsys)
    assert code == 0 and "<stdin>: ok (ModelServe/trading-mistral)" in out
    monkeypatch.setattr("sys.stdin", io.StringIO(text.replace("replicas: 1", "replicas: -1")))
    code, out = run(["validate", "-"], capsys)
    assert code == 2 and "<stdin>: spec.replicas: must be >= 0 (got -1)" in out
