"""`tradetune evaluate --endpoint` on real vLLM: the live metrics equal the offline ones.

One server (the module's `served` fixture: the tiny model, float32, with an API key) answers
every test. Parity: greedy generations identical item by item, perplexity within 1%, the same
PineScript and accuracy numbers, and the CLI's JSON and termination message.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

from tests.integration.serving.conftest import API_KEY, RunningServe, cli
from tradetune.api import EvalMetrics, verify_live
from tradetune.datagen import generate_records
from tradetune.evaluation import Endpoint, EvalOptions, evaluate_endpoint, evaluate_records

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
