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
- a no-op patch changes nothing (no new resourceVersion, no watch event);
- `pods/{name}/log` serves the container log the test (playing the kubelet) wrote, with
  `container`, `tailLines` and `sinceSeconds` honoured (pod_logs.py);
- deleting an object deletes the objects whose ownerReferences name it, and an object created
  with owners that are all gone is deleted at once (the garbage collector);
- admission (admission.py): uid preconditions (409) and pod templates a real API server
  refuses (422 Invalid).
- authentication when `tokens` is set: a known bearer token or a client certificate signed
  by the test CA (tls.py, served over HTTPS by running_emulator.py), else 401.

Tests use it through `running_emulator.RunningEmulator`, which runs the server on its own event
loop in a background thread, so a KopfRunner thread and a synchronous test can both talk to it. The test
plays the Job controller and the kubelet by patching objects through the HTTP API, exactly as
those controllers would. Faults (HTTP 500/409 for a while) and dropped watch streams can be
injected to check that the operator recovers.
"""

from __future__ import annotations

import asyncio
import bisect
import copy
import datetime
import re
import secrets
import uuid
from collections.abc import AsyncIterator
from typing import Any

import aiohttp.web
import attrs
import jsonpatch
import kmock
from kmock._internal import apps, rendering

from tests.integration.operator.admission import invalid_pod_spec, non_finite_number, uid_precondition_failure
from tests.integration.operator.faults import Fault, first_due
from tests.integration.operator.objects import TRADETUNE_RESOURCES, merge, selector_matches, spec_part
from tests.integration.operator.pod_logs import LogRequestError, PodLogs

TEST_CLIENT_HEADER = "X-Emulator-Client"
_NAMESPACES_PATH = re.compile(r"^/api/v1/namespaces(?:/(?P<name>[^/]+))?/?$")
_NAMESPACES = kmock.resource("", "v1", "namespaces")
LOG_LIMIT = 50_000


def _now() -> str:
    return datetime.datetime.now(tz=datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _header(request: rendering.Request, name: str) -> str:
    wanted = name.lower()
    return next((v for k, v in request.headers.items() if k.lower() == wanted), "")


def _error(status: int, reason: str, message: str) -> kmock.KubernetesError:
    return kmock.KubernetesError(status=status, reason=reason, message=message, details={})


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
    pod_logs: PodLogs = attrs.field(factory=PodLogs, init=False)  # the kubelet's container logs
    tokens: set[str] | None = attrs.field(default=None, init=False)  # None: anyone may call
    unauthorized: int = attrs.field(default=0, init=False)  # requests answered 401
    by_certificate: int = attrs.field(default=0, init=False)  # requests authenticated by client cert

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

    def _authenticate(self, request: rendering.Request) -> None:
        """401 unless a known bearer token or a client certificate the CA signed comes along."""
        if self.tokens is None or _header(request, TEST_CLIENT_HEADER):
            return
        scheme, _, token = _header(request, "Authorization").partition(" ")
        if scheme.lower() == "bearer" and token in self.tokens:
            return
        raw = getattr(request, "_raw_request", None)
        transport = raw.transport if raw is not None else None
        if transport is not None and transport.get_extra_info("peercert"):
            self.by_certificate += 1
            return
        self.unauthorized += 1
        raise _error(401, "Unauthorized", "Unauthorized")

    def _maybe_fault(self, request: rendering.Request) -> None:
        if _header(request, TEST_CLIENT_HEADER) or request.action is None:
            return
        plural = request.resource.plural if request.resource is not None else None
        fault = first_due(self.faults, request.action.value.lower(), plural, request.subresource)
        if fault is not None:
            group = request.resource.group if request.resource is not None else ""
            verb = request.action.value.lower()
            reason, message = fault.answer(f"{plural}", str(group or ""), verb, str(request.namespace))
            raise _error(fault.status, reason, message)

    # -- request handling -----------------------------------------------------------------

    async def __call__(self, raw_request: aiohttp.web.BaseRequest) -> aiohttp.web.StreamResponse:
        # kmock 0.8 cannot parse /api/v1/namespaces (its path parser expects a namespace name
        # after "namespaces"), so those requests are translated here and served like any other.
        match = _NAMESPACES_PATH.match(raw_request.path)
        if match is None:
            return await super().__call__(raw_request)
        try:
            data = await raw_request.json() if await raw_request.read() else None
        except ValueError:
            data = None
        query = dict(raw_request.query)
        name = match.group("name")
        method = raw_request.method.upper()
        if method == "GET":
            watch = query.get("watch") == "true"
            action = kmock.action.WATCH if watch else kmock.action.FETCH if name else kmock.action.LIST
        else:
            writes = {"POST": kmock.action.CREATE, "PATCH": kmock.action.UPDATE}
            action = writes.get(method, kmock.action.DELETE)
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
        self._authenticate(request)
        self._maybe_fault(request)
        not_json = non_finite_number(request.data)
        if not_json is not None:
            raise _error(400, "BadRequest", not_json)
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
            if request.subresource == "log" and request.resource.plural == "pods":
                try:
                    text = self.pod_logs.serve(str(request.namespace), obj.raw, dict(request.params))
                except LogRequestError as exc:
                    raise _error(exc.status, exc.reason, exc.message) from None
                return aiohttp.web.Response(text=text, content_type="text/plain")
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
            and selector_matches(selector, obj.raw.get("metadata", {}).get("labels") or {})
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
        invalid = invalid_pod_spec(obj)
        if invalid is not None:
            raise _error(422, "Invalid", invalid)
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
        refs = [ref.get("uid") for ref in meta.get("ownerReferences") or [] if isinstance(ref, dict)]
        if refs and not any(self._alive(uid) for uid in refs):
            # Created for an owner that is gone already (a reconcile racing a delete): the
            # garbage collector removes it, as it would on a real cluster a moment later.
            self._remove(request.resource, self.objects[key])
        return obj

    def _alive(self, uid: str | None) -> bool:
        return any(
            not obj.deleted and obj.raw.get("metadata", {}).get("uid") == uid for obj in self.objects.values()
        )

    def _patch(self, request: rendering.Request) -> dict[str, Any]:
        assert request.resource is not None
        info = self._info(request.resource)
        key = self._key(request)
        stored = self._stored(key)
        if stored is None:
            raise _error(404, "NotFound", f"{request.resource.plural} {request.name!r} not found")
        old = copy.deepcopy(stored.raw)
        failed = uid_precondition_failure(request.data, old["metadata"]["uid"])
        if failed is not None:
            raise _error(409, "Conflict", failed)
        content_type = _header(request, "Content-Type")
        try:
            if "json-patch" in content_type:
                if not isinstance(request.data, list):
                    raise _error(400, "BadRequest", "a JSON patch must be a list of operations")
                new = jsonpatch.apply_patch(old, request.data, in_place=False)
            else:
                if not isinstance(request.data, dict):
                    raise _error(400, "BadRequest", "a merge patch must be a JSON object")
                new = merge(old, request.data)
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
        if request.subresource != "status" and spec_part(new) != spec_part(old):
            new_meta["generation"] = int(old["metadata"].get("generation", 1)) + 1
        new_meta["resourceVersion"] = self._next_rv()
        if new_meta.get("deletionTimestamp") and not new_meta.get("finalizers"):
            stored.delete()
            self._emit(request.resource, "DELETED", new)
            self._collect(new_meta["uid"])
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
        failed = uid_precondition_failure(request.data, meta["uid"])
        if failed is not None:
            raise _error(409, "Conflict", failed)
        self._remove(request.resource, stored)
        return obj

    def _remove(self, resource: kmock.resource, stored: kmock.Object) -> None:
        """Delete now, or mark for deletion while finalizers hold the object."""
        obj = copy.deepcopy(stored.raw)
        meta = obj["metadata"]
        if meta.get("finalizers"):
            if not meta.get("deletionTimestamp"):
                meta["deletionTimestamp"] = _now()
                meta["resourceVersion"] = self._next_rv()
                stored.history.append(obj)
                self._emit(resource, "MODIFIED", obj)
            return
        meta["resourceVersion"] = self._next_rv()
        stored.delete()
        self._emit(resource, "DELETED", obj)
        self._collect(meta["uid"])

    def _collect(self, owner_uid: str) -> None:
        """The garbage collector: objects whose ownerReferences name a deleted owner go too."""
        for (resource, _, _), obj in list(self.objects.items()):
            refs = obj.raw.get("metadata", {}).get("ownerReferences") or [] if not obj.deleted else []
            if any(ref.get("uid") == owner_uid for ref in refs):
                self._remove(resource, obj)

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
                selector_matches(selector, meta.get("labels") or {})
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
