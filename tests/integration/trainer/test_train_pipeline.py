"""A real QLoRA fine-tune of the tiny model on CPU: killed, resumed, OOM-recovered, evaluated.

Everything here reads the one session-scoped run (see conftest.py).
"""

from __future__ import annotations

import csv
import io
import json

import pytest

from tradetune.api import TrainResult
from tradetune.datagen import answers_match  # noqa: F401  (the accuracy helpers must be importable)
from tradetune.evaluation import COMPUTED_TASKS
from tradetune.prompt import CHAT_TEMPLATE, format_prompt

from .conftest import TrainedRun

pytestmark = pytest.mark.slow


def test_run_succeeded_after_a_kill_and_an_oom(trained_run: TrainedRun) -> None:
    r = trained_run.result
    assert r.outcome == "Succeeded" and r.reason == "Completed", r.message
    # attempt 1 was killed after its first checkpoint, attempt 2 hit the injected OOM,
    # attempt 3 resumed from the checkpoint with half the micro-batch and finished
    assert trained_run.oom.raised == 1
    assert r.attempts == 3
    assert r.oom_recoveries == ["out of memory: perDeviceBatchSize 4->2, gradientAccumulationSteps 1->2"]
    assert f"resumed from {trained_run.killed_at}" in r.message
    assert "trained 16 steps" in r.message
    state = json.loads((trained_run.output / "state.json").read_text())
    assert state["attempts"] == 3 and state["memory"]["per_device_batch_size"] == 2


def test_qlora_trains_on_real_bitsandbytes_4bit_layers(trained_run: TrainedRun) -> None:
    """Not only the config dict: the model the trainer held had nf4 Linear4bit projections."""
    census = trained_run.layers
    layers = json.loads((trained_run.base / "config.json").read_text())["num_hidden_layers"]
    projections = {n.removesuffix(".base_layer") for n in census.linear4bit if "_proj" in n}
    # q, k, v, o (wrapped by LoRA, which keeps the original as base_layer), gate, up, down
    assert len(projections) == 7 * layers, census.linear4bit
    assert census.quant_types == {"nf4"}
    assert not any(n.endswith("_proj") for n in census.plain_linear), census.plain_linear


def test_train_log_spans_both_attempts(trained_run: TrainedRun) -> None:
    entries = [json.loads(line) for line in (trained_run.output / "train_log.jsonl").read_text().splitlines()]
    attempts = {e["attempt"] for e in entries}
    assert attempts == {1, 3}
    losses = [e for e in entries if "loss" in e]
    assert losses and all({"step", "learning_rate", "tokens_seen"} <= e.keys() for e in losses)
    resumed = [e for e in losses if e["attempt"] == 3]
    killed_step = int(trained_run.killed_at.split("-")[1])
    assert min(e["step"] for e in resumed) > killed_step  # it did not start again from step 0
    assert max(e["step"] for e in entries) == 16
    tokens = [e["tokens_seen"] for e in resumed]
    assert tokens == sorted(tokens) and tokens[-1] > 0
    assert any("eval_loss" in e for e in entries)


def test_output_directory_holds_every_artifact(trained_run: TrainedRun) -> None:
    out = trained_run.output
    for name in ("adapter", "merged", "checkpoints", "data"):
        assert (out / name).is_dir(), name
    for name in (
        "metrics.json",
        "train_log.jsonl",
        "samples.jsonl",
        "samples.csv",
        "samples.md",
        "state.json",
    ):
        assert (out / name).is_file(), name
    assert {"adapter_config.json", "adapter_model.safetensors"} <= {
        p.name for p in (out / "adapter").iterdir()
    }
    merged = {p.name for p in (out / "merged").iterdir()}
    assert {"config.json", "model.safetensors", "tokenizer.json", "chat_template.jinja"} <= merged
    assert (out / "merged" / "chat_template.jinja").read_text() == CHAT_TEMPLATE
    assert {"train.jsonl", "val.jsonl", "test.jsonl", "manifest.json"} <= {
        p.name for p in (out / "data").iterdir()
    }
    assert len(list((out / "checkpoints").glob("checkpoint-*"))) <= 2  # saveTotalLimit
    assert not [p for p in out.iterdir() if p.name.startswith(".")]  # no temp leftovers


def test_metrics_json_and_termination_message_agree(trained_run: TrainedRun) -> None:
    import hashlib

    full = TrainResult.model_validate_json((trained_run.output / "metrics.json").read_text())
    assert full == trained_run.result
    text = trained_run.result_file.read_text()
    assert len(text.encode()) <= 4096
    compact = TrainResult.from_termination_message(text)
    assert compact.outcome == "Succeeded" and compact.metrics is not None and full.metrics is not None
    assert compact.metrics.perplexity == full.metrics.perplexity
    artifacts = full.artifacts
    assert artifacts is not None
    assert (artifacts.adapter, artifacts.merged, artifacts.samples) == ("adapter", "merged", "samples.jsonl")
    train_bytes = (trained_run.output / "data" / "train.jsonl").read_bytes()
    assert artifacts.dataset_fingerprint == hashlib.sha256(train_bytes).hexdigest()
    assert {"dataset", "load", "train", "merge", "evaluate", "total"} <= full.timings.keys()


def test_tuned_model_beats_its_base(trained_run: TrainedRun) -> None:
    m, b = trained_run.result.metrics, trained_run.result.base_metrics
    assert m is not None and b is not None
    assert m.perplexity is not None and b.perplexity is not None
    assert m.perplexity < b.perplexity * 0.8, (m.perplexity, b.perplexity)
    assert m.eval_loss is not None and b.eval_loss is not None and m.eval_loss < b.eval_loss
    assert m.full_text_perplexity is not None and m.full_text_perplexity > 1
    assert m.train_loss is not None and m.train_loss > 0
    for metrics in (m, b):
        for value in (metrics.pine_syntax_score, metrics.pine_parse_rate, metrics.task_accuracy):
            assert value is not None and 0.0 <= value <= 1.0
        assert set(metrics.task_accuracy_by_task) <= COMPUTED_TASKS and metrics.task_accuracy_by_task
    # 16 steps over eleven families do not teach PineScript (a Pine score here is noise either
    # way); learning Pine is measured where it happens, `make demo-long` (docs/local-run.md).


def test_samples_for_rating(trained_run: TrainedRun) -> None:
    out = trained_run.output
    rows = [json.loads(line) for line in (out / "samples.jsonl").read_text().splitlines()]
    assert len(rows) == 12
    assert all(
        {"id", "task", "instruction", "reference", "generation", "base_generation"} <= r.keys() for r in rows
    )
    test_ids = {json.loads(line)["id"] for line in (out / "data" / "test.jsonl").read_text().splitlines()}
    assert {r["id"] for r in rows} <= test_ids
    table = list(csv.DictReader(io.StringIO((out / "samples.csv").read_text())))
    assert [t["id"] for t in table] == [r["id"] for r in rows]
    assert all(t["rating"] == "" for t in table)


def test_merged_model_equals_base_plus_adapter_and_speaks_the_chat_format(trained_run: TrainedRun) -> None:
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    out = trained_run.output
    tok = AutoTokenizer.from_pretrained(out / "merged")
    prompt = tok.apply_chat_template(
        [{"role": "user", "content": "Explain a bullish engulfing pattern."}],
        tokenize=False,
        add_generation_prompt=True,
    )
    assert prompt == format_prompt("Explain a bullish engulfing pattern.")
    ids = tok(prompt, return_tensors="pt")["input_ids"]
    merged = AutoModelForCausalLM.from_pretrained(out / "merged", dtype=torch.float32)
    base = AutoModelForCausalLM.from_pretrained(trained_run.base, dtype=torch.float32)
    peft = PeftModel.from_pretrained(base, str(out / "adapter"))
    with torch.no_grad():
        a = merged(input_ids=ids).logits
        b = peft(input_ids=ids).logits
    assert torch.allclose(a, b, atol=1e-4), float((a - b).abs().max())
    assert merged.config.architectures == ["LlamaForCausalLM"]
