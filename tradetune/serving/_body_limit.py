"""A cap on request bodies, enforced before the body is buffered.

vLLM's routes read the whole body into memory before they validate it, so one client could
make the server hold any amount of memory. This middleware sits right behind the key check:
a declared `Content-Length` above the cap gets 413 before a byte of the body is read (the
HTTP server then discards the rest as it arrives); a chunked body is read up to the cap and
refused as soon as it passes it. The cap defaults to 1 MiB (`TRADETUNE_MAX_BODY_BYTES`,
`tradetune serve --max-body-bytes`): a long prompt is a few hundred KiB at most.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from tradetune.serving._asgi import ASGIApp, Message, Receive, Scope, Send, error_body, header, send_json

MAX_BODY_ENV = "TRADETUNE_MAX_BODY_BYTES"
DEFAULT_MAX_BODY_BYTES = 1 << 20


def max_body_bytes(env: Mapping[str, str]) -> int:
    raw = env.get(MAX_BODY_ENV, "").strip()
    if not raw:
        return DEFAULT_MAX_BODY_BYTES
    if not raw.isdigit() or int(raw) < 1:
        raise ValueError(f"{MAX_BODY_ENV}={raw!r}: must be a whole number of bytes, at least 1")
    return int(raw)


def too_large(limit: int, size: int | None = None) -> dict[str, object]:
    said = f"of {size} bytes " if size is not None else ""
    return error_body(
        413,
        "RequestTooLarge",
        f"request body {said}is larger than this server's limit of {limit} bytes "
        "(raise it with tradetune serve --max-body-bytes, or spec.maxRequestBytes of a ModelServe)",
    )


class BodyLimitMiddleware:
    """Pure ASGI middleware: 413 for bodies above the cap, without buffering them."""

    def __init__(self, app: ASGIApp, limit: int | None = None) -> None:
        self.app = app
        self.limit = limit if limit is not None else max_body_bytes(os.environ)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = header(scope, b"content-length")
        if declared is not None:
            text = declared.decode("latin-1").strip()
            if not text.isdigit():
                await send_json(send, 400, error_body(400, "BadRequest", "invalid Content-Length header"))
                return
            if int(text) > self.limit:
                await send_json(send, 413, too_large(self.limit, int(text)))
                return
            # The HTTP server delivers exactly Content-Length bytes: nothing more to count.
            await self.app(scope, receive, send)
            return
        if header(scope, b"transfer-encoding") is None:
            await self.app(scope, receive, send)  # no body at all
            return
        await self._chunked(scope, receive, send)

    async def _chunked(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Read a chunked body up to the cap (never more than one message past it), then replay it."""
        messages: list[Message] = []
        total = 0
        while True:
            message: Message = await receive()
            messages.append(message)
            if message["type"] != "http.request":
                break
            total += len(message.get("body", b""))
            if total > self.limit:
                await send_json(send, 413, too_large(self.limit))
                return
            if not message.get("more_body", False):
                break

        async def replay() -> Message:
            if messages:
                return messages.pop(0)
            follow: Message = await receive()
            return follow

        await self.app(scope, replay, send)
