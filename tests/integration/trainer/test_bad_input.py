"""Bad input to `tradetune train`: one clear message, a non-zero exit, a Failed TrainResult with a reason."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tradetune.api import TrainResult
from tradetune.cli import main

GOOD = {"instruction": "Explain a doji.", "response": "Indecision.", "task": "candlestick_knowledge"}


def dataset(path: Path, *, train: str | None = None, val: str | None = None) -> Path:
    path.mkdir(parents=True)
    good = json.dumps(GOOD) + "\n"
    (path / "train.jsonl").write_text(train if train is not None else good * 4)
    (path / "val.jsonl").write_text(val if val is not None else good)
    (path / "test.jsonl").write_text(good)
    return path


def run_train(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    spec: dict[str, Any],
    output: Path | None = None,
) -> tuple[int, str, TrainResult, Path]:
    result_file = tmp_path / "termination-log"
    monkeypatch.setenv("TRADETUNE_RESULT_PATH", str(result_file))
    config = tmp_path / "job.yaml"
    config.write_text(yaml.safe_dump(spec))
    out = output or tmp_path / "out"
    with pytest.raises(SystemExit) as exit_info:
        main(["train", "--config", str(config), "--output", str(out)])
    err = capsys.readouterr().err.strip()
    result = TrainResult.from_termination_message(result_file.read_text())
    assert result.outcome == "Failed"
    assert err.count("\n") == 0 and err.startswith("error:"), err  # one line, no traceback
    return int(exit_info.value.code or 0), err, result, out


def spec_for(base: Path, data: Path, **over: Any) -> dict[str, Any]:
    return {"baseModel": {"path": str(base)}, "dataset": {"path": str(data)}, "method": "lora", **over}


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ({"train": json.dumps(GOOD) + "\n\n{broken\n"}, r"train\.jsonl: line 3: not valid JSON"),
        ({"val": ""}, r"val\.jsonl: the split is empty"),
        (
            {"train": json.dumps({"response": "x"}) + "\n"},
            r"train\.jsonl: line 1: record has no `instruction`",
        ),
        (
            {"train": json.dumps({"instruction": "x"}) + "\n"},
            r"train\.jsonl: line 1: record has no `response`",
        ),
    ],
)
def test_bad_dataset(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    files: dict[str, str],
    message: str,
) -> None:
    data = dataset(tmp_path / "data", **files)
    code, err, result, out = run_train(tmp_path, monkeypatch, capsys, spec_for(tmp_path / "nomodel", data))
    assert code == 2
    assert result.reason == "DatasetInvalid"
    assert re.search(message, err), err
    on_disk = TrainResult.model_validate_json((out / "metrics.json").read_text())
    assert on_disk.reason == "DatasetInvalid" and on_disk.message == result.message


def test_base_model_path_that_is_not_a_model(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    not_a_model = tmp_path / "weights"
    not_a_model.mkdir()
    (not_a_model / "notes.txt").write_text("no config here")
    data = dataset(tmp_path / "data")
    code, err, result, _ = run_train(tmp_path, monkeypatch, capsys, spec_for(not_a_model, data))
    assert code == 2 and result.reason == "InvalidBaseModel"
    assert "spec.baseModel" in err and str(not_a_model) in err


def test_qlora_without_bitsandbytes(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tiny_base: Path,
) -> None:
    # bitsandbytes that cannot load: its import fails, as on a machine without its native library
    monkeypatch.setitem(sys.modules, "bitsandbytes.functional", None)
    data = dataset(tmp_path / "data")
    spec = spec_for(tiny_base, data, method="qlora")
    code, err, result, _ = run_train(tmp_path, monkeypatch, capsys, spec)
    assert code == 1 and result.reason == "QuantizationUnavailable"
    assert "use method lora" in err


def test_unwritable_output(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    data = dataset(tmp_path / "data")
    code, err, result, _ = run_train(
        tmp_path, monkeypatch, capsys, spec_for(tmp_path, data), output=blocker / "out"
    )
    assert code == 2 and result.reason == "OutputNotWritable"
    assert "not writable" in err


def test_invalid_spec_still_reports_a_reason(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    data = dataset(tmp_path / "data")
    spec = spec_for(tmp_path, data, training={"learningRate": -1})
    code, err, result, _ = run_train(tmp_path, monkeypatch, capsys, spec)
    assert code == 2 and result.reason == "InvalidSpec"
    assert "learningRate" in err


def test_generated_dataset_too_big_for_a_task_family(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = {
        "baseModel": {"path": str(tmp_path)},
        "dataset": {"generate": {"train": 9_000_000, "tasks": ["candlestick_knowledge"]}},
    }
    code, err, result, _ = run_train(tmp_path, monkeypatch, capsys, spec)
    assert code == 2 and result.reason == "DatasetInvalid"
    assert "spec.dataset.generate" in err
