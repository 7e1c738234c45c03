"""`tradetune generate` and `tradetune dataset split|stats|convert`, in-process."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tradetune.cli import main


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    try:
        main(argv)
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def test_generate_writes_exact_size_and_is_byte_identical(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a, b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    assert run(["generate", "--size", "123", "--output", str(a), "--seed", "42"], capsys)[0] == 0
    assert run(["generate", "--size", "123", "--output", str(b), "--seed", "42"], capsys)[0] == 0
    assert a.read_bytes() == b.read_bytes()
    assert len(a.read_text().splitlines()) == 123
    assert run(["generate", "--size", "123", "--output", str(b), "--seed", "43"], capsys)[0] == 0
    assert a.read_bytes() != b.read_bytes()


def test_generate_openai_format_and_task_filter(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "o.jsonl"
    argv = ["generate", "--size", "6", "--output", str(out), "--format", "openai", "--task", "pine_strategy"]
    assert run([*argv, "--task", "indicator_math"], capsys)[0] == 0
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(lines) == 6
    assert all(list(obj) == ["messages"] for obj in lines)
    assert sum(obj["messages"][1]["content"].startswith("//@version=5") for obj in lines) == 3


@pytest.mark.parametrize(
    ("extra", "needle"),
    [
        (["--size", "0"], "--size"),
        (["--size", "-5"], "--size"),
        (["--size", "1.5"], "--size"),
        (["--size", "ten"], "--size"),
        (["--size", "5", "--task", "astrology"], "astrology"),
        (["--size", "5", "--format", "csv"], "--format"),
        (["--size", "5", "--seed", "x"], "--seed"),
    ],
)
def test_generate_bad_input(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: list[str], needle: str
) -> None:
    code, _, err = run(["generate", "--output", str(tmp_path / "x.jsonl"), *extra], capsys)
    assert code == 2
    assert needle in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert list(tmp_path.iterdir()) == []


def test_generate_creates_missing_parent_directories(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The guide's first command names `datasets/train.jsonl` in a fresh checkout."""
    target = tmp_path / "datasets" / "nested" / "train.jsonl"
    code, _, err = run(["generate", "--size", "3", "--output", str(target), "--seed", "42"], capsys)
    assert code == 0, err
    assert len(target.read_text().splitlines()) == 3


def test_generate_bad_output_paths(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "file").write_text("")
    for target in (tmp_path / "file" / "x.jsonl", tmp_path / "file" / "deeper" / "x.jsonl"):
        code, _, err = run(["generate", "--size", "3", "--output", str(target)], capsys)
        assert code == 2 and "is a file, not a directory" in err and "--output" in err
        assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert [p.name for p in tmp_path.iterdir()] == ["file"]
    assert (tmp_path / "file").read_text() == ""


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes to read-only directories")
def test_generate_refuses_an_unwritable_directory(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o555)
    try:
        for target in (locked / "x.jsonl", locked / "sub" / "x.jsonl"):
            code, _, err = run(["generate", "--size", "3", "--output", str(target)], capsys)
            assert code == 2 and "--output" in err and str(locked) in err
            assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
        assert list(locked.iterdir()) == []
    finally:
        locked.chmod(0o755)


def test_progress_bar_only_above_ten_thousand(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "p.jsonl"
    _, _, err = run(
        ["generate", "--size", "10000", "--output", str(out), "--task", "position_sizing"], capsys
    )
    assert "generating" not in err
    _, _, err = run(
        ["generate", "--size", "10001", "--output", str(out), "--task", "position_sizing"], capsys
    )
    assert "generating" in err and "10001/10001" in err
    assert len(out.read_text().splitlines()) == 10001


def test_split_stats_convert(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    d = tmp_path / "ds"
    code, out, _ = run(
        ["dataset", "split", "--out", str(d), "--train", "40", "--val", "10", "--test", "10"], capsys
    )
    assert code == 0 and "overlap: train/val 0, train/test 0, val/test 0" in out
    manifest = json.loads((d / "manifest.json").read_text())
    assert [manifest["splits"][s]["records"] for s in ("train", "val", "test")] == [40, 10, 10]

    code, out, _ = run(["dataset", "stats", str(d / "train.jsonl")], capsys)
    assert code == 0
    for task in manifest["tasks"]:
        assert task in out
    assert "duplicate rate: 0.00%" in out
    code, out, _ = run(["dataset", "stats", str(d / "train.jsonl"), "--json"], capsys)
    stats = json.loads(out)
    assert stats["total"]["records"] == 40 and stats["by_task"]["pine_strategy"]["records"] == 4
    assert stats["total"]["chars"]["p50"] <= stats["total"]["chars"]["p90"] <= stats["total"]["chars"]["max"]

    conv = tmp_path / "openai.jsonl"
    assert (
        run(["dataset", "convert", str(d / "val.jsonl"), "--to", "openai", "--output", str(conv)], capsys)[0]
        == 0
    )
    originals = [json.loads(line) for line in (d / "val.jsonl").read_text().splitlines()]
    converted = [json.loads(line) for line in conv.read_text().splitlines()]
    assert [c["messages"][0]["content"] for c in converted] == [o["instruction"] for o in originals]
    back = tmp_path / "back.jsonl"
    assert run(["dataset", "convert", str(conv), "--to", "alpaca", "--output", str(back)], capsys)[0] == 0
    assert [json.loads(x)["response"] for x in back.read_text().splitlines()] == [
        o["response"] for o in originals
    ]


def test_split_refusal_names_the_family(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    d = tmp_path / "big"
    code, _, err = run(
        ["dataset", "split", "--out", str(d), "--train", "500000", "--task", "market_structure"], capsys
    )
    assert code == 2 and "market_structure" in err and "distinct" in err
    assert not d.exists()


def test_stats_and_convert_name_the_bad_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"instruction": "a", "response": "b"}\n{"instruction": "a"}\n')
    code, _, err = run(["dataset", "stats", str(bad)], capsys)
    assert code == 2 and "bad.jsonl: line 2" in err and "response" in err
    code, _, err = run(
        ["dataset", "convert", str(bad), "--to", "openai", "--output", str(tmp_path / "o.jsonl")], capsys
    )
    assert code == 2 and "bad.jsonl: line 2" in err
    assert not (tmp_path / "o.jsonl").exists()
    code, _, err = run(
        ["dataset", "convert", str(bad), "--to", "yaml", "--output", str(tmp_path / "o.jsonl")], capsys
    )
    assert code == 2 and "--to" in err


def test_help_lists_every_task_id() -> None:
    from tradetune.cli._datagen import _TASK_IDS
    from tradetune.datagen import TASKS

    assert _TASK_IDS.split(", ") == list(TASKS)


def test_stats_counts_items_with_several_valid_answers(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "p.jsonl"
    assert (
        run(["generate", "--size", "300", "--output", str(data), "--task", "pattern_recognition"], capsys)[0]
        == 0
    )
    records = [json.loads(line) for line in data.read_text().splitlines()]
    several = sum(isinstance(r["meta"]["answer"], list) and len(r["meta"]["answer"]) > 1 for r in records)
    assert several > 0
    code, out, _ = run(["dataset", "stats", str(data), "--json"], capsys)
    stats = json.loads(out)
    assert stats["by_task"]["pattern_recognition"]["multiple_valid_answers"] == several
    assert stats["undeclared_multi_answer_tasks"] == []
    code, out, _ = run(["dataset", "stats", str(data)], capsys)
    assert code == 0 and f"{several} items accept more than one answer" in out
    assert "Declared by: pattern_recognition" in out and "not declared" not in out

    # A task whose family never declares several answers is called out.
    records[0]["task"] = "position_sizing"
    records[0]["meta"]["answer"] = ["12", "13"]
    data.write_text("".join(json.dumps(r) + "\n" for r in records))
    code, out, _ = run(["dataset", "stats", str(data), "--json"], capsys)
    assert json.loads(out)["undeclared_multi_answer_tasks"] == ["position_sizing"]
    code, out, _ = run(["dataset", "stats", str(data)], capsys)
    assert "not declared (!): position_sizing" in out
