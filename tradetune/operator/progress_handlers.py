"""kopf's side of live progress: two indexes and a timer, thin around `progress_decision`.

The indexes keep the trainer Jobs and pods from the watches the operator has anyway, so
finding a job's running pod costs no API request. The timer runs for FineTuneJobs in Running
or Evaluating; for each, at most once per `TRADETUNE_PROGRESS_SECONDS`, it reads the tail of
the trainer pod's log (`pods/log get` with tailLines and sinceSeconds: one request), decides,
and patches the status only when something changed. Errors are logged and dropped: progress
never fails a job nor backs off the reconciler.
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass, field
from typing import Any, cast

import kopf

from tradetune.api import GROUP, VERSION, latest_record
from tradetune.operator import builders, kube
from tradetune.operator import progress_decision as pd
from tradetune.operator.ownership import controller_uid, owner_uids
from tradetune.operator.runtime import Runtime

logger = logging.getLogger("tradetune.operator.progress")
# Read at import, as kopf needs the timer interval when the handler is registered.
PROGRESS_SECONDS = float(os.environ.get("TRADETUNE_PROGRESS_SECONDS") or 15.0)
_LABELS: dict[str, Any] = {
    builders.FTJ_LABEL: kopf.PRESENT,
    builders.MANAGED_BY_LABEL: builders.MANAGED_BY,
}


@dataclass
class ProgressState:
    """Per-job memory of the progress timer (one per operator run, in kopf's memo)."""

    last_read: dict[tuple[str, str], float] = field(default_factory=dict)
    advanced_at: dict[tuple[str, str], float] = field(default_factory=dict)
    reads: int = 0
    patches: int = 0


def _state(memo: Any) -> ProgressState:
    state = getattr(memo, "tradetune_progress", None)
    if not isinstance(state, ProgressState):
        state = ProgressState()
        memo.tradetune_progress = state
    return state


@kopf.index("batch", "v1", "jobs", labels=_LABELS)
def trainer_jobs(namespace: str | None, name: str, labels: Any, meta: Any, **_: Any) -> Any:
    owners = owner_uids({"metadata": meta})
    return {(namespace, labels[builders.FTJ_LABEL]): pd.JobRef(name, str(meta.get("uid")), owners)}


@kopf.index("", "v1", "pods", labels=_LABELS)
def trainer_pods(namespace: str | None, name: str, labels: Any, meta: Any, status: Any, **_: Any) -> Any:
    owner = controller_uid({"metadata": meta})
    started = any(
        "running" in (cs.get("state") or {})
        for cs in (status or {}).get("containerStatuses") or []
        if cs.get("name") == builders.TRAINER_CONTAINER
    )
    pod = pd.PodRef(
        name=name,
        owner_uid=owner,
        phase=str((status or {}).get("phase") or "Pending"),
        running=started,
        created=str(meta.get("creationTimestamp") or ""),
    )
    return {(namespace, labels[builders.FTJ_LABEL]): pod}


def _training(status: Any, **_: Any) -> bool:
    return pd.reading(dict(status or {}))


def _gauge_values(decision: pd.ProgressDecision) -> dict[str, float | None]:
    p = decision.progress
    if p is None:
        return {}
    return {
        "progressPercentage": p.progress_percentage,
        "trainLoss": p.train_loss,
        "evalLoss": p.eval_loss.latest if p.eval_loss is not None else None,
        "tokensPerSecond": p.tokens_per_second,
        "estimatedRemainingSeconds": p.estimated_remaining_seconds,
        "step": p.step,
    }


@kopf.timer(
    GROUP,
    VERSION,
    "finetunejobs",
    id="progress",
    interval=PROGRESS_SECONDS,
    initial_delay=min(PROGRESS_SECONDS, 5.0),
    when=_training,
)
async def finetunejob_progress(  # noqa: PLR0917  (kopf passes these by name)
    namespace: str | None,
    name: str,
    uid: str,
    body: Any,
    status: Any,
    memo: Any,
    **kwargs: Any,
) -> None:
    trainer_jobs, trainer_pods = kwargs["trainer_jobs"], kwargs["trainer_pods"]
    runtime = getattr(memo, "tradetune", None)
    if not isinstance(runtime, Runtime) or runtime.client is None:
        return
    ns = str(namespace)
    key = (ns, name)
    settings = pd.ProgressSettings(
        interval=runtime.settings.progress_seconds, tail_lines=runtime.settings.progress_tail_lines
    )
    state = _state(memo)
    now = time.time()
    if not pd.due(state.last_read.get(key), now, settings):
        return
    pod = pd.trainer_pod(name, str(uid), trainer_jobs.get(key, []), trainer_pods.get(key, []))
    if pod is None:
        return
    state.last_read[key] = now
    try:
        text = await runtime.client.pod_log(
            ns,
            pod.name,
            container=builders.TRAINER_CONTAINER,
            tail_lines=settings.tail_lines,
            since_seconds=settings.since_seconds,
        )
        state.reads += 1
        decision = pd.decide_progress(dict(status or {}), latest_record(text or ""))
        if decision.patch is not None:
            patched = await runtime.client.patch(
                kube.FINETUNEJOBS, ns, name, decision.patch, subresource="status"
            )
            state.patches += 1
            for event in decision.events:
                kopf.event(
                    cast(Any, patched or body), type=event.type, reason=event.reason, message=event.message
                )
    except (kube.ApiError, kube.TransientApiError) as exc:
        logger.info("progress of FineTuneJob %s/%s not read: %s", ns, name, exc)
        return
    if decision.progress is not None:
        if decision.advanced or key not in state.advanced_at:
            state.advanced_at[key] = now
        runtime.metrics.observe_progress(ns, name, _gauge_values(decision), state.advanced_at[key])
