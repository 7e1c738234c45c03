"""A small async Kubernetes API client for the operator's own writes (children, status, promotion).

kopf watches and patches the objects it handles, but the operator also creates Jobs,
ConfigMaps, Deployments and Services and patches other objects' status. Rather than pull a
generated client (tens of MB, slow import) into the operator image, this speaks the few REST
calls we need over aiohttp (already a kopf dependency), with the same credentials kopf logged
in with (service account in a pod, `$KUBECONFIG` elsewhere).

Transient failures (HTTP 5xx, 429, write conflicts, connection errors) are retried with a short
backoff and then raised as `TransientApiError`; callers turn that into a later retry, never a crash.
Every call is listed in docs/operator.md ("RBAC the operator needs").
"""

from __future__ import annotations

import asyncio
import base64
import functools
import json
import os
import ssl
import tempfile
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import quote

import aiohttp

RETRY_DELAYS: tuple[float, ...] = (0.2, 0.5, 1.0, 2.0, 3.0)
# Python writes NaN/Infinity literals that are not JSON and that the API server rejects: refuse
# them here, with a message, instead of sending a request that fails on every retry.
strict_json = functools.partial(json.dumps, allow_nan=False)


class ApiError(Exception):
    """The API server refused a request for a reason a retry will not fix (4xx)."""

    def __init__(self, status: int, reason: str, message: str) -> None:
        super().__init__(f"{status} {reason}: {message}")
        self.status = status
        self.reason = reason
        self.message = message


class TransientApiError(Exception):
    """The API server did not answer usefully after the retries (5xx, 429, network)."""


class Credentials(Protocol):
    """The fields of `kopf.ConnectionInfo` this client uses."""

    @property
    def server(self) -> str: ...

    @property
    def ca_path(self) -> Any: ...

    @property
    def ca_data(self) -> Any: ...

    @property
    def insecure(self) -> bool | None: ...

    @property
    def username(self) -> str | None: ...

    @property
    def password(self) -> str | None: ...

    @property
    def scheme(self) -> str | None: ...

    @property
    def token(self) -> str | None: ...

    @property
    def certificate_path(self) -> Any: ...

    @property
    def certificate_data(self) -> Any: ...

    @property
    def private_key_path(self) -> Any: ...

    @property
    def private_key_data(self) -> Any: ...


@dataclass(frozen=True)
class Res:
    """An API resource: group/version and plural name, and whether it is namespaced."""

    api_version: str
    plural: str
    namespaced: bool = True

    def path(
        self, namespace: str | None = None, name: str | None = None, subresource: str | None = None
    ) -> str:
        base = f"/api/{self.api_version}" if "/" not in self.api_version else f"/apis/{self.api_version}"
        if self.namespaced and namespace:
            base += f"/namespaces/{quote(namespace, safe='')}"
        base += f"/{self.plural}"
        if name:
            base += f"/{quote(name, safe='')}"  # names come from specs: never let one change the path
        if subresource:
            base += f"/{subresource}"
        return base


FINETUNEJOBS = Res("tradetune.dev/v1alpha1", "finetunejobs")
MODELSERVES = Res("tradetune.dev/v1alpha1", "modelserves")
CONFIGMAPS = Res("v1", "configmaps")
PODS = Res("v1", "pods")
SERVICES = Res("v1", "services")
JOBS = Res("batch/v1", "jobs")
DEPLOYMENTS = Res("apps/v1", "deployments")
NETWORKPOLICIES = Res("networking.k8s.io/v1", "networkpolicies")
PEERINGS = Res("kopf.dev/v1", "kopfpeerings")
CLUSTER_PEERINGS = Res("kopf.dev/v1", "clusterkopfpeerings", namespaced=False)


def _decoded(data: Any) -> bytes:
    raw = data.encode() if isinstance(data, str) else bytes(data)
    try:
        return base64.b64decode(raw, validate=True)
    except ValueError:
        return raw  # already PEM


def ssl_context(creds: Credentials) -> ssl.SSLContext | bool:
    """The TLS setup for `creds`: CA, client certificate, or verification off when asked."""
    if not creds.server.startswith("https"):
        return False
    if creds.insecure:
        return False
    context = ssl.create_default_context()
    if creds.ca_path:
        context.load_verify_locations(cafile=os.fspath(creds.ca_path))
    elif creds.ca_data:
        context.load_verify_locations(cadata=_decoded(creds.ca_data).decode())
    cert, key = creds.certificate_path, creds.private_key_path
    if creds.certificate_data or creds.private_key_data:
        # ssl can only read client certificates from files: write them privately, load, remove.
        with tempfile.TemporaryDirectory() as tmp:
            cert = os.path.join(tmp, "cert.pem")
            key = os.path.join(tmp, "key.pem")
            for path, data, fallback in (
                (cert, creds.certificate_data, creds.certificate_path),
                (key, creds.private_key_data, creds.private_key_path),
            ):
                fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
                with os.fdopen(fd, "wb") as f:
                    f.write(_decoded(data) if data else open(os.fspath(fallback), "rb").read())  # noqa: SIM115
            context.load_cert_chain(cert, key)
    elif cert:
        context.load_cert_chain(os.fspath(cert), os.fspath(key) if key else None)
    return context


def auth_headers(creds: Credentials) -> dict[str, str]:
    if creds.token:
        return {"Authorization": f"{creds.scheme or 'Bearer'} {creds.token}"}
    if creds.username and creds.password:
        return {"Authorization": aiohttp.BasicAuth(creds.username, creds.password).encode()}
    return {}


class KubeClient:
    """Async REST calls against the API server; one aiohttp session per operator run."""

    def __init__(
        self,
        creds: Credentials,
        *,
        relogin: Callable[[], Awaitable[Credentials | None]] | None = None,
        retry_delays: Sequence[float] = RETRY_DELAYS,
        timeout: float = 30.0,
    ) -> None:
        self._creds = creds
        self._relogin = relogin
        self._retry_delays = tuple(retry_delays)
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._session: aiohttp.ClientSession | None = None
        self.requests = 0

    def _open(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(ssl=ssl_context(self._creds), limit=50)
            self._session = aiohttp.ClientSession(
                base_url=self._creds.server.rstrip("/") + "/",
                connector=connector,
                headers=auth_headers(self._creds),
                timeout=self._timeout,
                json_serialize=strict_json,
            )
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def request(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        params: dict[str, str] | None = None,
        content_type: str = "application/json",
        text: bool = False,
    ) -> Any:
        """One call with retries; returns the decoded JSON (the body as text when `text`), or None for 404."""
        if body is not None:
            try:
                strict_json(body)
            except ValueError as exc:
                raise ApiError(
                    400, "BadRequest", f"{method} {path}: the body is not valid JSON: {exc}"
                ) from None
        attempts = 0
        relogged = False
        while True:
            session = self._open()
            try:
                self.requests += 1
                async with session.request(
                    method,
                    path.lstrip("/"),
                    json=body,
                    params=params,
                    headers={"Content-Type": content_type} if body is not None else None,
                ) as resp:
                    if resp.status < 300:
                        if text:
                            return await resp.text(errors="replace")
                        return await resp.json(content_type=None)
                    payload = await _error_payload(resp)
                    if resp.status == 404:
                        return None
                    if resp.status == 401 and self._relogin is not None and not relogged:
                        relogged = True
                        fresh = await self._relogin()
                        if fresh is not None:
                            self._creds = fresh
                            await self.close()
                        continue
                    # 409 on a create means AlreadyExists (the caller adopts); elsewhere it is a
                    # write conflict that goes away on retry.
                    conflict = resp.status == 409 and not (method == "POST" and payload[0] == "AlreadyExists")
                    if resp.status < 500 and resp.status != 429 and not conflict:
                        raise ApiError(resp.status, payload[0], payload[1])
                    failure: str = f"{resp.status} {payload[0]}: {payload[1]}"
            except (aiohttp.ClientConnectionError, aiohttp.ClientPayloadError, TimeoutError) as exc:
                failure = f"{type(exc).__name__}: {exc}"
            if attempts >= len(self._retry_delays):
                raise TransientApiError(f"{method} {path}: {failure}")
            await asyncio.sleep(self._retry_delays[attempts])
            attempts += 1

    async def get(self, res: Res, namespace: str | None, name: str) -> dict[str, Any] | None:
        result: dict[str, Any] | None = await self.request("GET", res.path(namespace, name))
        return result

    async def pod_log(
        self, namespace: str, pod: str, *, container: str, tail_lines: int, since_seconds: int
    ) -> str | None:
        """The last `tail_lines` lines of a container's log written in the last `since_seconds`."""
        params = {"container": container, "tailLines": str(tail_lines), "sinceSeconds": str(since_seconds)}
        result: str | None = await self.request(
            "GET", PODS.path(namespace, pod, "log"), params=params, text=True
        )
        return result

    async def list(
        self, res: Res, namespace: str | None, label_selector: str | None = None
    ) -> list[dict[str, Any]]:
        params = {"labelSelector": label_selector} if label_selector else None
        result = await self.request("GET", res.path(namespace), params=params)
        return list((result or {}).get("items") or [])

    async def create(self, res: Res, namespace: str | None, obj: dict[str, Any]) -> dict[str, Any]:
        """Create `obj`; raises ApiError(409) when it exists already (callers adopt it)."""
        result: dict[str, Any] = await self.request("POST", res.path(namespace), body=obj)
        return result

    async def patch(
        self,
        res: Res,
        namespace: str | None,
        name: str,
        patch: dict[str, Any],
        *,
        subresource: str | None = None,
    ) -> dict[str, Any] | None:
        """JSON merge patch; None when the object is gone."""
        result: dict[str, Any] | None = await self.request(
            "PATCH",
            res.path(namespace, name, subresource),
            body=patch,
            content_type="application/merge-patch+json",
        )
        return result

    async def delete(self, res: Res, namespace: str | None, name: str, *, uid: str) -> bool:
        """Delete the object with `uid` (background propagation: a Job takes its pods).

        `preconditions.uid` makes the API server refuse (409) when another object holds the name
        now; False when it is already gone.
        """
        result = await self.request(
            "DELETE",
            res.path(namespace, name),
            body={
                "kind": "DeleteOptions",
                "apiVersion": "v1",
                "propagationPolicy": "Background",
                "preconditions": {"uid": uid},
            },
        )
        return result is not None


async def _error_payload(resp: aiohttp.ClientResponse) -> tuple[str, str]:
    try:
        data = await resp.json(content_type=None)
    except (ValueError, aiohttp.ContentTypeError):
        return resp.reason or "Error", (await resp.text())[:300]
    if isinstance(data, dict):
        return str(data.get("reason") or resp.reason), str(data.get("message") or "")[:500]
    return resp.reason or "Error", str(data)[:300]
