"""kopf handlers: thin triggers into `Runtime` (see runtime.py) and kopf's own settings.

- FineTuneJob / ModelServe create, resume (operator restart) and update → reconcile that object;
  their DELETED events drop the object's metric series. No delete handler and no resync timer:
  either would make kopf put a finalizer on every object, and a finalizer makes deletion wait
  for a running operator (children go by ownerReference; the periodic resync is Runtime's).
  No kopf timer either, for the same reason: live progress is read by Runtime's own loop.
- Job and Pod events (labelled `tradetune.dev/finetunejob`) → reconcile the owning FineTuneJob;
  Deployment and server Pod events (component server) → reconcile the owning ModelServe, so
  a crash-looping server shows as Degraded within seconds.
- Running FineTuneJobs: Runtime's progress loop reads the trainer's log (progress_loop.py).
kopf keeps its bookkeeping in `tradetune.dev/*` annotations, so `status` holds only ours.
"""

from __future__ import annotations

import logging
import os
from typing import Any

import kopf

from tradetune.api import GROUP, VERSION
from tradetune.operator import builders, kube
from tradetune.operator.metrics import OperatorMetrics
from tradetune.operator.runtime import Runtime
from tradetune.operator.settings import load_settings

# Added by releases that had delete handlers; kopf removes it from such objects on sight.
FINALIZER = "tradetune.dev/finalizer"
MANAGED = {builders.MANAGED_BY_LABEL: builders.MANAGED_BY}
# Trainer Jobs (FineTuneJob) and verification Jobs (ModelServe rollouts): every Job we manage.
JOB_SELECTOR = f"{builders.MANAGED_BY_LABEL}={builders.MANAGED_BY}"
POD_SELECTOR = f"{builders.MANAGED_BY_LABEL}={builders.MANAGED_BY}"  # trainer and server pods
SERVER_SELECTOR = f"{builders.COMPONENT_LABEL}=server,{builders.MANAGED_BY_LABEL}={builders.MANAGED_BY}"


def _runtime(memo: Any) -> Runtime:
    runtime = getattr(memo, "tradetune", None)
    if not isinstance(runtime, Runtime):
        raise kopf.TemporaryError("the operator is still starting", delay=1)
    runtime.events.remember_context()
    return runtime


def configure(settings: kopf.OperatorSettings, ours: Any) -> None:
    """kopf settings that follow from ours (also used by tests that run the operator)."""
    settings.persistence.finalizer = FINALIZER
    settings.persistence.progress_storage = kopf.AnnotationsProgressStorage(prefix="tradetune.dev")
    settings.persistence.diffbase_storage = kopf.AnnotationsDiffBaseStorage(
        prefix="tradetune.dev", key="last-handled-configuration"
    )
    # The API server closes each watch after this many seconds and kopf reopens it from the
    # last resourceVersion, so a silently broken stream cannot stall the operator for long.
    settings.watching.server_timeout = ours.watch_server_timeout
    settings.watching.client_timeout = ours.watch_client_timeout
    settings.watching.connect_timeout = 30
    settings.watching.label_selectors["v1", "pods"] = POD_SELECTOR
    settings.watching.label_selectors["batch/v1", "jobs"] = JOB_SELECTOR
    settings.watching.label_selectors["apps/v1", "deployments"] = SERVER_SELECTOR
    settings.networking.request_timeout = 60
    settings.networking.connect_timeout = 30
    # CRDs are installed before the operator (Helm does): no need to list CRDs and namespaces.
    settings.scanning.disabled = True
    settings.posting.level = logging.INFO
    settings.posting.reporting_component = "tradetune-operator"
    settings.execution.max_workers = 4
    if ours.cluster_peering is not None:
        settings.peering.clusterwide = ours.cluster_peering
    settings.peering.lifetime = ours.peering_lifetime


@kopf.on.startup()
async def startup(settings: kopf.OperatorSettings, memo: Any, logger: Any, **_: Any) -> None:
    ours = load_settings()
    configure(settings, ours)
    metrics = OperatorMetrics()
    metrics.serve(ours.metrics_port)
    memo.tradetune = Runtime(settings=ours, metrics=metrics)
    memo.tradetune.start_resync()
    memo.tradetune.start_peering_watch(clusterwide=bool(settings.peering.clusterwide))
    logger.info(
        "TradeTune operator: namespaces=%s trainer=%s server=%s metrics=:%s",
        ",".join(ours.namespaces) or "(all)",
        ours.trainer_image,
        ours.server_image,
        ours.metrics_port,
    )


def credentials(settings: kopf.OperatorSettings, logger: Any) -> kopf.ConnectionInfo | None:
    """Log in as `kubectl` would: the official client first, kopf's minimal readers otherwise.

    The `kubernetes` package (in the operator extra) understands everything a kubeconfig can
    hold: exec plugins (EKS, GKE, AKS), OIDC refresh, token files, the in-cluster service
    account. kopf's own readers only know tokens and certificates; they remain the fallback.
    """
    try:
        from kubernetes.config import kube_config
    except ImportError:
        pass
    else:  # it reads $KUBECONFIG once, at import; a changed variable must count
        kube_config.KUBE_CONFIG_DEFAULT_LOCATION = os.environ.get("KUBECONFIG", "~/.kube/config")
    try:
        info = kopf.login_via_client(settings=settings, logger=logger)
    except kopf.LoginError:
        info = None
    return (
        info
        or kopf.login_with_service_account(settings=settings, logger=logger)
        or kopf.login_with_kubeconfig(settings=settings, logger=logger)
    )


@kopf.on.login()
def login(settings: kopf.OperatorSettings, memo: Any, logger: Any, **_: Any) -> kopf.ConnectionInfo:
    """The service account in a pod, `$KUBECONFIG` elsewhere; our own client uses the same."""
    info = credentials(settings, logger)
    if info is None:
        raise kopf.LoginError("no credentials: run in a pod with a service account or set KUBECONFIG")
    runtime = getattr(memo, "tradetune", None)
    if isinstance(runtime, Runtime):

        async def relogin() -> kopf.ConnectionInfo | None:
            return credentials(settings, logger)

        if runtime.client is None:
            runtime.client = kube.KubeClient(info, relogin=relogin)
    return info


@kopf.on.cleanup()
async def cleanup(memo: Any, **_: Any) -> None:
    runtime = getattr(memo, "tradetune", None)
    if isinstance(runtime, Runtime):
        await runtime.close()


@kopf.on.probe(id="active")
def active_probe(memo: Any, **_: Any) -> bool:
    """Whether this replica is the active one (`/healthz`); standbys are healthy too."""
    runtime = getattr(memo, "tradetune", None)
    return bool(runtime.active) if isinstance(runtime, Runtime) else False


@kopf.on.probe(id="reconciles")
def probe(memo: Any, **_: Any) -> int:
    """Reconciles in flight, shown in the liveness answer (`/healthz`)."""
    runtime = getattr(memo, "tradetune", None)
    return runtime.ftj.busy + runtime.mserve.busy if isinstance(runtime, Runtime) else 0


async def _reconcile(runner_kind: str, memo: Any, namespace: str, name: str) -> None:
    runtime = _runtime(memo)
    runner = runtime.ftj if runner_kind == "ftj" else runtime.mserve
    try:
        await runner.run(namespace, name)
    except kube.TransientApiError as exc:
        runtime.metrics.reconcile_error(runner.kind)
        raise kopf.TemporaryError(str(exc), delay=5) from exc
    except kube.ApiError as exc:
        runtime.metrics.reconcile_error(runner.kind)
        raise kopf.TemporaryError(str(exc), delay=15) from exc


# -- FineTuneJob ------------------------------------------------------------------------


@kopf.on.resume(GROUP, VERSION, "finetunejobs", id="reconcile")
@kopf.on.create(GROUP, VERSION, "finetunejobs", id="reconcile")
@kopf.on.update(GROUP, VERSION, "finetunejobs", id="reconcile")
async def finetunejob_changed(namespace: str | None, name: str, memo: Any, **_: Any) -> None:
    await _reconcile("ftj", memo, str(namespace), name)


@kopf.on.event(GROUP, VERSION, "finetunejobs")
async def finetunejob_event(namespace: str | None, name: str, type: str | None, memo: Any, **_: Any) -> None:
    if type == "DELETED":
        runtime = getattr(memo, "tradetune", None)
        if isinstance(runtime, Runtime):
            await runtime.finetunejob_gone(str(namespace), name)


@kopf.on.event("batch", "v1", "jobs", labels={builders.FTJ_LABEL: kopf.PRESENT, **MANAGED})
async def job_event(namespace: str | None, labels: Any, type: str | None, memo: Any, **_: Any) -> None:
    # A Job appears because this operator created it (the reconcile that did so wrote the status)
    # or is listed at start-up (resume handlers reconcile every job then): only changes matter.
    if type in (None, "ADDED"):
        return
    runtime = getattr(memo, "tradetune", None)
    if isinstance(runtime, Runtime):
        runtime.ftj.trigger(str(namespace), labels[builders.FTJ_LABEL])


@kopf.on.event("", "v1", "pods", labels={builders.FTJ_LABEL: kopf.PRESENT, **MANAGED})
async def pod_event(namespace: str | None, labels: Any, memo: Any, **_: Any) -> None:
    runtime = getattr(memo, "tradetune", None)
    if isinstance(runtime, Runtime):
        runtime.ftj.trigger(str(namespace), labels[builders.FTJ_LABEL])


# -- ModelServe -------------------------------------------------------------------------


@kopf.on.resume(GROUP, VERSION, "modelserves", id="reconcile")
@kopf.on.create(GROUP, VERSION, "modelserves", id="reconcile")
@kopf.on.update(GROUP, VERSION, "modelserves", id="reconcile")
async def modelserve_changed(namespace: str | None, name: str, memo: Any, **_: Any) -> None:
    await _reconcile("mserve", memo, str(namespace), name)


@kopf.on.event(GROUP, VERSION, "modelserves")
async def modelserve_event(
    namespace: str | None, name: str, type: str | None, labels: Any, memo: Any, **_: Any
) -> None:
    if type == "DELETED":
        runtime = getattr(memo, "tradetune", None)
        if isinstance(runtime, Runtime):
            await runtime.modelserve_gone(str(namespace), name)
            # The FineTuneJob that promoted into it says so at once (Promoted=False, ModelServeDeleted).
            source = (labels or {}).get(builders.FTJ_LABEL)
            if source:
                runtime.ftj.trigger(str(namespace), str(source))


@kopf.on.event("", "v1", "pods", labels={builders.MSERVE_LABEL: kopf.PRESENT, **MANAGED})
async def server_pod_event(namespace: str | None, labels: Any, memo: Any, **_: Any) -> None:
    runtime = getattr(memo, "tradetune", None)
    if isinstance(runtime, Runtime):
        runtime.mserve.trigger(str(namespace), labels[builders.MSERVE_LABEL])


@kopf.on.event("apps", "v1", "deployments", labels={builders.COMPONENT_LABEL: "server", **MANAGED})
async def server_event(namespace: str | None, labels: Any, memo: Any, **_: Any) -> None:
    runtime = getattr(memo, "tradetune", None)
    instance = labels.get(builders.INSTANCE_LABEL)
    if isinstance(runtime, Runtime) and instance:
        runtime.mserve.trigger(str(namespace), instance)


@kopf.on.event("batch", "v1", "jobs", labels={builders.COMPONENT_LABEL: "verifier", **MANAGED})
async def verify_job_event(namespace: str | None, labels: Any, memo: Any, **_: Any) -> None:
    """A verification Job moved: its ModelServe's rollout may take the next step."""
    runtime = getattr(memo, "tradetune", None)
    instance = labels.get(builders.INSTANCE_LABEL)
    if isinstance(runtime, Runtime) and instance:
        runtime.mserve.trigger(str(namespace), instance)
