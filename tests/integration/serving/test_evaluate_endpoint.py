"""`tradetune evaluate --endpoint` on real vLLM: the live metrics equal the offline ones.

One server (the module's `served` fixture: the tiny model, float32, with an API key) answers
the parity tests. Parity: greedy generations identical item by item, perplexity within 1%, the
same PineScript and accuracy numbers. The catch: a second server serves the base (the same
architecture and tokenizer, untrained weights) under the tuned name, as an adapter that did
not load or a wrong directory would; its live metrics fail the verification against the
tuned model's record by a large margin.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.integration.serving.conftest import API_KEY, RunningServe, cli, start_serve
from tradetune.api import EvalMetrics, verify_live
from tradetune.datagen import generate_records
from tradetune.evaluation import Endpoint, EvalOptions, evaluate_endpoint, evaluate_records
from tradetune.serving import free_port
from tradetune.training import build_tiny_model

pytestmark = pytest.mark.slow

OPTIONS = EvalOptions(samples=1000, max_new_tokens=40, batch_size=8)


@pytest.fixture(scope="module")
def records() -> list[dict[str, Any]]:
    """A test split with PineScript-writing and computed-answer items among the others."""
    return [dict(r) for r in generate_records(24, seed=7)]


@pytest.fixture(scope="module")
def offline(tiny_model: Path, records: list[dict[str, Any]]) -> Any:
    return evaluate_records(records, tiny_model, options=OPTIONS)


@pytest.fixture(scope="module")
def live(served: RunningServe, records: list[dict[str, Any]]) -> Any:
    endpoint = Endpoint(url=served.base_url, model=served.model_name, api_key=API_KEY, concurrency=4)
    return evaluate_endpoint(records, endpoint, options=OPTIONS)


def test_live_generations_are_the_offline_ones(
    offline: Any, live: Any, records: list[dict[str, Any]]
) -> None:
    assert live.items == offline.items == len(records)
    offline_gen = {r["id"]: r["generation"] for r in offline.sample_rows}
    live_gen = {r["id"]: r["generation"] for r in live.sample_rows}
    assert set(live_gen) == set(offline_gen) and len(live_gen) == len(records)
    assert any(text.strip() for text in live_gen.values())
    assert live_gen == offline_gen


def test_live_metrics_equal_offline(offline: Any, live: Any) -> None:
    on, off = live.metrics, offline.metrics
    assert on.perplexity is not None and off.perplexity is not None
    assert math.isclose(on.perplexity, off.perplexity, rel_tol=0.01), (on.perplexity, off.perplexity)
    assert on.full_text_perplexity is not None and off.full_text_perplexity is not None
    assert math.isclose(on.full_text_perplexity, off.full_text_perplexity, rel_tol=0.01)
    assert on.pine_syntax_score == off.pine_syntax_score
    assert on.pine_parse_rate == off.pine_parse_rate
    assert on.task_accuracy == off.task_accuracy
    assert on.task_accuracy_by_task == off.task_accuracy_by_task
    assert verify_live(on, off).passed
    print(f"\nlive vs offline perplexity {on.perplexity:.6f} vs {off.perplexity:.6f}")


def test_cli_writes_the_offline_json_shape(
    served: RunningServe, vllm_env: dict[str, str], records: list[dict[str, Any]], live: Any, tmp_path: Path
) -> None:
    data = tmp_path / "test.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in records))
    env = {**vllm_env, "EVAL_KEY": API_KEY, "TRADETUNE_RESULT_PATH": str(tmp_path / "termination")}
    out = tmp_path / "eval"
    args = ["evaluate", "--endpoint", served.base_url, "--data", str(data), "--output", str(out)]
    done = cli(
        *args, "--api-key-env", "EVAL_KEY", "--max-new-tokens", "40", "--concurrency", "8", "--json", env=env
    )
    assert done.returncode == 0, done.stderr[-3000:]
    doc = json.loads(done.stdout.strip().splitlines()[-1])
    assert doc["items"] == len(records) and doc["endpoint"] == served.base_url
    assert EvalMetrics.model_validate(doc["metrics"]) == live.metrics
    assert json.loads((out / "evaluation.json").read_text()) == doc
    result = json.loads((tmp_path / "termination").read_text())
    assert result["outcome"] == "Succeeded"
    assert math.isclose(result["metrics"]["perplexity"], live.metrics.perplexity, rel_tol=1e-6)


def test_cli_without_the_key_fails_with_one_clear_message(
    served: RunningServe, vllm_env: dict[str, str], records: list[dict[str, Any]], tmp_path: Path
) -> None:
    data = tmp_path / "test.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in records[:2]))
    env = {**vllm_env, "TRADETUNE_RESULT_PATH": str(tmp_path / "termination")}
    done = cli(
        "evaluate", "--endpoint", served.base_url, "--data", str(data), "-o", str(tmp_path / "e"), env=env
    )
    assert done.returncode == 2, done.stderr[-2000:]
    assert "API key" in done.stderr and "Traceback" not in done.stderr
    assert json.loads((tmp_path / "termination").read_text())["reason"] == "EndpointUnauthorized"


@pytest.fixture(scope="module")
def served_base(vllm_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServe]:
    """The *base* (the same architecture and tokenizer, untrained weights) served under the tuned name."""
    base = build_tiny_model(tmp_path_factory.mktemp("base") / "base", seed=0, pretrain_steps=0)
    env = {**vllm_env, "VLLM_API_KEY": API_KEY}
    port = free_port()
    log = tmp_path_factory.mktemp("serve-base") / "serve.log"
    proc = start_serve(
        ["--model", str(base), "--dtype", "float32", "--served-model-name", "tiny"], env, log, port
    )
    try:
        yield RunningServe(proc, f"http://127.0.0.1:{port}", "tiny", log)
    finally:
        if proc.poll() is None:
            proc.terminate()
            proc.wait(60)


def test_the_base_served_under_the_tuned_name_is_caught(
    served_base: RunningServe, offline: Any, records: list[dict[str, Any]]
) -> None:
    endpoint = Endpoint(url=served_base.base_url, model="tiny", api_key=API_KEY, concurrency=4)
    wrong = evaluate_endpoint(records, endpoint, options=OPTIONS).metrics
    result = verify_live(wrong, offline.metrics)
    assert not result.passed
    ppl = next(v for v in result.verdicts if v.metric == "perplexity")
    assert wrong.perplexity is not None and offline.metrics.perplexity is not None
    assert not ppl.passed and wrong.perplexity > 2 * offline.metrics.perplexity, ppl.message
    recorded = offline.metrics.perplexity
    print(f"\nbase served as tuned: perplexity {wrong.perplexity:.3f} vs recorded {recorded:.3f}")
