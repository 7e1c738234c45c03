"""The other two methods on the same code path: lora (16-bit base) and full fine-tuning."""

from __future__ import annotations

from pathlib import Path

import pytest

from tradetune.api import FineTuneJob
from tradetune.training import train

from .conftest import job_document

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("method", ["lora", "full"])
def test_method_trains_merges_and_evaluates(method: str, tiny_base: Path, tmp_path: Path) -> None:
    doc = job_document(tiny_base, maxSteps=3, evalSteps=3, saveSteps=3, earlyStopping=None, packing=False)
    doc["spec"]["method"] = method
    doc["spec"]["dataset"]["generate"] = {"train": 30, "validation": 10, "test": 10, "seed": 3}
    doc["spec"]["evaluation"] = {"samples": 2, "maxItems": 10, "maxNewTokens": 8}
    job = FineTuneJob.model_validate(doc)
    out = tmp_path / "out"
    result = train(job.spec, out, result_path=str(tmp_path / "term"))
    assert result.outcome == "Succeeded", result.message
    assert result.artifacts is not None and result.metrics is not None
    assert result.base_metrics is None  # compareToBase is off
    assert (out / "merged" / "model.safetensors").is_file()
    assert (out / "merged" / "chat_template.jinja").is_file()
    if method == "full":
        assert result.artifacts.adapter is None and not (out / "adapter").exists()
    else:
        assert result.artifacts.adapter == "adapter" and (out / "adapter" / "adapter_config.json").is_file()
    assert result.metrics.perplexity is not None and result.metrics.perplexity > 1
    assert "trained 3 steps" in result.message and result.attempts == 1
