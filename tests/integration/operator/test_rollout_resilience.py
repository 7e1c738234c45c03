"""ModelServe rollouts that must survive the world: restarts, foreign objects, an upgrade.

The operator is stopped between steps while the cluster moves on; objects of another owner
hold the rollout's names or look like its revisions; an earlier operator's single Deployment
and Service are in place. Roles as in test_rollout.py (rollout_roles.py).
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.operator.conftest import (
    CONFIGMAPS,
    DEPLOYMENTS,
    JOBS,
    MSERVE,
    NS,
    PODS,
    SERVICES,
    Cluster,
    OperatorHarness,
    modelserve,
    wait_for,
)
from tests.integration.operator.rollout_roles import (
    CANDIDATE,
    MAIN,
    NAME,
    Rollout,
    live_result,
    names,
    serve,
    switch_to,
)
from tests.integration.operator.running_emulator import RunningEmulator
from tradetune.operator.builders import verify as vb
from tradetune.operator.rollout import verify_job_name

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def rollout(emulator: RunningEmulator, cluster: Cluster) -> Rollout:
    return Rollout(emulator, cluster)


def test_children_of_another_owner_are_never_touched(
    emulator: RunningEmulator, operator: OperatorHarness, rollout: Rollout
) -> None:
    other = emulator.create(CONFIGMAPS, {"metadata": {"name": "other", "namespace": NS}})
    foreign_owner = [
        {"apiVersion": "v1", "kind": "ConfigMap", "name": "other", "uid": other["metadata"]["uid"]}
    ]
    with operator.running():
        r1 = rollout.trained("pine")
        job_name = verify_job_name(NAME, r1, "verify")
        squatter = emulator.create(
            JOBS,
            {
                "apiVersion": "batch/v1",
                "kind": "Job",
                "metadata": {
                    "name": job_name,
                    "namespace": NS,
                    "labels": {
                        "app.kubernetes.io/instance": NAME,
                        "app.kubernetes.io/component": "verifier",
                        "app.kubernetes.io/managed-by": "tradetune-operator",
                    },
                    "ownerReferences": foreign_owner,
                },
                "spec": {"template": {"spec": {"containers": [{"name": "x", "image": "x"}]}}},
            },
        )
        # A Deployment that looks like an old revision of this ModelServe, but is someone else's.
        lookalike = emulator.create(
            DEPLOYMENTS,
            {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "metadata": {
                    "name": f"{MAIN}-0123456789",
                    "namespace": NS,
                    "labels": {
                        "app.kubernetes.io/instance": NAME,
                        "app.kubernetes.io/component": "server",
                        vb.REVISION_LABEL: "0123456789",
                    },
                    "annotations": {vb.MODEL_REVISION_ANNOTATION: "someone/else"},
                    "ownerReferences": foreign_owner,
                },
                "spec": {"replicas": 3, "selector": {"matchLabels": {"x": "y"}}, "template": {}},
            },
        )
        emulator.create(MSERVE, serve("pine"))
        rollout.available(r1)
        degraded = wait_for(
            "NameConflict",
            lambda: (c := rollout.condition("Degraded")) and c["reason"] == "NameConflict" and c,
        )
        assert f"Job {job_name} exists but is not owned by ModelServe {NAME}" in degraded["message"]
        assert emulator.get(SERVICES, NS, MAIN) is None  # nothing verified: no traffic
        job = emulator.get(JOBS, NS, job_name) or {}
        assert job["metadata"]["resourceVersion"] == squatter["metadata"]["resourceVersion"]
        deployment = emulator.get(DEPLOYMENTS, NS, f"{MAIN}-0123456789") or {}
        assert deployment["metadata"]["resourceVersion"] == lookalike["metadata"]["resourceVersion"]


def test_an_operator_restarted_at_every_step_resumes_without_duplicates(
    emulator: RunningEmulator, operator: OperatorHarness, rollout: Rollout, cluster: Cluster
) -> None:
    """Each cluster change happens while the operator is down; the next one takes it from there."""

    def children() -> tuple[list[str], list[str], list[str]]:
        return (
            names(emulator, DEPLOYMENTS),
            [n for n in names(emulator, JOBS) if "-train" not in n],
            names(emulator, SERVICES),
        )

    def dep(*revisions: str) -> list[str]:
        return sorted(vb.revision_deployment_name(NAME, rev) for rev in revisions)

    with operator.running():
        r1 = rollout.trained("pine")
        r2 = rollout.trained("pine2")
    emulator.create(MSERVE, serve("pine", watchSeconds=3600))
    with operator.running():
        rollout.deployment(r1)
        wait_for("Verifying", lambda: rollout.status()["rollout"]["phase"] == "Verifying")
        # Events go out from a background queue after the status patch: wait for the step's one
        # before stopping the operator, or a stop can drop it (the count below checks duplicates).
        wait_for("r1's CandidateStarted", lambda: cluster.reasons(NAME).count("CandidateStarted") == 1)
    assert children() == (dep(r1), [], [])

    rollout.available(r1)
    with operator.running():
        wait_for(
            "the Job", lambda: children() == (dep(r1), [verify_job_name(NAME, r1, "verify")], [CANDIDATE])
        )
    rollout.finish_job(verify_job_name(NAME, r1, "verify"), live_result())
    with operator.running():
        rollout.selects(r1)
        wait_for("Stable on r1", lambda: children() == (dep(r1), [], [MAIN]))
    assert rollout.status()["lastGoodModel"]["revision"] == r1

    switch_to(emulator, "pine2")
    with operator.running():
        wait_for("r2 deployed", lambda: children() == (dep(r1, r2), [], [MAIN]))
        wait_for("r2's CandidateStarted", lambda: cluster.reasons(NAME).count("CandidateStarted") == 2)
    rollout.available(r2)
    with operator.running():
        wait_for(
            "r2 verified",
            lambda: children() == (dep(r1, r2), [verify_job_name(NAME, r2, "verify")], [MAIN, CANDIDATE]),
        )
        rollout.selects(r1)
    rollout.finish_job(verify_job_name(NAME, r2, "verify"), live_result())
    with operator.running():
        rollout.selects(r2)
        wait_for("Watching", lambda: rollout.status()["rollout"]["phase"] == "Watching")
        wait_for("the candidate's helpers gone", lambda: children() == (dep(r1, r2), [], [MAIN]))
    switched_at = rollout.status()["rollout"]["switchedAt"]

    rollout.crash_loop(r2)
    with operator.running():
        rollout.selects(r1)
        status = wait_for(
            "rolled back", lambda: (s := rollout.status())["rollout"]["phase"] == "Stable" and s
        )
        wait_for("r2 removed", lambda: children() == (dep(r1), [], [MAIN]))
        operator.wait_metrics('tradetune_modelserve_rollbacks_total{name="desk",namespace="tt"} 1.0')
    assert status["rollout"]["rollbacks"] == 1 and status["rollout"]["switchedAt"] >= switched_at
    reasons = cluster.reasons(NAME)
    # One event per step, though the operator started seven times.
    assert reasons.count("Promoted") == 2 and reasons.count("RolledBack") == 1
    assert reasons.count("CandidateStarted") == 2

    with operator.running():  # a quiet start changes nothing
        emulator.patch(MSERVE, NS, NAME, {"metadata": {"labels": {"poke": "1"}}})
        wait_for("the poke handled", lambda: rollout.status()["rollout"]["phase"] == "Stable")
    assert children() == (dep(r1), [], [MAIN]) and rollout.status()["rollout"]["rollbacks"] == 1


def _owned(ms: dict[str, Any]) -> list[dict[str, Any]]:
    meta = ms["metadata"]
    ref = {
        "apiVersion": "tradetune.dev/v1alpha1",
        "kind": "ModelServe",
        "name": meta["name"],
        "uid": meta["uid"],
    }
    return [{**ref, "controller": True, "blockOwnerDeletion": True}]


def test_an_upgrade_from_the_single_deployment_keeps_unverified_pods_out_of_the_service(
    emulator: RunningEmulator, operator: OperatorHarness, rollout: Rollout
) -> None:
    """What an earlier operator left (`<name>-vllm` Deployment and Service) moves to revisions safely."""
    with operator.running():
        r1 = rollout.trained("pine")
    ms = emulator.create(MSERVE, modelserve(NAME, model={"fromFineTuneJob": "pine"}, auth="none"))
    server = {
        "app.kubernetes.io/instance": NAME,
        "app.kubernetes.io/component": "server",
        "tradetune.dev/modelserve": NAME,
    }
    meta = {"namespace": NS, "labels": server, "ownerReferences": _owned(ms)}
    emulator.create(
        DEPLOYMENTS,
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": MAIN, **meta},
            "spec": {
                "replicas": 1,
                "selector": {"matchLabels": server},
                "template": {"metadata": {"labels": server}},
            },
        },
    )
    emulator.create(
        SERVICES,
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": MAIN, **meta},
            "spec": {"selector": server},
        },
    )
    emulator.create(  # the ReplicaSet controller's pod, labelled with its template hash
        PODS,
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {
                "name": f"{MAIN}-5d8f7-abcde",
                "namespace": NS,
                "labels": {**server, "pod-template-hash": "5d8f7"},
            },
            "spec": {"containers": [{"name": "vllm", "image": "x"}]},
        },
    )
    with operator.running():
        candidate_labels = rollout.deployment(r1)["spec"]["template"]["metadata"]["labels"]
        service = wait_for(
            "the Service pinned to the running pods",
            lambda: (
                (s := emulator.get(SERVICES, NS, MAIN))
                and s["spec"]["selector"].get("pod-template-hash") == "5d8f7"
                and s
            ),
        )
        selector = service["spec"]["selector"]
        assert not all(
            candidate_labels.get(k) == v for k, v in selector.items()
        )  # the candidate is not selected

        rollout.available(r1)
        rollout.finish_job(verify_job_name(NAME, r1, "verify"), live_result())
        switched = rollout.selects(r1)  # exactly the revision selector: the pin is gone
        assert "pod-template-hash" not in switched["spec"]["selector"]
        wait_for("the single Deployment retired", lambda: emulator.get(DEPLOYMENTS, NS, MAIN) is None)
        assert names(emulator, DEPLOYMENTS) == [vb.revision_deployment_name(NAME, r1)]
