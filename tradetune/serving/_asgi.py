"""Small ASGI helpers shared by the middlewares that run inside the vLLM server process.

Types are kept loose on purpose: starlette is present wherever vLLM runs, but these modules
must import (and be type-checked) without it.
"""

from __future__ import annotations

import json
from typing import Any

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Any
Send = Any
ASGIApp = Any


def request_path(scope: Scope) -> str:
    """The path the app routes on: without the mount prefix (`root_path`)."""
    return str(scope.get("path", "")).removeprefix(str(scope.get("root_path", "")))


def header(scope: Scope, name: bytes) -> bytes | None:
    """The first value of a request header (ASGI header names are lower-case bytes)."""
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return bytes(value)
    return None


def error_body(status: int, kind: str, message: str, param: str | None = None) -> dict[str, Any]:
    """An error in the shape vLLM's OpenAI routes use, so the `openai` client reads its message."""
    return {"error": {"message": message, "type": kind, "param": param, "code": status}}


async def send_json(
    send: Send, status: int, content: Any, extra_headers: list[tuple[bytes, bytes]] | None = None
) -> None:
    payload = json.dumps(content).encode()
    headers = [(b"content-type", b"application/json"), *(extra_headers or [])]
    await send_raw(send, status, headers, payload)


async def send_raw(send: Send, status: int, headers: list[tuple[bytes, bytes]], payload: bytes) -> None:
    headers = [(k, v) for k, v in headers if k.lower() != b"content-length"]
    headers.append((b"content-length", str(len(payload)).encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": payload, "more_body": False})
