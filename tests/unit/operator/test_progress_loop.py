"""The progress loop's pure parts: what it keeps of a pod, and which trainer Job it trusts."""

from __future__ import annotations

from typing import Any

from tests.unit.operator.fixtures import NS, UID, job, pod
from tradetune.operator import progress_decision as pd
from tradetune.operator.metrics import OperatorMetrics
from tradetune.operator.posting import EventPoster
from tradetune.operator.progress_loop import ProgressReader, pod_ref


def controlled(obj: dict[str, Any], uid: str, *, controller: bool = True) -> dict[str, Any]:
    obj["metadata"]["ownerReferences"] = [{"uid": uid, "kind": "Job", "controller": controller}]
    return obj


def reader() -> ProgressReader:
    return ProgressReader(pd.ProgressSettings(interval=15.0), OperatorMetrics(), EventPoster().post)


def test_a_pod_is_known_by_its_controlling_job_and_its_trainer_container() -> None:
    ref = pod_ref(controlled(pod("p1", "Running", running=True), "job-uid"))
    assert ref == pd.PodRef("p1", "job-uid", "Running", True, "2026-01-01T00:01:00Z")
    waiting = pod_ref(controlled(pod("p2", "Pending", waiting="ImagePullBackOff"), "job-uid"))
    assert (waiting.phase, waiting.running) == ("Pending", False)
    # An owner that is not the controller does not make the pod the Job's.
    assert (
        pod_ref(controlled(pod("p3", "Running", running=True), "job-uid", controller=False)).owner_uid is None
    )


def test_only_a_job_this_finetunejob_owns_is_remembered() -> None:
    progress = reader()
    progress.saw_job(NS, "pine", UID, job())
    assert progress.trainer_jobs[(NS, "pine")] == (UID, "job-uid")
    progress.saw_job(NS, "pine", UID, job(owner="someone-else"))  # recreated by someone else
    assert (NS, "pine") not in progress.trainer_jobs
    progress.saw_job(NS, "pine", UID, job())
    progress.saw_job(NS, "pine", UID, None)  # deleted
    assert (NS, "pine") not in progress.trainer_jobs


def test_the_pod_read_is_the_running_pod_of_the_remembered_job() -> None:
    pods = [
        pod_ref(controlled(pod("foreign", "Running", running=True, created="2026-01-01T00:09:00Z"), "other")),
        pod_ref(controlled(pod("ours", "Running", running=True), "job-uid")),
    ]
    chosen = pd.trainer_pod("pine", UID, [pd.JobRef("pine-train", "job-uid", (UID,))], pods)
    assert chosen is not None and chosen.name == "ours"


def test_forget_drops_everything_about_a_job() -> None:
    progress = reader()
    progress.saw_job(NS, "pine", UID, job())
    progress.last_read[(NS, "pine")] = 1.0
    progress.advanced_at[(NS, "pine")] = 1.0
    progress.forget(NS, "pine")
    assert not (progress.trainer_jobs or progress.last_read or progress.advanced_at)
