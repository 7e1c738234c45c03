"""Deny-by-default API-key check in front of every route of the vLLM server.

vLLM's own key check (0.32) guards only the prefixes /v1, /v2, /inference and /cohere; other
routes of the same app (/invocations, /tokenize, /pooling, /score, the docs, ...) answer
anyone. This middleware is loaded through vLLM's `--middleware` flag as the outermost layer,
so it sees every request first, and it lets a request through without the key only when its
path is listed as public: `/health` always (the kubelet's probes carry no key) and
`/metrics` unless `TRADETUNE_PUBLIC_METRICS=0`. A route a later vLLM adds is therefore
protected without anyone listing it.

The check reads only the request line and headers, never the body, and compares SHA-256
digests with `secrets.compare_digest`, so neither the body nor the time taken tells a caller
anything about the key. The key is the one vLLM reads too: `VLLM_API_KEY`; with no key set,
the server is open (the operator refuses that unless a ModelServe says `auth: none`).
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass

from tradetune.serving._asgi import (
    ASGIApp,
    Receive,
    Scope,
    Send,
    error_body,
    header,
    request_path,
    send_json,
)

API_KEY_ENV = "VLLM_API_KEY"
PUBLIC_METRICS_ENV = "TRADETUNE_PUBLIC_METRICS"
HEALTH_PATH = "/health"
METRICS_PATH = "/metrics"

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def _flag(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name, "").strip().lower()
    if not raw:
        return default
    if raw in _TRUE:
        return True
    if raw in _FALSE:
        return False
    raise ValueError(f"{name}={raw!r}: use 1 or 0")


def _digest(value: bytes) -> bytes:
    return hashlib.sha256(value).digest()


@dataclass(frozen=True)
class AccessPolicy:
    """Who may call which path: the key's digest (None: open server) and the public paths."""

    key_digest: bytes | None
    public_metrics: bool = True

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> AccessPolicy:
        key = env.get(API_KEY_ENV) or None
        return cls(
            key_digest=_digest(key.encode()) if key else None,
            public_metrics=_flag(env, PUBLIC_METRICS_ENV, True),
        )

    def is_public(self, path: str) -> bool:
        """Exact paths only: `/health`, and `/metrics` (with vLLM's mount below it) when public."""
        if path == HEALTH_PATH:
            return True
        return self.public_metrics and (path == METRICS_PATH or path.startswith(METRICS_PATH + "/"))

    def authorized(self, authorization: bytes | None) -> bool:
        """`Authorization: Bearer <key>`, compared in constant time."""
        if self.key_digest is None:
            return True
        if authorization is None:
            return False
        scheme, _, token = authorization.strip().partition(b" ")
        if scheme.lower() != b"bearer":
            # Still spend one comparison, so a wrong scheme takes as long as a wrong key.
            secrets.compare_digest(_digest(b""), self.key_digest)
            return False
        return secrets.compare_digest(_digest(token.strip()), self.key_digest)

    def allows(self, scope: Scope) -> bool:
        """Whether this request may reach vLLM (the decision, without I/O)."""
        if self.key_digest is None or self.is_public(request_path(scope)):
            return True
        return self.authorized(header(scope, b"authorization"))


UNAUTHORIZED = error_body(
    401, "Unauthorized", "missing or wrong API key: send the header 'Authorization: Bearer <key>'"
)


class AuthMiddleware:
    """Pure ASGI middleware: 401 (JSON) for any request without the key to a non-public path."""

    def __init__(self, app: ASGIApp, policy: AccessPolicy | None = None) -> None:
        self.app = app
        self.policy = policy if policy is not None else AccessPolicy.from_env(os.environ)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket") or self.policy.allows(scope):
            await self.app(scope, receive, send)
            return
        if scope["type"] == "http":
            await send_json(send, 401, UNAUTHORIZED, [(b"www-authenticate", b"Bearer")])
            return
        await _refuse_websocket(scope, receive, send)


async def _refuse_websocket(scope: Scope, receive: Receive, send: Send) -> None:
    """401 where the server supports ASGI's denial response, else a close (HTTP 403)."""
    await receive()  # websocket.connect
    if "websocket.http.response" in (scope.get("extensions") or {}):
        payload = json.dumps(UNAUTHORIZED).encode()
        await send(
            {
                "type": "websocket.http.response.start",
                "status": 401,
                "headers": [(b"content-type", b"application/json"), (b"www-authenticate", b"Bearer")],
            }
        )
        await send({"type": "websocket.http.response.body", "body": payload})
        return
    await send({"type": "websocket.close", "code": 1008})
