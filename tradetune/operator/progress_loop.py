"""Live progress, driven by the operator's own loop (no kopf timer): thin I/O around `progress_decision`.

A kopf timer would put a finalizer on every FineTuneJob it watches, and a finalizer makes
deleting a job wait for a running operator (hang forever after `helm uninstall`). So
`Runtime` runs this every `TRADETUNE_PROGRESS_SECONDS`: one FineTuneJob list per watched
namespace, then for each job in Running or Evaluating whose interval has passed, one pod list
(selector `tradetune.dev/finetunejob=<name>` plus managed-by) and one read of the tail of the
running trainer pod's log (`pods/log get` with tailLines and sinceSeconds). The status is
patched only when something changed. The pod read is the one whose controlling Job this
FineTuneJob owns by uid (ownership.py), never one that only carries the label. Errors are
logged and dropped: progress never fails a job nor backs off the reconciler.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tradetune.api import latest_record
from tradetune.operator import builders, kube
from tradetune.operator import progress_decision as pd
from tradetune.operator.ftj_status import Event
from tradetune.operator.metrics import OperatorMetrics
from tradetune.operator.ownership import controller_uid, owned_by

logger = logging.getLogger("tradetune.operator.progress")
Key = tuple[str, str]
Post = Callable[[dict[str, Any], list[Event]], None]
PARALLEL_READS = 8  # jobs whose pods and logs are read at the same time
TRAINER_SELECTOR = f"{builders.MANAGED_BY_LABEL}={builders.MANAGED_BY}"


def pod_ref(pod: dict[str, Any]) -> pd.PodRef:
    """What the decision needs of a trainer pod: its controlling Job's uid and whether it runs."""
    meta = pod.get("metadata") or {}
    status = pod.get("status") or {}
    started = any(
        "running" in (cs.get("state") or {})
        for cs in status.get("containerStatuses") or []
        if cs.get("name") == builders.TRAINER_CONTAINER
    )
    return pd.PodRef(
        name=str(meta.get("name")),
        owner_uid=controller_uid(pod),
        phase=str(status.get("phase") or "Pending"),
        running=started,
        created=str(meta.get("creationTimestamp") or ""),
    )


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


@dataclass
class ProgressReader:
    """Per-operator-run memory of live progress: when each job was read, and its trainer Job."""

    settings: pd.ProgressSettings
    metrics: OperatorMetrics
    post: Post
    last_read: dict[Key, float] = field(default_factory=dict)
    advanced_at: dict[Key, float] = field(default_factory=dict)
    # (FineTuneJob uid, uid of the trainer Job it owns): filled by the reconciler, which reads the
    # Job anyway, so a progress read needs no Job request.
    trainer_jobs: dict[Key, tuple[str, str]] = field(default_factory=dict)
    reads: int = 0
    patches: int = 0

    def saw_job(self, namespace: str, name: str, ftj_uid: str, job: dict[str, Any] | None) -> None:
        """Remember the trainer Job the reconciler observed, only when this FineTuneJob owns it."""
        key = (namespace, name)
        job_uid = str((job or {}).get("metadata", {}).get("uid") or "")
        if job is not None and job_uid and owned_by(job, ftj_uid):
            self.trainer_jobs[key] = (ftj_uid, job_uid)
        else:
            self.trainer_jobs.pop(key, None)

    def forget(self, namespace: str, name: str) -> None:
        key = (namespace, name)
        for memory in (self.last_read, self.advanced_at, self.trainer_jobs):
            memory.pop(key, None)

    async def read_all(self, api: kube.KubeClient, namespace: str | None, now: float) -> None:
        """Read the progress of every training FineTuneJob in `namespace` that is due at `now`.

        `now` is the tick's start, the same for every job, so a job read late in one tick is due
        again at the next; jobs are read side by side (at most `PARALLEL_READS` at once) so one
        tick's reads take far less than an interval even with hundreds of running jobs.
        """
        training = [
            body
            for body in await api.list(kube.FINETUNEJOBS, namespace)
            if not (body.get("metadata") or {}).get("deletionTimestamp") and pd.reading(body.get("status"))
        ]
        slots = asyncio.Semaphore(PARALLEL_READS)

        async def read(body: dict[str, Any]) -> None:
            meta = body.get("metadata") or {}
            async with slots:
                try:
                    await self.read_one(api, body, now)
                except (kube.ApiError, kube.TransientApiError) as exc:
                    logger.info(
                        "progress of FineTuneJob %s/%s not read: %s",
                        meta.get("namespace"),
                        meta.get("name"),
                        exc,
                    )

        await asyncio.gather(*(read(body) for body in training))

    async def _job_uid(self, api: kube.KubeClient, namespace: str, name: str, ftj_uid: str) -> str | None:
        known = self.trainer_jobs.get((namespace, name))
        if known is not None and known[0] == ftj_uid:
            return known[1]
        job = await api.get(kube.JOBS, namespace, builders.job_name(name))  # once, after a restart
        self.saw_job(namespace, name, ftj_uid, job)
        known = self.trainer_jobs.get((namespace, name))
        return known[1] if known is not None else None

    async def read_one(self, api: kube.KubeClient, body: dict[str, Any], now: float) -> None:
        """One job: throttle, find its running trainer pod, read the log tail, patch on change."""
        meta = body.get("metadata") or {}
        ns, name, uid = str(meta.get("namespace")), str(meta.get("name")), str(meta.get("uid") or "")
        key = (ns, name)
        if not uid or not pd.due(self.last_read.get(key), now, self.settings):
            return
        self.last_read[key] = now
        job_uid = await self._job_uid(api, ns, name, uid)
        if job_uid is None:
            return
        selector = f"{builders.FTJ_LABEL}={name},{TRAINER_SELECTOR}"
        pods = [pod_ref(p) for p in await api.list(kube.PODS, ns, selector)]
        job = pd.JobRef(builders.job_name(name), job_uid, (uid,))
        pod = pd.trainer_pod(name, uid, [job], pods)
        if pod is None:
            return
        text = await api.pod_log(
            ns,
            pod.name,
            container=builders.TRAINER_CONTAINER,
            tail_lines=self.settings.tail_lines,
            since_seconds=self.settings.since_seconds,
        )
        self.reads += 1
        decision = pd.decide_progress(dict(body.get("status") or {}), latest_record(text or ""))
        if decision.patch is not None:
            patched = await api.patch(kube.FINETUNEJOBS, ns, name, decision.patch, subresource="status")
            self.patches += 1
            self.post(patched or body, decision.events)
        if decision.progress is not None:
            if decision.advanced or key not in self.advanced_at:
                self.advanced_at[key] = now
            self.metrics.observe_progress(ns, name, _gauge_values(decision), self.advanced_at[key])
