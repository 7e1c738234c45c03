"""An in-memory Kubernetes API server for the operator's tests: kmock's emulator, completed.

kmock 0.8's `KubernetesEmulator` stores objects and serves discovery, list, watch, create,
patch and delete, but kopf needs more than that to behave as it does against a real cluster:

- every object gets `uid`, `creationTimestamp`, `resourceVersion` and `generation`, and
  every change bumps `resourceVersion` (kopf's finalizer JSON patches test it);
- watches honour `?resourceVersion=` (replaying only what happened after it, or answering
  410 Gone when that is too old) and `?timeoutSeconds=`, so a reconnecting watcher misses
  nothing and receives nothing twice;
- a failed JSON-patch `test` answers 422 (kopf retries on it), not 500;
- lists carry `kind`, `apiVersion` and the list's `resourceVersion`;
- `GET /api/v1/namespaces` works; `generateName` is honoured; label selectors filter;
- the `status` subresource is separate: a main-resource patch cannot change the status and
  a status patch cannot change anything else; `generation` moves only on spec changes;
- a no-op patch changes nothing (no new resourceVersion, no watch event).

Tests use it through `RunningEmulator`, which runs the server on its own event loop in a
background thread, so a KopfRunner thread and a synchronous test can both talk to it. The test
plays the Job controller and the kubelet by patching objects through the HTTP API, exactly as
those controllers would. Faults (HTTP 500/409 for a while) and dropped watch streams can be
injected to check that the operator recovers.
"""

from __future__ import annotations

import asyncio
import bisect
import copy
import datetime
import json
import re
import secrets
import threading
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import aiohttp.web
import attrs
import jsonpatch
import kmock
from kmock._internal import apps, rendering

from tradetune.api import crd_documents

TEST_CLIENT_HEADER = "X-Emulator-Client"
_NAMESPACES_PATH = re.compile(r"^/api/v1/namespaces(?:/(?P<name>[^/]+))?/?$")
_NAMESPACES = kmock.resource("", "v1", "namespaces")
LOG_LIMIT = 50_000

_VERBS = frozenset({"get", "list", "watch", "create", "update", "patch", "delete"})


def _resource_info(crd: dict[str, Any]) -> tuple[str, kmock.ResourceInfo]:
    """The emulator's resource entry for one of our generated CRDs: it serves what they declare."""
    spec, names = crd["spec"], crd["spec"]["names"]
    version = next(v for v in spec["versions"] if v.get("served"))
    return f"{spec['group']}/{version['name']}/{names['plural']}", kmock.ResourceInfo(
        kind=names["kind"],
        singular=names["singular"],
        namespaced=spec["scope"] == "Namespaced",
        shortnames=set(names.get("shortNames", [])),
        categories=set(names.get("categories", [])),
        subresources=set(version.get("subresources", {})),
        verbs=set(_VERBS),
    )


TRADETUNE_RESOURCES: dict[str, kmock.ResourceInfo] = dict(
    _resource_info(crd) for documents in crd_documents().values() for crd in documents
)


def _now() -> str:
    return datetime.datetime.now(tz=datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _header(request: rendering.Request, name: str) -> str:
    wanted = name.lower()
    return next((v for k, v in request.headers.items() if k.lower() == wanted), "")


def _error(status: int, reason: str, message: str) -> kmock.KubernetesError:
    return kmock.KubernetesError(status=status, reason=reason, message=message, details={})


def _selector_matches(selector: str | None, labels: dict[str, str]) -> bool:
    """Equality-based label selectors: `a=b`, `a==b`, `a!=b`, `a`, `!a`, comma-joined."""
    if not selector:
        return True
    for term in (t.strip() for t in selector.split(",")):
        if not term:
            continue
        if "!=" in term:
            key, value = term.split("!=", 1)
            if labels.get(key.strip()) == value.strip():
                return False
        elif "=" in term:
            key, value = re.split(r"==?", term, maxsplit=1)
            if labels.get(key.strip()) != value.strip():
                return False
        elif term.startswith("!"):
            if term[1:].strip() in labels:
                return False
        elif term not in labels:
            return False
    return True


@dataclass
class Fault:
    """Answer `status` to the next `count` matching requests (never to the test's own client)."""

    status: int
    count: int
    actions: set[str] | None = None  # e.g. {"create", "update"}; None: all but watch
    resource: str | None = None  # a plural, e.g. "jobs"
    subresource: str | None = None  # e.g. "status": only requests to that subresource
    served: int = 0


@attrs.define(kw_only=True)
class TradeTuneEmulator(kmock.KubernetesEmulator):
    """kmock's emulator with the API-server behaviours kopf relies on (see the module doc)."""

    _rv: int = attrs.field(default=0, init=False)
    _log_rvs: list[int] = attrs.field(factory=list, init=False)
    _log: list[tuple[kmock.resource, dict[str, Any]]] = attrs.field(factory=list, init=False)
    _log_floor: int = attrs.field(default=0, init=False)
    _changed: asyncio.Event | None = attrs.field(default=None, init=False)
    _epoch: int = attrs.field(default=0, init=False)
    faults: list[Fault] = attrs.field(factory=list, init=False)
    watch_connects: int = attrs.field(default=0, init=False)
    create_attempts: dict[str, int] = attrs.field(factory=dict, init=False)
    fetches: dict[str, int] = attrs.field(factory=dict, init=False)  # GETs by plural, test client excluded

    def __attrs_post_init__(self) -> None:
        super().__attrs_post_init__()
        self.resources.load_bundled()
        for key, info in TRADETUNE_RESOURCES.items():
            self.resources[key] = info

    # -- plumbing -------------------------------------------------------------------------

    def _next_rv(self) -> str:
        self._rv += 1
        return str(self._rv)

    def _emit(self, resource: kmock.resource, etype: str, obj: dict[str, Any]) -> None:
        rv = int(obj["metadata"]["resourceVersion"])
        self._log_rvs.append(rv)
        self._log.append((resource, {"type": etype, "object": copy.deepcopy(obj)}))
        if len(self._log) > LOG_LIMIT:
            drop = len(self._log) - LOG_LIMIT
            self._log_floor = self._log_rvs[drop - 1]
            del self._log[:drop], self._log_rvs[:drop]
        self._wake()

    def _wake(self) -> None:
        if self._changed is not None:
            self._changed.set()
        self._changed = asyncio.Event()

    def drop_watches(self) -> None:
        """End every open watch stream now, as a load balancer or apiserver restart would."""
        self._epoch += 1
        self._wake()

    def _info(self, resource: kmock.resource) -> kmock.ResourceInfo:
        if resource not in self.resources:
            raise _error(404, "NotFound", f"the server could not find the requested resource {resource}")
        return self.resources[resource]

    def _key(self, request: rendering.Request, name: str | None = None) -> tuple[Any, str | None, str]:
        assert request.resource is not None
        info = self._info(request.resource)
        namespace = request.namespace if info.namespaced else None
        return (request.resource, namespace, name or request.name or "")

    def _stored(self, key: tuple[Any, str | None, str]) -> kmock.Object | None:
        if key in self.objects and not self.objects[key].deleted:
            return self.objects[key]
        return None

    def _maybe_fault(self, request: rendering.Request) -> None:
        if _header(request, TEST_CLIENT_HEADER) or request.action is None:
            return
        action = request.action.value.lower()
        for fault in self.faults:
            if fault.served >= fault.count:
                continue
            if fault.actions is None and action == "watch":
                continue
            if fault.actions is not None and action not in fault.actions:
                continue
            if fault.resource is not None and (
                request.resource is None or request.resource.plural != fault.resource
            ):
                continue
            if fault.subresource is not None and request.subresource != fault.subresource:
                continue
            fault.served += 1
            reason = "Conflict" if fault.status == 409 else "InternalError"
            raise _error(fault.status, reason, f"injected fault {fault.served}/{fault.count}")

    # -- request handling -----------------------------------------------------------------

    async def __call__(self, raw_request: aiohttp.web.BaseRequest) -> aiohttp.web.StreamResponse:
        # kmock 0.8 cannot parse /api/v1/namespaces (its path parser expects a namespace name
        # after "namespaces"), so those requests are translated here and served like any other.
        match = _NAMESPACES_PATH.match(raw_request.path)
        if match is None:
            return await super().__call__(raw_request)
        await raw_request.read()
        try:
            data = await raw_request.json() if await raw_request.read() else None
        except ValueError:
            data = None
        query = dict(raw_request.query)
        name = match.group("name")
        method = raw_request.method.upper()
        action = (
            kmock.action.WATCH
            if method == "GET" and query.get("watch") == "true"
            else kmock.action.LIST
            if method == "GET" and name is None
            else kmock.action.FETCH
            if method == "GET"
            else kmock.action.CREATE
            if method == "POST"
            else kmock.action.UPDATE
            if method == "PATCH"
            else kmock.action.DELETE
        )
        request = rendering.Request(
            method=method,
            url=raw_request.url,
            params=query,
            headers=dict(raw_request.headers),
            data=data,
            action=action,
            resource=_NAMESPACES,
            namespace=None,
            name=name,
            raw_request=raw_request,
        )
        try:
            return await self._handle(request)
        except Exception as exc:
            return await self._render_error(exc)

    async def _handle(self, request: rendering.Request) -> aiohttp.web.StreamResponse:
        if request.resource is None or request.resource.plural is None:
            return await apps.RawHandler._handle(self, request)
        self._maybe_fault(request)
        action = request.action
        if action == kmock.action.WATCH:
            self._info(request.resource)
            return await apps.RawHandler._handle(self, request)
        if action == kmock.action.LIST:
            return aiohttp.web.json_response(self._list(request))
        if action == kmock.action.FETCH:
            if not _header(request, TEST_CLIENT_HEADER):
                plural = str(request.resource.plural)
                self.fetches[plural] = self.fetches.get(plural, 0) + 1
            obj = self._stored(self._key(request))
            if obj is None:
                raise _error(404, "NotFound", f"{request.resource.plural} {request.name!r} not found")
            return aiohttp.web.json_response(obj.raw)
        if action == kmock.action.CREATE:
            return aiohttp.web.json_response(self._create(request), status=201)
        if action == kmock.action.UPDATE:
            return aiohttp.web.json_response(self._patch(request))
        if action == kmock.action.DELETE and request.name:
            return aiohttp.web.json_response(self._delete(request))
        raise _error(405, "MethodNotAllowed", f"{request.method} is not supported by the emulator")

    def _list(self, request: rendering.Request) -> dict[str, Any]:
        assert request.resource is not None
        info = self._info(request.resource)
        selector = request.params.get("labelSelector")
        items = [
            obj.raw
            for (resource, namespace, _), obj in self.objects.items()
            if resource == request.resource
            and not obj.deleted
            and (request.namespace is None or namespace == request.namespace)
            and _selector_matches(selector, obj.raw.get("metadata", {}).get("labels") or {})
        ]
        group_version = (
            f"{request.resource.group}/{request.resource.version}"
            if request.resource.group
            else str(request.resource.version)
        )
        return {
            "apiVersion": group_version,
            "kind": f"{info.kind or request.resource.plural}List",
            "metadata": {"resourceVersion": str(self._rv)},
            "items": items,
        }

    def _create(self, request: rendering.Request) -> dict[str, Any]:
        assert request.resource is not None
        info = self._info(request.resource)
        plural = str(request.resource.plural)
        self.create_attempts[plural] = self.create_attempts.get(plural, 0) + 1
        if not isinstance(request.data, dict):
            raise _error(400, "BadRequest", "the body must be a JSON object")
        obj = copy.deepcopy(request.data)
        meta = obj.setdefault("metadata", {})
        namespace = (request.namespace or meta.get("namespace")) if info.namespaced else None
        if info.namespaced:
            if not namespace:
                raise _error(422, "Invalid", "metadata.namespace: Required value")
            meta["namespace"] = namespace
        name = meta.get("name")
        if not name and meta.get("generateName"):
            name = meta["generateName"] + secrets.token_hex(3)[:5]
            meta["name"] = name
        if not name:
            raise _error(422, "Invalid", "metadata.name: Required value: name or generateName is required")
        key = (request.resource, namespace, name)
        if self._stored(key) is not None:
            raise _error(409, "AlreadyExists", f'{request.resource.plural} "{name}" already exists')
        group = request.resource.group
        obj.setdefault(
            "apiVersion", f"{group}/{request.resource.version}" if group else request.resource.version
        )
        obj.setdefault("kind", info.kind)
        meta["uid"] = str(uuid.uuid4())
        meta["creationTimestamp"] = _now()
        meta["generation"] = 1
        meta["resourceVersion"] = self._next_rv()
        meta.pop("deletionTimestamp", None)
        if "status" in info.subresources:
            obj.pop("status", None)
        if key in self.objects:
            self.objects[key].create(obj)
        else:
            self.objects[key] = obj
        self._emit(request.resource, "ADDED", obj)
        return obj

    def _patch(self, request: rendering.Request) -> dict[str, Any]:
        assert request.resource is not None
        info = self._info(request.resource)
        key = self._key(request)
        stored = self._stored(key)
        if stored is None:
            raise _error(404, "NotFound", f"{request.resource.plural} {request.name!r} not found")
        old = copy.deepcopy(stored.raw)
        content_type = _header(request, "Content-Type")
        try:
            if "json-patch" in content_type:
                if not isinstance(request.data, list):
                    raise _error(400, "BadRequest", "a JSON patch must be a list of operations")
                new = jsonpatch.apply_patch(old, request.data, in_place=False)
            else:
                if not isinstance(request.data, dict):
                    raise _error(400, "BadRequest", "a merge patch must be a JSON object")
                new = _merge(old, request.data)
        except jsonpatch.JsonPatchTestFailed as exc:
            raise _error(422, "Invalid", f"the JSON patch test failed: {exc}") from exc
        except (jsonpatch.JsonPatchException, jsonpatch.JsonPointerException) as exc:
            raise _error(422, "Invalid", f"the JSON patch cannot be applied: {exc}") from exc
        has_status = "status" in info.subresources
        if request.subresource == "status":
            result = copy.deepcopy(old)
            result.pop("status", None)
            if "status" in new:
                result["status"] = new["status"]
            new = result
        elif has_status:
            new.pop("status", None)
            if "status" in old:
                new["status"] = old["status"]
        new_meta = new.setdefault("metadata", {})
        for fixed in ("uid", "creationTimestamp", "name", "namespace", "resourceVersion", "generation"):
            if fixed in old["metadata"]:
                new_meta[fixed] = old["metadata"][fixed]
        if old.get("metadata", {}).get("deletionTimestamp"):
            new_meta["deletionTimestamp"] = old["metadata"]["deletionTimestamp"]
        if new == old:
            return old
        if request.subresource != "status" and _spec_part(new) != _spec_part(old):
            new_meta["generation"] = int(old["metadata"].get("generation", 1)) + 1
        new_meta["resourceVersion"] = self._next_rv()
        if new_meta.get("deletionTimestamp") and not new_meta.get("finalizers"):
            stored.delete()
            self._emit(request.resource, "DELETED", new)
            return new
        stored.history.append(new)
        self._emit(request.resource, "MODIFIED", new)
        return new

    def _delete(self, request: rendering.Request) -> dict[str, Any]:
        assert request.resource is not None
        key = self._key(request)
        stored = self._stored(key)
        if stored is None:
            raise _error(404, "NotFound", f"{request.resource.plural} {request.name!r} not found")
        obj = copy.deepcopy(stored.raw)
        meta = obj["metadata"]
        if meta.get("finalizers"):
            if not meta.get("deletionTimestamp"):
                meta["deletionTimestamp"] = _now()
                meta["resourceVersion"] = self._next_rv()
                stored.history.append(obj)
                self._emit(request.resource, "MODIFIED", obj)
            return obj
        meta["resourceVersion"] = self._next_rv()
        stored.delete()
        self._emit(request.resource, "DELETED", obj)
        return obj

    async def _serve_watch(self, request: rendering.Request) -> AsyncIterator[rendering.Payload]:
        yield b""  # send the headers now: the client waits for them before reading events
        assert request.resource is not None
        self.watch_connects += 1
        loop = asyncio.get_running_loop()
        timeout = request.params.get("timeoutSeconds")
        deadline = loop.time() + float(timeout) if timeout else None
        selector = request.params.get("labelSelector")
        since = request.params.get("resourceVersion")
        epoch = self._epoch

        def wanted(obj: dict[str, Any]) -> bool:
            meta = obj.get("metadata", {})
            return (request.namespace is None or meta.get("namespace") == request.namespace) and (
                _selector_matches(selector, meta.get("labels") or {})
            )

        if since in (None, "", "0"):
            cursor = self._rv
            for (resource, _, _), obj in list(self.objects.items()):
                if resource == request.resource and not obj.deleted and wanted(obj.raw):
                    yield {"type": "ADDED", "object": obj.raw}
        else:
            cursor = int(since)
            if cursor < self._log_floor:
                yield {
                    "type": "ERROR",
                    "object": {"kind": "Status", "apiVersion": "v1", "code": 410, "reason": "Expired"},
                }
                return
        while epoch == self._epoch:
            start = bisect.bisect_right(self._log_rvs, cursor)
            batch = self._log[start:]
            if batch:
                cursor = self._log_rvs[-1]
                for resource, event in batch:
                    if resource == request.resource and wanted(event["object"]):
                        yield event
                continue
            if self._changed is None:
                self._changed = asyncio.Event()
            remaining = None if deadline is None else deadline - loop.time()
            if remaining is not None and remaining <= 0:
                return
            try:
                await asyncio.wait_for(self._changed.wait(), timeout=remaining)
            except TimeoutError:
                return


def _merge(base: Any, patch: Any) -> Any:
    """RFC 7386 merge patch: dicts merge recursively, null deletes, everything else replaces."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = dict(base) if isinstance(base, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = _merge(result.get(key), value)
    return result


def _spec_part(obj: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in obj.items() if k not in ("metadata", "status")}


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
    emulator: TradeTuneEmulator | None = None
    _loop: asyncio.AbstractEventLoop | None = None
    _thread: threading.Thread | None = None
    _stop: asyncio.Event | None = None
    _ready: threading.Event = field(default_factory=threading.Event)
    _failure: BaseException | None = None

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
            async with TradeTuneEmulator() as emulator, kmock.Server(emulator) as server:
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

    def drop_watches(self) -> None:
        self.call(lambda emu: emu.drop_watches())

    def kubeconfig(self) -> dict[str, Any]:
        return {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": "emulator", "cluster": {"server": self.url}}],
            "users": [{"name": "test", "user": {"token": "test-token"}}],
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
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
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
