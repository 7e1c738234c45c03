"""The emulator on its own event loop in a background thread, and a synchronous client for tests.

A KopfRunner thread and a synchronous test both talk to the one in-memory API server; the test
plays the Job controller and the kubelet through the same HTTP API the operator uses.
"""

from __future__ import annotations

import asyncio
import base64
import json
import ssl
import tempfile
import threading
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp.test_utils
import kmock

from tests.integration.operator.emulator import TEST_CLIENT_HEADER, TradeTuneEmulator
from tests.integration.operator.faults import Fault
from tests.integration.operator.tls import Authority


def _tls_server(context: ssl.SSLContext) -> type[aiohttp.test_utils.RawTestServer]:
    """kmock's test server class, serving HTTPS with `context`."""

    class TlsServer(aiohttp.test_utils.RawTestServer):
        def __init__(self, handler: Any, **kwargs: Any) -> None:
            super().__init__(handler, scheme="https", **kwargs)

        async def start_server(self, loop: Any = None, **kwargs: Any) -> None:
            await super().start_server(loop=loop, ssl=context, **kwargs)

    return TlsServer


class ApiError(Exception):
    """An HTTP error from the emulator, as the test client saw it."""

    def __init__(self, status: int, body: str) -> None:
        super().__init__(f"HTTP {status}: {body[:300]}")
        self.status = status
        self.body = body


def resource_path(resource: str, namespace: str | None = None, name: str | None = None) -> str:
    """`"batch/v1/jobs"` or `"v1/pods"` plus an optional namespace and name → the API path."""
    parts = resource.split("/")
    base = f"/api/{parts[0]}" if len(parts) == 2 else f"/apis/{parts[0]}/{parts[1]}"
    path = base + (f"/namespaces/{namespace}" if namespace else "") + f"/{parts[-1]}"
    return path + (f"/{name}" if name else "")


@dataclass
class RunningEmulator:
    """The emulator on its own event loop in a background thread, with a synchronous client."""

    url: str = ""
    tls: Authority | None = None  # serve HTTPS with this CA's server certificate
    tokens: set[str] | None = None  # None: no authentication; else these bearer tokens (or a client cert)
    emulator: TradeTuneEmulator | None = None
    _loop: asyncio.AbstractEventLoop | None = None
    _thread: threading.Thread | None = None
    _stop: asyncio.Event | None = None
    _ready: threading.Event = field(default_factory=threading.Event)
    _failure: BaseException | None = None
    _tls_dir: Path | None = None

    def __enter__(self) -> RunningEmulator:
        self._thread = threading.Thread(target=self._run, name="kube-emulator", daemon=True)
        self._thread.start()
        self._ready.wait(30)
        if self._failure is not None:
            raise self._failure
        return self

    def __exit__(self, *exc: object) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        if self._thread is not None:
            self._thread.join(30)

    def _run(self) -> None:
        asyncio.run(self._serve())

    async def _serve(self) -> None:
        try:
            self._loop = asyncio.get_running_loop()
            self._stop = asyncio.Event()
            server_cls = aiohttp.test_utils.RawTestServer
            if self.tls is not None:
                self._tls_dir = Path(tempfile.mkdtemp(prefix="emulator-tls-"))
                server_cls = _tls_server(self.tls.server_context(self._tls_dir))
            async with (
                TradeTuneEmulator() as emulator,
                kmock.Server(emulator, server_cls=server_cls) as server,
            ):
                emulator.tokens = self.tokens
                self.emulator = emulator
                self.url = str(server.url).rstrip("/")
                self._ready.set()
                await self._stop.wait()
                emulator.drop_watches()
                await asyncio.sleep(0.05)
        except BaseException as exc:  # surfaced to the test in __enter__
            self._failure = exc
            self._ready.set()

    # -- control --------------------------------------------------------------------------

    def call(self, fn: Callable[[TradeTuneEmulator], Any]) -> Any:
        """Run `fn(emulator)` on the emulator's loop (its state is not thread-safe)."""
        assert self._loop is not None and self.emulator is not None
        emulator = self.emulator

        async def run() -> Any:
            return fn(emulator)

        return asyncio.run_coroutine_threadsafe(run(), self._loop).result(30)

    def inject(
        self,
        status: int,
        count: int,
        *,
        actions: set[str] | None = None,
        resource: str | None = None,
        subresource: str | None = None,
    ) -> Fault:
        fault = Fault(status=status, count=count, actions=actions, resource=resource, subresource=subresource)
        self.call(lambda emu: emu.faults.append(fault))
        return fault

    def append_log(self, namespace: str, pod: str, text: str, container: str = "trainer") -> None:
        """The kubelet writes `text` to a container's log (served at pods/{pod}/log)."""
        self.call(lambda e: e.pod_logs.append(namespace, pod, container, text))

    def drop_watches(self) -> None:
        self.call(lambda emu: emu.drop_watches())

    def kubeconfig(self, *, token: str = "test-token", client_certificate: bool = False) -> dict[str, Any]:
        """A kubeconfig for the operator: the CA when serving HTTPS, a token or a client cert."""
        cluster: dict[str, Any] = {"server": self.url}
        user: dict[str, Any] = {"token": token}
        if self.tls is not None:
            cluster["certificate-authority-data"] = base64.b64encode(self.tls.ca.cert).decode()
            if client_certificate:
                user = {
                    "client-certificate-data": base64.b64encode(self.tls.client.cert).decode(),
                    "client-key-data": base64.b64encode(self.tls.client.key).decode(),
                }
        return {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": "emulator", "cluster": cluster}],
            "users": [{"name": "test", "user": user}],
            "contexts": [{"name": "emulator", "context": {"cluster": "emulator", "user": "test"}}],
            "current-context": "emulator",
        }

    # -- a synchronous client: the test plays the controllers through the real API --------

    def request(self, method: str, path: str, body: Any = None, *, content_type: str | None = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        headers = {TEST_CLIENT_HEADER: "1", "Accept": "application/json"}
        if data is not None:
            headers["Content-Type"] = content_type or "application/json"
        req = urllib.request.Request(self.url + path, data=data, method=method, headers=headers)
        context = None
        if self.tls is not None:
            context = ssl.create_default_context(cadata=self.tls.ca.cert.decode())
        try:
            with urllib.request.urlopen(req, timeout=30, context=context) as resp:
                return json.loads(resp.read() or b"null")
        except urllib.error.HTTPError as exc:
            raise ApiError(exc.code, exc.read().decode(errors="replace")) from None

    def get(self, resource: str, namespace: str | None, name: str) -> dict[str, Any] | None:
        try:
            result: dict[str, Any] = self.request("GET", resource_path(resource, namespace, name))
        except ApiError as exc:
            if exc.status == 404:
                return None
            raise
        return result

    def list(
        self, resource: str, namespace: str | None = None, selector: str | None = None
    ) -> list[dict[str, Any]]:
        query = "?" + urllib.parse.urlencode({"labelSelector": selector}) if selector else ""
        items: list[dict[str, Any]] = self.request("GET", resource_path(resource, namespace) + query)["items"]
        return items

    def create(self, resource: str, obj: dict[str, Any]) -> dict[str, Any]:
        namespace = obj.get("metadata", {}).get("namespace")
        result: dict[str, Any] = self.request("POST", resource_path(resource, namespace), obj)
        return result

    def patch(
        self, resource: str, namespace: str | None, name: str, patch: Any, *, status: bool = False
    ) -> dict[str, Any]:
        path = resource_path(resource, namespace, name) + ("/status" if status else "")
        result: dict[str, Any] = self.request(
            "PATCH", path, patch, content_type="application/merge-patch+json"
        )
        return result

    def delete(self, resource: str, namespace: str | None, name: str) -> dict[str, Any]:
        result: dict[str, Any] = self.request("DELETE", resource_path(resource, namespace, name))
        return result

    def objects(self, resource: str) -> Iterator[dict[str, Any]]:
        yield from self.list(resource)
