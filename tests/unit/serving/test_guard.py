"""The key check and the body cap in front of vLLM, on a recording inner app (no vLLM here).

Real vLLM behind both is tested in tests/integration/serving/test_serve.py.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from tradetune.serving import (
    MIDDLEWARES,
    AccessPolicy,
    AuthMiddleware,
    BodyLimitMiddleware,
    ServeOptions,
    guard_env,
    vllm_args,
)
from tradetune.serving._options import AUTH_MIDDLEWARE

KEY = "s3cret-key"


class Inner:
    """Records the requests that got through and the body it read; answers 200."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, bytes]] = []

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        body = b""
        if scope["type"] == "http" and scope["method"] == "POST":
            while True:
                message = await receive()
                body += message.get("body", b"")
                if not message.get("more_body"):
                    break
        self.calls.append((scope["path"], body))
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})


def http(
    app: Any,
    path: str,
    *,
    method: str = "GET",
    headers: list[tuple[bytes, bytes]] | None = None,
    chunks: list[bytes] | None = None,
) -> tuple[int, dict[str, Any] | None, int]:
    """Run one request; returns (status, JSON body or None, messages the app received)."""
    scope = {
        "type": "http",
        "method": method,
        "path": path,
        "root_path": "",
        "headers": headers or [],
    }
    pending = [
        {"type": "http.request", "body": c, "more_body": i < len(chunks or []) - 1}
        for i, c in enumerate(chunks or [])
    ]
    received = 0
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        nonlocal received
        received += 1
        return pending.pop(0) if pending else {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    asyncio.run(app(scope, receive, send))
    start = next(m for m in sent if m["type"] == "http.response.start")
    payload = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    try:
        body = json.loads(payload)
    except ValueError:
        body = None
    return start["status"], body, received


def bearer(key: str) -> list[tuple[bytes, bytes]]:
    return [(b"authorization", f"Bearer {key}".encode())]


def guarded(inner: Inner, public_metrics: bool = True) -> AuthMiddleware:
    return AuthMiddleware(
        inner,
        AccessPolicy.from_env(
            {"VLLM_API_KEY": KEY, "TRADETUNE_PUBLIC_METRICS": "1" if public_metrics else "0"}
        ),
    )


@pytest.mark.parametrize(
    "path",
    [
        "/v1/completions",
        "/invocations",
        "/tokenize",
        "/pooling",
        "/docs",
        "/some/future/route",
        "//health",
        "/health/",
    ],
)
def test_every_path_but_the_public_ones_needs_the_key(path: str) -> None:
    inner = Inner()
    status, body, received = http(guarded(inner), path, method="POST", chunks=[b"{}"])
    assert status == 401
    assert body is not None and body["error"]["code"] == 401
    assert "Authorization: Bearer" in body["error"]["message"]
    assert received == 0, "the body was read before the key was checked"
    assert inner.calls == []
    for wrong in (bearer("s3cret-ke"), bearer(KEY + "x"), [(b"authorization", f"Basic {KEY}".encode())]):
        assert http(guarded(inner), path, headers=wrong)[0] == 401
    assert http(guarded(inner), path, method="POST", headers=bearer(KEY), chunks=[b"{}"])[0] == 200
    assert inner.calls == [(path, b"{}")]


def test_health_is_always_public_and_metrics_unless_private() -> None:
    inner = Inner()
    assert http(guarded(inner), "/health")[0] == 200
    assert http(guarded(inner), "/metrics")[0] == 200
    assert http(guarded(inner), "/metrics/")[0] == 200
    assert http(guarded(inner, public_metrics=False), "/metrics")[0] == 401
    assert http(guarded(inner, public_metrics=False), "/health")[0] == 200


def test_no_key_means_an_open_server_and_bad_settings_fail_at_start() -> None:
    inner = Inner()
    assert http(AuthMiddleware(inner, AccessPolicy.from_env({})), "/v1/models")[0] == 200
    with pytest.raises(ValueError, match="TRADETUNE_PUBLIC_METRICS"):
        AccessPolicy.from_env({"TRADETUNE_PUBLIC_METRICS": "maybe"})


def test_a_websocket_without_the_key_is_refused() -> None:
    inner = Inner()
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "websocket.connect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "websocket", "path": "/v1/realtime", "root_path": "", "headers": []}
    asyncio.run(guarded(inner)(scope, receive, send))
    assert sent == [{"type": "websocket.close", "code": 1008}]
    assert inner.calls == []


def test_a_declared_length_over_the_cap_is_refused_unread() -> None:
    inner = Inner()
    app = BodyLimitMiddleware(inner, limit=1000)
    headers = [(b"content-length", str(10 * 2**20).encode())]
    status, body, received = http(app, "/v1/completions", method="POST", headers=headers, chunks=[b"x" * 10])
    assert status == 413 and received == 0 and inner.calls == []
    assert body is not None and "limit of 1000 bytes" in body["error"]["message"]
    ok = [(b"content-length", b"1000")]
    assert http(app, "/v1/completions", method="POST", headers=ok, chunks=[b"x" * 1000])[0] == 200
    bad = [(b"content-length", b"12x")]
    assert http(app, "/v1/completions", method="POST", headers=bad, chunks=[b""])[0] == 400


def test_a_chunked_body_is_read_only_up_to_the_cap() -> None:
    inner = Inner()
    app = BodyLimitMiddleware(inner, limit=1000)
    chunked = [(b"transfer-encoding", b"chunked")]
    status, _, received = http(
        app, "/v1/completions", method="POST", headers=chunked, chunks=[b"x" * 400] * 100
    )
    assert status == 413
    assert received == 3  # 1200 bytes read of 40000: refused at the first message past the cap
    assert inner.calls == []
    status, _, _ = http(
        app, "/v1/completions", method="POST", headers=chunked, chunks=[b"x" * 400, b"y" * 400]
    )
    assert status == 200
    assert inner.calls == [("/v1/completions", b"x" * 400 + b"y" * 400)]


def test_the_key_check_is_outermost_and_settings_reach_the_process() -> None:
    args = vllm_args(ServeOptions(model="/m"))
    loaded = [args[i + 1] for i, a in enumerate(args) if a == "--middleware"]
    assert loaded == list(MIDDLEWARES)
    assert loaded[-1] == AUTH_MIDDLEWARE  # vLLM wraps in order: the last one sees requests first
    env = guard_env(ServeOptions(model="/m", max_body_bytes=4096, public_metrics=False))
    assert env == {"TRADETUNE_MAX_BODY_BYTES": "4096", "TRADETUNE_PUBLIC_METRICS": "0"}
