"""The operator's I/O edge: fetch what exists, call the pure `decide`, apply the decision.

One `Runtime` lives for one operator run (created by the startup handler, kept in kopf's memo).
Reconciles of one object never overlap: triggers that arrive while one runs are coalesced into
a single follow-up run. Transient API failures are retried with a growing delay and counted in
`tradetune_reconcile_errors_total`; nothing here crashes the operator.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from tradetune.api import EvalMetrics
from tradetune.operator import builders, kube, patches, peering, refusals, serve_runtime
from tradetune.operator import progress_decision as pd
from tradetune.operator import reconcile_finetunejob as rf
from tradetune.operator.metrics import OperatorMetrics
from tradetune.operator.ownership import owned_by
from tradetune.operator.posting import EventPoster
from tradetune.operator.progress_loop import ProgressReader
from tradetune.operator.settings import OperatorSettings

logger = logging.getLogger("tradetune.operator")
Key = tuple[str, str]
RETRY_DELAYS = (1.0, 2.0, 5.0, 10.0, 30.0, 60.0)


class KeyedRunner:
    """Runs `fn(namespace, name)` one at a time per key, coalescing triggers that pile up."""

    def __init__(
        self, kind: str, fn: Callable[[str, str], Awaitable[None]], metrics: OperatorMetrics
    ) -> None:
        self.kind = kind
        self._fn = fn
        self._metrics = metrics
        self._locks: dict[Key, asyncio.Lock] = {}
        self._pending: dict[Key, asyncio.Future[bool]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._failures: dict[Key, int] = {}

    async def run(self, namespace: str, name: str) -> None:
        """Reconcile now (or join a run that has not started yet); raises what the run raises."""
        key = (namespace, name)
        pending = self._pending.get(key)
        if pending is not None:
            if await asyncio.shield(pending):
                return
            await self.run(namespace, name)  # the queued run was cancelled before it started
            return
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._pending[key] = future
        lock = self._locks.setdefault(key, asyncio.Lock())
        started = False
        try:
            async with lock:
                if self._pending.get(key) is future:
                    del self._pending[key]
                started = True
                await self._fn(namespace, name)
        except BaseException as exc:
            if self._pending.get(key) is future:
                del self._pending[key]
            if not future.done():
                if started:
                    future.set_exception(exc)
                    future.exception()  # retrieved: joiners re-raise it, nobody else must
                else:
                    future.set_result(False)  # never ran: joiners run it themselves
            raise
        future.set_result(True)

    def trigger(self, namespace: str, name: str, delay: float = 0.0) -> None:
        """Reconcile in the background; failures are retried later, never raised."""
        task = asyncio.create_task(
            self._background(namespace, name, delay), name=f"{self.kind}/{namespace}/{name}"
        )
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _background(self, namespace: str, name: str, delay: float) -> None:
        if delay:
            await asyncio.sleep(delay)
        key = (namespace, name)
        try:
            await self.run(namespace, name)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            attempt = self._failures.get(key, 0)
            self._failures[key] = attempt + 1
            self._metrics.reconcile_error(self.kind)
            retry = RETRY_DELAYS[min(attempt, len(RETRY_DELAYS) - 1)]
            logger.warning(
                "reconcile of %s %s/%s failed (%s); retrying in %.0fs", self.kind, namespace, name, exc, retry
            )
            self.trigger(namespace, name, retry)
        else:
            self._failures.pop(key, None)

    def forget(self, namespace: str, name: str) -> None:
        self._locks.pop((namespace, name), None)
        self._failures.pop((namespace, name), None)

    @property
    def busy(self) -> int:
        return len(self._tasks)

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)


@dataclass
class Runtime:
    settings: OperatorSettings
    metrics: OperatorMetrics
    client: kube.KubeClient | None = None
    ftj: KeyedRunner = field(init=False)
    mserve: KeyedRunner = field(init=False)
    progress: ProgressReader = field(init=False)
    events: EventPoster = field(default_factory=EventPoster)
    _phase_since: dict[Key, tuple[str, float]] = field(default_factory=dict)
    now: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    _resync_task: asyncio.Task[None] | None = field(default=None, init=False)
    _peering_task: asyncio.Task[None] | None = field(default=None, init=False)
    _progress_task: asyncio.Task[None] | None = field(default=None, init=False)
    active: bool = True  # this replica works (always, without peering)

    def __post_init__(self) -> None:
        self.ftj = KeyedRunner("FineTuneJob", self.reconcile_finetunejob, self.metrics)
        self.mserve = KeyedRunner("ModelServe", self.reconcile_modelserve, self.metrics)
        every = pd.ProgressSettings(self.settings.progress_seconds, self.settings.progress_tail_lines)
        self.progress = ProgressReader(every, self.metrics, self.events.post)

    @property
    def api(self) -> kube.KubeClient:
        if self.client is None:
            raise kube.TransientApiError("not logged in to the API server yet")
        return self.client

    def start_resync(self) -> None:
        """Reconcile every object that can still change each `resync_seconds`, missed events or not.

        A loop of our own rather than kopf timers: kopf puts a finalizer on every object a timer
        watches, and a finalizer makes deletion wait for a running operator. Live progress
        (progress_loop.py) is read by a second loop of ours, every `progress_seconds`.
        """
        self._resync_task = asyncio.create_task(self._resync_forever(), name="resync")
        self._progress_task = asyncio.create_task(self._progress_forever(), name="progress")

    async def _resync_forever(self) -> None:
        while True:
            await asyncio.sleep(self.settings.resync_seconds)
            try:
                await self.resync_once()
            except (kube.ApiError, kube.TransientApiError) as exc:
                logger.warning(
                    "periodic resync failed (%s); trying again in %.0fs", exc, self.settings.resync_seconds
                )

    async def _progress_forever(self) -> None:
        await asyncio.sleep(min(self.settings.progress_seconds, 5.0))
        while True:
            started = time.monotonic()
            try:
                await self.progress_once()
            except (kube.ApiError, kube.TransientApiError) as exc:
                logger.info("live progress not read (%s)", exc)
            except Exception:  # progress must never stop for good: log it, try next interval
                logger.exception("live progress failed")
            # A fixed rate: a slow tick does not push every later read back.
            await asyncio.sleep(max(0.0, started + self.settings.progress_seconds - time.monotonic()))

    async def progress_once(self) -> None:
        """Read the progress of every training FineTuneJob whose interval has passed."""
        if self.client is None or not self.active:
            return
        now = time.time()
        for namespace in self.settings.namespaces or (None,):
            await self.progress.read_all(self.client, namespace, now)

    def start_peering_watch(self, clusterwide: bool) -> None:
        """Follow the peering object to know whether kopf lets this replica work (peering.py)."""
        if not self.settings.peering:
            return
        self.active = False
        self.metrics.active.set(0.0)
        self._peering_task = asyncio.create_task(self._follow_peering(clusterwide), name="peering")

    async def _follow_peering(self, clusterwide: bool) -> None:
        interval = max(0.5, min(5.0, self.settings.peering_lifetime / 6))
        while True:
            try:
                active = await self._peering_active(clusterwide)
                if active and not self.active:
                    for namespace in self.settings.namespaces or (None,):
                        await self._trigger_all(namespace)  # take over whatever is in flight
            except (kube.ApiError, kube.TransientApiError) as exc:
                logger.warning("cannot read the peering object (%s)", exc)
            else:
                if active != self.active:
                    logger.info("this replica is now %s", "active" if active else "a standby")
                self.active = active
                self.metrics.active.set(1.0 if active else 0.0)
            await asyncio.sleep(interval)

    async def _peering_active(self, clusterwide: bool) -> bool:
        if self.client is None:
            return False
        name = str(self.settings.peering)
        scopes: tuple[str | None, ...] = (None,) if clusterwide else self.settings.namespaces or (None,)
        res = kube.CLUSTER_PEERINGS if clusterwide else kube.PEERINGS
        for namespace in scopes:
            body = await self.api.get(res, namespace, name)
            peers = (body or {}).get("status") or {}
            me, priority = self.settings.identity, self.settings.peering_priority
            if not peering.is_active(peers, me, priority, datetime.now(UTC)):
                return False
        return True

    async def resync_once(self) -> None:
        if self.client is None or not self.active:
            return
        for namespace in self.settings.namespaces or (None,):
            await self._trigger_all(namespace, only_moving=True)

    async def _trigger_all(self, namespace: str | None, *, only_moving: bool = False) -> None:
        """Reconcile the FineTuneJobs (all, or those that can still change) and ModelServes."""
        for body in await self.api.list(kube.FINETUNEJOBS, namespace):
            meta = body.get("metadata") or {}
            if patches.still_moving(body) or (not only_moving and not meta.get("deletionTimestamp")):
                self.ftj.trigger(str(meta.get("namespace")), str(meta.get("name")))
        for body in await self.api.list(kube.MODELSERVES, namespace):
            meta = body.get("metadata") or {}
            if not meta.get("deletionTimestamp"):
                self.mserve.trigger(str(meta.get("namespace")), str(meta.get("name")))

    async def close(self) -> None:
        for task in (self._resync_task, self._progress_task, self._peering_task):
            if task is not None:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
        await self.ftj.close()
        await self.mserve.close()
        if self.client is not None:
            await self.client.close()
        self.metrics.stop()

    # -- FineTuneJob ----------------------------------------------------------------------

    async def reconcile_finetunejob(self, namespace: str, name: str) -> None:
        for _ in range(5):  # a decision may ask to go again at once (Evaluating → gate)
            again = await self._finetunejob_pass(namespace, name)
            if not again:
                return

    async def _finetunejob_pass(self, namespace: str, name: str) -> bool:
        api = self.api
        body = await api.get(kube.FINETUNEJOBS, namespace, name)
        if body is None or (body.get("metadata") or {}).get("deletionTimestamp"):
            return False
        job = await api.get(kube.JOBS, namespace, builders.job_name(name))
        self.progress.saw_job(namespace, name, str(body["metadata"].get("uid") or ""), job)
        pods: list[dict[str, Any]] = []
        if job is not None:
            job_uid = job["metadata"].get("uid")
            pods = [
                pod
                for pod in await api.list(kube.PODS, namespace, f"{builders.FTJ_LABEL}={name}")
                if owned_by(pod, job_uid)
            ]
        config_map = None
        if job is None:  # about to be created: whatever holds the ConfigMap's name must be ours
            config_map = await api.get(kube.CONFIGMAPS, namespace, builders.config_map_name(name))
        model_serve = None
        if rf.needs_model_serve(body):
            target = body["spec"]["promote"]["modelServe"]
            model_serve = await api.get(kube.MODELSERVES, namespace, target)
        observed = rf.Observed(job=job, pods=pods, model_serve=model_serve, config_map=config_map)
        decision = rf.decide(body, observed, self.settings, self.now())

        for manifest in decision.create:
            if manifest["kind"] == "ConfigMap" and config_map is not None:
                continue  # ours (decide checked its owner): the Job is what is missing
            res = kube.JOBS if manifest["kind"] == "Job" else kube.CONFIGMAPS
            try:
                await api.create(res, namespace, manifest)
            except kube.ApiError as exc:
                if exc.status == 409:
                    # Created meanwhile, by us or by someone else: decide again with it observed,
                    # never adopt an object by its name alone.
                    return True
                refused = refusals.refusal(
                    manifest["kind"], manifest["metadata"]["name"], exc.status, exc.message
                )
                if refused is None:
                    raise
                observed = dataclasses.replace(observed, refused=refused)
                decision = rf.decide(body, observed, self.settings, self.now())
                break
        if decision.job_patch is not None and job is not None:
            await api.patch(
                kube.JOBS, namespace, builders.job_name(name), patches.with_uid(decision.job_patch, job)
            )
        if decision.model_serve_create is not None:
            try:
                await api.create(kube.MODELSERVES, namespace, decision.model_serve_create)
            except kube.ApiError as exc:
                if exc.status != 409:
                    raise
                return True  # created meanwhile: decide again with it observed
        if decision.model_serve_patch is not None:
            target = body["spec"]["promote"]["modelServe"]
            patch = decision.model_serve_patch
            if model_serve is not None:  # decide checked it opted in: patch that very object
                patch = patches.with_uid(patch, model_serve)
            await api.patch(kube.MODELSERVES, namespace, target, patch)
        if decision.status is not None:
            patched = await api.patch(
                kube.FINETUNEJOBS,
                namespace,
                name,
                patches.status_patch(body.get("status"), decision.status),
                subresource="status",
            )
            if patched is None:
                return False
            body = patched
            self.events.post(body, decision.events)
        elif decision.events:
            self.events.post(body, decision.events)
        self._observe_finetunejob(namespace, name, body, decision)
        if decision.promoted:
            target = body["spec"]["promote"]["modelServe"]
            self.mserve.trigger(namespace, target)
        status = body.get("status") or {}
        if decision.status is not None and status.get("phase") in ("Succeeded", "Failed"):
            await self._wake_model_serves(namespace, name)
        if decision.requeue_after == 0:
            return True
        if decision.requeue_after:
            self.ftj.trigger(namespace, name, decision.requeue_after)
        return False

    def _observe_finetunejob(
        self, namespace: str, name: str, body: dict[str, Any], decision: rf.Decision
    ) -> None:
        status = body.get("status") or {}
        phase = status.get("phase") or "Pending"
        key = (namespace, name)
        previous = self._phase_since.get(key)
        if previous is None:
            # First sight after a start: take the time from the status, so a restart does not
            # reset how long a job has been stuck (alerts are written on this series).
            self._phase_since[key] = (phase, rf.phase_since(body) or time.time())
        elif previous[0] != phase:
            self._phase_since[key] = (phase, time.time())
        gate = status.get("gate")
        metrics = EvalMetrics.model_validate(status["metrics"]) if status.get("metrics") else None
        self.metrics.observe_finetunejob(
            namespace,
            name,
            phase=phase,
            phase_since=self._phase_since[key][1],
            metrics=metrics,
            gate_passed=bool(gate.get("passed")) if isinstance(gate, dict) and "passed" in gate else None,
        )
        if decision.training_seconds is not None:
            self.metrics.training_finished(namespace, decision.training_seconds)
        if decision.gate_result is not None:
            self.metrics.gate_evaluated(namespace, decision.gate_result)
        if decision.promoted:
            self.metrics.promoted(namespace)

    async def _wake_model_serves(self, namespace: str, ftj_name: str) -> None:
        """A job reached a final phase: ModelServes serving it may have something to do."""
        for ms in await self.api.list(kube.MODELSERVES, namespace):
            if ((ms.get("spec") or {}).get("model") or {}).get("fromFineTuneJob") == ftj_name:
                self.mserve.trigger(namespace, ms["metadata"]["name"])

    async def finetunejob_gone(self, namespace: str, name: str) -> None:
        """The FineTuneJob is gone: drop its series; Kubernetes collects the children it owned.

        No finalizer holds the object for this (see handlers.py), so deleting a FineTuneJob, its
        namespace or the CRDs never waits on the operator, even after it was uninstalled.
        """
        self.metrics.forget_finetunejob(namespace, name)
        self._phase_since.pop((namespace, name), None)
        self.ftj.forget(namespace, name)
        self.progress.forget(namespace, name)
        await self._wake_model_serves(namespace, name)

    # -- ModelServe (I/O in serve_runtime.py) --------------------------------------------

    async def reconcile_modelserve(self, namespace: str, name: str) -> None:
        await serve_runtime.reconcile_modelserve(self, namespace, name)

    async def modelserve_gone(self, namespace: str, name: str) -> None:
        """The ModelServe is gone: drop its series; its children go by ownerReference."""
        self.metrics.forget_modelserve(namespace, name)
        self.mserve.forget(namespace, name)
