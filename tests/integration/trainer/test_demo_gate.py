"""The demo job's gate is honest: the same job with its adapter zeroed (no learning) fails it.

A gate that only asks "better than the base" passes 0 vs 0; the demo's absolute bounds must
stop a run that learned nothing. The adapter is the job's own LoRA shape with every B matrix
zeroed (the update B·A is then exactly zero), merged and evaluated by the trainer's code on
held-out items of the job's own families, then judged by the job's own gate.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from tradetune.api import gate, load_finetunejob
from tradetune.datagen import generate_records
from tradetune.evaluation import EvalOptions, evaluate_records
from tradetune.training.merge import merge_adapter
from tradetune.training.plan import lora_kwargs

from .conftest import REPO

pytestmark = pytest.mark.slow

DEMO_JOB = REPO / "examples" / "finetunejob-local.yaml"


def _zeroed_adapter(base: Path, out: Path) -> Path:
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    spec = load_finetunejob(DEMO_JOB).spec
    lora = lora_kwargs(spec)
    assert lora is not None
    model = get_peft_model(AutoModelForCausalLM.from_pretrained(str(base)), LoraConfig(**lora))
    zeroed = 0
    with torch.no_grad():
        for name, param in model.named_parameters():
            if "lora_B" in name:
                param.zero_()
                zeroed += 1
            elif "lora_A" in name:
                param.normal_()  # A is not the reason the update vanishes
    assert zeroed > 0
    model.save_pretrained(str(out))
    return out


def test_the_demo_job_with_its_adapter_zeroed_fails_its_gate(tiny_base: Path, tmp_path: Path) -> None:
    from transformers import AutoTokenizer

    spec = load_finetunejob(DEMO_JOB).spec
    generate_spec = spec.dataset.generate
    assert generate_spec is not None
    adapter = _zeroed_adapter(tiny_base, tmp_path / "adapter")
    merged = merge_adapter(
        str(tiny_base), adapter, tmp_path / "merged", AutoTokenizer.from_pretrained(str(tiny_base))
    )
    # Held-out items of the job's own families (a seed the job's splits do not use), few and
    # with short generations so the test stays small on 2 cores.
    items = list(generate_records(16, generate_spec.seed + 1, generate_spec.tasks))
    report = evaluate_records(
        items, merged, base=tiny_base, options=EvalOptions(samples=0, max_new_tokens=48, batch_size=8)
    )
    assert report.base_metrics is not None
    # The zeroed adapter changes nothing: the "tuned" model scores exactly as its base.
    assert report.metrics.perplexity == pytest.approx(report.base_metrics.perplexity, rel=1e-4)
    assert report.metrics.task_accuracy == report.base_metrics.task_accuracy

    result = gate(
        report.metrics,
        spec.evaluation.thresholds,
        report.base_metrics,
        compare_to_base=spec.evaluation.compare_to_base,
    )
    assert not result.passed
    # An absolute bound stops it, not only the comparison with the base.
    missed = [v.message for v in result.verdicts if "< min" in v.message or "> max" in v.message]
    assert missed, [v.message for v in result.verdicts]
