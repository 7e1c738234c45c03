"""POST /generate is rewritten into vLLM's /v1/completions, in-process (fake inner app here)."""

from __future__ import annotations

import asyncio
import json
from types import SimpleNamespace
from typing import Any

from tradetune.prompt import format_prompt
from tradetune.serving import GenerateMiddleware


class FakeVLLM:
    """Records what reaches the inner app; answers like /v1/completions."""

    def __init__(self, status: int = 200) -> None:
        self.status = status
        self.calls: list[tuple[dict[str, Any], dict[str, Any] | None]] = []

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        message = await receive()
        body = json.loads(message["body"]) if message.get("body") else None
        self.calls.append((scope, body))
        if self.status == 200:
            payload = {"choices": [{"text": f"echo:{body['prompt'] if body else ''}"}]}
        else:
            payload = {"error": {"message": "bad", "code": self.status}}
        data = json.dumps(payload).encode()
        await send({"type": "http.response.start", "status": self.status, "headers": [(b"x-vllm", b"1")]})
        await send({"type": "http.response.body", "body": data})


def call(
    app: Any, method: str, path: str, body: bytes, *, lora: list[str] | None = None, context: int = 2048
) -> tuple[int, Any]:
    state = SimpleNamespace(
        args=SimpleNamespace(lora_modules=[SimpleNamespace(name=n) for n in lora or []]),
        vllm_config=SimpleNamespace(model_config=SimpleNamespace(max_model_len=context)),
    )
    scope = {
        "type": "http",
        "method": method,
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [(b"authorization", b"Bearer k"), (b"content-length", b"3")],
        "app": SimpleNamespace(state=state),
    }
    messages = [{"type": "http.request", "body": body, "more_body": False}]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    asyncio.run(GenerateMiddleware(app)(scope, receive, send))
    start = next(m for m in sent if m["type"] == "http.response.start")
    payload = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return start["status"], json.loads(payload)


def test_generate_becomes_a_completion_with_the_prompt_format() -> None:
    inner = FakeVLLM()
    status, body = call(inner, "POST", "/generate", b'{"instruction": "Explain RSI", "max_tokens": 7}')
    assert status == 200
    assert body == {"response": f"echo:{format_prompt('Explain RSI')}"}
    scope, sent = inner.calls[0]
    assert scope["path"] == "/v1/completions"
    assert sent == {"prompt": format_prompt("Explain RSI"), "max_tokens": 7, "temperature": 0.7, "top_p": 0.9}
    headers = dict(scope["headers"])
    assert headers[b"authorization"] == b"Bearer k"  # vLLM's API-key check still applies
    assert headers[b"content-length"] == str(len(json.dumps(sent))).encode()


def test_adapter_mode_asks_for_the_adapter() -> None:
    inner = FakeVLLM()
    call(inner, "POST", "/generate", b'{"instruction": "x"}', lora=["pine"])
    assert inner.calls[0][1]["model"] == "pine"  # type: ignore[index]


def test_bad_body_is_422_naming_fields_and_never_reaches_vllm() -> None:
    inner = FakeVLLM()
    status, body = call(inner, "POST", "/generate", b'{"max_tokens": -1, "extra": 1}')
    assert status == 422
    assert {d["loc"] for d in body["detail"]} == {"instruction", "max_tokens", "extra"}
    status, _ = call(inner, "POST", "/generate", b"not json")
    assert status == 422
    assert inner.calls == []


def test_vllm_errors_pass_through_and_other_routes_are_untouched() -> None:
    status, body = call(FakeVLLM(status=401), "POST", "/generate", b'{"instruction": "x"}')
    assert (status, body["error"]["message"]) == (401, "bad")
    inner = FakeVLLM()
    status, _ = call(inner, "POST", "/v1/completions", b'{"prompt": "p"}')
    assert status == 200 and inner.calls[0][0]["path"] == "/v1/completions"
    status, _ = call(FakeVLLM(), "GET", "/generate", b"")
    assert status == 405


def test_max_tokens_beyond_the_served_context_is_422_naming_it() -> None:
    inner = FakeVLLM()
    status, body = call(inner, "POST", "/generate", b'{"instruction": "x", "max_tokens": 512}', context=512)
    assert status == 422
    assert [d["loc"] for d in body["detail"]] == ["max_tokens"]
    assert "context length of 512 tokens" in body["detail"][0]["msg"]
    assert inner.calls == []
    status, _ = call(inner, "POST", "/generate", b'{"instruction": "x", "max_tokens": 511}', context=512)
    assert status == 200
