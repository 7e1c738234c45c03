"""The guide's local API, `POST /generate`, answered by vLLM's own completions handler.

vLLM loads this class through its documented `--middleware` flag, so it runs inside the vLLM
server process. A `/generate` request is validated, its instruction is wrapped in the one
prompt format (`tradetune.prompt.format_prompt`), and the request is passed on, in-process,
to vLLM's `/v1/completions` route with the same headers. That way /generate shares the engine,
the API-key check, the request metrics and the error handling of the OpenAI routes, and no
second inference engine or copy of vLLM's serving code exists. Every other request passes
straight through.

    POST /generate {"instruction": "...", "max_tokens": 256}  ->  {"response": "..."}

`temperature` (default 0.7) and `top_p` (default 0.9) follow the guide's sampling settings.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from tradetune.prompt import format_prompt
from tradetune.serving._asgi import ASGIApp, Message, Receive, Scope, Send, request_path, send_json, send_raw

GENERATE_PATH = "/generate"
COMPLETIONS_PATH = "/v1/completions"


class GenerateRequest(BaseModel):
    """The body of `POST /generate`, as in the guide (plus optional sampling settings)."""

    model_config = ConfigDict(extra="forbid")

    instruction: str = Field(min_length=1)
    max_tokens: int = Field(default=256, ge=1)
    temperature: float = Field(default=0.7, ge=0.0)
    top_p: float = Field(default=0.9, gt=0.0, le=1.0)


def completion_body(request: GenerateRequest, model: str | None) -> dict[str, Any]:
    """The /v1/completions body that answers a /generate request (pure)."""
    body: dict[str, Any] = {
        "prompt": format_prompt(request.instruction),
        "max_tokens": request.max_tokens,
        "temperature": request.temperature,
        "top_p": request.top_p,
    }
    if model is not None:
        body["model"] = model
    return body


def validation_detail(exc: ValidationError) -> list[dict[str, str]]:
    """FastAPI-like 422 detail naming each bad field."""
    return [
        {"loc": ".".join(str(p) for p in err["loc"]) or "body", "msg": err["msg"]} for err in exc.errors()
    ]


def served_context_length(app: Any) -> int | None:
    """The context length the engine was started with (vLLM's `max_model_len`), if known."""
    config = getattr(getattr(app, "state", None), "vllm_config", None)
    length = getattr(getattr(config, "model_config", None), "max_model_len", None)
    return int(length) if isinstance(length, int) else None


def context_length_detail(request: GenerateRequest, context_length: int | None) -> list[dict[str, str]]:
    """422 detail when max_tokens cannot fit the served context (the prompt needs a token too)."""
    if context_length is None or request.max_tokens < context_length:
        return []
    return [
        {
            "loc": "max_tokens",
            "msg": (
                f"must be less than the served context length of {context_length} tokens, "
                "which the prompt shares (ask for fewer tokens, or serve with a larger --max-model-len)"
            ),
        }
    ]


def served_adapter_name(app: Any) -> str | None:
    """The LoRA module to answer with in adapter mode; None means vLLM's default model."""
    args = getattr(getattr(app, "state", None), "args", None)
    modules = getattr(args, "lora_modules", None) or []
    return str(modules[0].name) if modules else None


class GenerateMiddleware:
    """Pure ASGI middleware: turns `POST /generate` into an in-process /v1/completions call."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or request_path(scope) != GENERATE_PATH:
            await self.app(scope, receive, send)
            return
        if scope.get("method") != "POST":
            await send_json(send, 405, {"detail": "Method Not Allowed: use POST /generate"})
            return
        raw = await _read_body(receive)
        try:
            request = GenerateRequest.model_validate_json(raw or b"{}")
        except ValidationError as exc:
            await send_json(send, 422, {"detail": validation_detail(exc)})
            return
        too_long = context_length_detail(request, served_context_length(scope.get("app")))
        if too_long:
            await send_json(send, 422, {"detail": too_long})
            return
        body = json.dumps(completion_body(request, served_adapter_name(scope.get("app")))).encode()
        status, headers, payload = await self._completions(scope, receive, body)
        if status != 200:
            # vLLM's own error (bad max_tokens, missing API key, ...) goes back unchanged.
            await send_raw(send, status, headers, payload)
            return
        try:
            text = json.loads(payload)["choices"][0]["text"]
        except (ValueError, KeyError, IndexError, TypeError):
            # The client went away (vLLM cancelled the request) or vLLM answered oddly.
            await send_json(send, 502, {"detail": "vLLM returned no completion"})
            return
        await send_json(send, 200, {"response": text})

    async def _completions(
        self, scope: Scope, receive: Receive, body: bytes
    ) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        """Run vLLM's /v1/completions route in-process and collect its whole response.

        After the rewritten body, `receive` is the client's own, so vLLM's disconnect watch
        (which cancels a request whose client went away) keeps working.
        """
        headers = [
            (k, v)
            for k, v in scope.get("headers", [])
            if k.lower() not in {b"content-length", b"content-type"}
        ]
        headers += [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
        inner = {
            **scope,
            "path": scope.get("root_path", "") + COMPLETIONS_PATH,
            "raw_path": (scope.get("root_path", "") + COMPLETIONS_PATH).encode(),
            "query_string": b"",
            "headers": headers,
        }
        sent = False

        async def inner_receive() -> Message:
            nonlocal sent
            if sent:
                message: Message = await receive()
                return message
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        result: dict[str, Any] = {"status": 500, "headers": [], "chunks": []}

        async def inner_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                result["status"] = message["status"]
                result["headers"] = list(message.get("headers", []))
            elif message["type"] == "http.response.body":
                result["chunks"].append(message.get("body", b""))

        await self.app(inner, inner_receive, inner_send)
        return int(result["status"]), result["headers"], b"".join(result["chunks"])


async def _read_body(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)
