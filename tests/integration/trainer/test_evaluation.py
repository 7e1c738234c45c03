"""The evaluation suite on real models: batched equals one-at-a-time; the CLI reproduces train's numbers."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from tradetune.cli import main
from tradetune.evaluation import (
    PINE_TASKS,
    Scored,
    encode_records,
    extract_code,
    generate,
    load_model,
    parses,
    pine_metrics,
    pine_report,
    score,
)
from tradetune.records import read_jsonl

from .conftest import TrainedRun, random_llama

pytestmark = pytest.mark.slow


def test_batched_perplexity_equals_one_at_a_time_and_hf_loss(trained_run: TrainedRun) -> None:
    import torch

    model, tok = load_model(trained_run.output / "merged")
    records = read_jsonl(trained_run.output / "data" / "test.jsonl")[:12]
    items = encode_records(tok, records, max_length=1024)
    assert len({len(i.ids) for i in items}) > 3  # lengths differ, so batches are padded
    batched = score(model, items, pad_id=tok.pad_token_id, batch_size=6)
    single = score(model, items, pad_id=tok.pad_token_id, batch_size=1)
    assert batched.full_tokens == single.full_tokens == sum(len(i.ids) - 1 for i in items)
    assert (
        batched.response_tokens == single.response_tokens == sum(len(i.ids) - i.first_target for i in items)
    )
    assert math.isclose(batched.full_nll, single.full_nll, rel_tol=1e-5)
    assert math.isclose(batched.response_nll, single.response_nll, rel_tol=1e-5)
    # one sequence: our full-text loss is exactly transformers' mean loss over predicted tokens
    one = items[0]
    ids = torch.tensor([one.ids])
    with torch.no_grad():
        hf_loss = float(model(input_ids=ids, labels=ids).loss)
    assert math.isclose(score(model, [one], pad_id=tok.pad_token_id).full_loss or 0, hf_loss, rel_tol=1e-5)


def test_batched_scoring_equals_one_at_a_time_on_a_random_model() -> None:
    """The same equality without a trained run: padded batches change nothing but speed."""
    import random

    model = random_llama(vocab_size=96, layers=2, pad_token_id=0)
    rng = random.Random(1)
    items = [
        Scored(ids=[rng.randrange(1, 96) for _ in range(n)], first_target=rng.randrange(1, n))
        for n in (5, 9, 17, 17, 30, 41, 63)
    ]
    single = score(model, items, pad_id=0, batch_size=1)
    for batch_size in (2, 3, 7):
        batched = score(model, items, pad_id=0, batch_size=batch_size)
        assert batched.full_tokens == single.full_tokens == sum(len(i.ids) - 1 for i in items)
        assert (
            batched.response_tokens
            == single.response_tokens
            == sum(len(i.ids) - i.first_target for i in items)
        )
        assert math.isclose(batched.full_nll, single.full_nll, rel_tol=1e-5)
        assert math.isclose(batched.response_nll, single.response_nll, rel_tol=1e-5)


def test_batched_generation_matches_single_generation(tiny_base: Path) -> None:
    model, tok = load_model(tiny_base)
    prompts = [
        "Explain RSI.",
        "Write a Pine Script v5 strategy for an EMA crossover on BTCUSD.",
        "What is a doji?",
    ]
    batched = generate(model, tok, prompts, max_new_tokens=12, batch_size=3)
    single = [generate(model, tok, [p], max_new_tokens=12, batch_size=1)[0] for p in prompts]
    assert batched == single  # left padding does not change what a prompt produces
    assert all(isinstance(text, str) for text in batched)


def test_evaluate_cli_reproduces_the_training_evaluation(
    trained_run: TrainedRun, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = trained_run.output
    with pytest.raises(SystemExit) as done:
        main(
            [
                "evaluate",
                "--model", str(out / "merged"),
                "--data", str(out / "data" / "test.jsonl"),
                "--base", str(trained_run.base),
                "--json",
                "--output", str(tmp_path / "eval"),
                "--samples", "12",
                "--max-items", "30",
                "--max-new-tokens", "48",
                "--seed", "42",
            ]
        )  # fmt: skip
    assert done.value.code in (0, None)
    doc = json.loads(capsys.readouterr().out)
    trained = trained_run.result
    assert trained.metrics is not None and trained.base_metrics is not None
    assert doc["items"] == 30
    for key, mine in (("metrics", trained.metrics), ("baseMetrics", trained.base_metrics)):
        got = doc[key]
        assert math.isclose(got["perplexity"], mine.perplexity or 0, rel_tol=1e-6)
        assert math.isclose(got["fullTextPerplexity"], mine.full_text_perplexity or 0, rel_tol=1e-6)
        assert got["pineSyntaxScore"] == mine.pine_syntax_score
        assert got["pineParseRate"] == mine.pine_parse_rate
        assert got.get("pineValidRate") == mine.pine_valid_rate
        assert got["taskAccuracy"] == mine.task_accuracy
        assert got["taskAccuracyByTask"] == mine.task_accuracy_by_task
    assert (tmp_path / "eval" / "samples.jsonl").read_text() == (out / "samples.jsonl").read_text()
    assert json.loads((tmp_path / "eval" / "evaluation.json").read_text()) == doc


def test_evaluate_cli_names_a_bad_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], tiny_base: Path
) -> None:
    data = tmp_path / "test.jsonl"
    data.write_text('{"instruction": "a", "response": "b"}\nnot json\n')
    with pytest.raises(SystemExit) as exit_info:
        main(["evaluate", "--model", str(tiny_base), "--data", str(data), "--output", str(tmp_path / "e")])
    assert exit_info.value.code == 2
    assert "test.jsonl: line 2: not valid JSON" in capsys.readouterr().err


def test_reference_programs_parse_and_broken_ones_do_not(trained_run: TrainedRun) -> None:
    records = read_jsonl(trained_run.output / "data" / "test.jsonl")
    programs = [r["response"] for r in records if r["task"] in PINE_TASKS]
    assert len(programs) >= 3
    syntax, rate = pine_metrics(programs)
    assert syntax == 1.0 and rate == 1.0  # the dataset's own answers pass every check
    assert pine_report(programs, workers=1).valid_rate == 1.0  # ... and the v5 semantic check
    broken = [extract_code(p) + "\nplot(close, " for p in programs]  # an unclosed call at the end
    assert not any(parses(code) for code in broken)
    assert pine_metrics(broken)[1] == 0.0
    assert pine_metrics([]) == (None, None)
