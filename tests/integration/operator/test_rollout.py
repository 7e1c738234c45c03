"""ModelServe rollouts against the emulated API server: verify, switch, watch, roll back.

The test plays the FineTuneJob's trainer, the Deployment controller (replicas available), the
kubelet (a server pod crash-looping) and the Job controller of the verification Job, whose pod
reports its TrainResult through the termination message exactly like the training pod.
Selectors and Services are checked object by object.
"""

from __future__ import annotations

import secrets
from typing import Any

import pytest

from tests.integration.operator.conftest import (
    CONFIGMAPS,
    DEPLOYMENTS,
    FTJ,
    JOBS,
    MSERVE,
    NS,
    PODS,
    SERVICES,
    Cluster,
    OperatorHarness,
    finetunejob,
    live_result,
    modelserve,
    train_result,
    wait_for,
)
from tests.integration.operator.running_emulator import RunningEmulator
from tradetune.operator.builders import verify as vb
from tradetune.operator.rollout import revision_slug, verify_job_name

pytestmark = pytest.mark.timeout(120)

NAME = "desk"
MAIN = f"{NAME}-vllm"
CANDIDATE = f"{NAME}-vllm-candidate"
SECRET = {"name": "llm-key", "key": "api-key"}


class Rollout:
    """The cluster roles around one ModelServe's rollout."""

    def __init__(self, emu: RunningEmulator, cluster: Cluster) -> None:
        self.emu, self.cluster = emu, cluster

    def trained(self, ftj: str) -> str:
        """A FineTuneJob that trained and passed its gate; returns its model revision."""
        self.emu.create(FTJ, finetunejob(ftj))
        pod = self.cluster.start_pod(ftj)
        self.cluster.finish_pod(ftj, pod, message=train_result())
        self.cluster.wait_phase(ftj, "Succeeded")
        body = self.emu.get(FTJ, NS, ftj) or {}
        return f"{body['metadata']['uid']}/{body['metadata']['generation']}"

    def status(self) -> dict[str, Any]:
        return (self.emu.get(MSERVE, NS, NAME) or {}).get("status") or {}

    def condition(self, type_: str) -> dict[str, Any]:
        return next((c for c in self.status().get("conditions") or [] if c["type"] == type_), {})

    def deployment(self, revision: str) -> dict[str, Any]:
        name = vb.revision_deployment_name(NAME, revision)
        return wait_for(f"Deployment {name}", lambda: self.emu.get(DEPLOYMENTS, NS, name))  # type: ignore[no-any-return]

    def available(self, revision: str) -> None:
        self.cluster.deployment_available(vb.revision_deployment_name(NAME, revision))

    def selects(self, revision: str) -> dict[str, Any]:
        """Wait until the main Service selects exactly `revision`'s pods; return it."""

        def pointed() -> dict[str, Any] | None:
            svc = self.emu.get(SERVICES, NS, MAIN) or {}
            return svc if svc["spec"]["selector"] == vb.revision_selector(NAME, revision) else None

        return wait_for(f"{MAIN} selecting {revision}", pointed)  # type: ignore[no-any-return]

    def finish_job(self, job_name: str, message: str) -> None:
        self.cluster.finish_verification(job_name, message)

    def crash_loop(self, revision: str) -> None:
        """The kubelet restarts the revision's server container over and over."""
        deployment = self.deployment(revision)
        template = deployment["spec"]["template"]
        pod_name = f"{deployment['metadata']['name']}-7f9c-{secrets.token_hex(2)}"
        self.emu.create(
            PODS,
            {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {"name": pod_name, "namespace": NS, "labels": template["metadata"]["labels"]},
                "spec": template["spec"],
            },
        )
        waiting = {"reason": "CrashLoopBackOff", "message": "back-off 40s restarting failed container"}
        last = {"terminated": {"exitCode": 1, "reason": "Error", "message": "CUDA error: out of memory"}}
        self.emu.patch(
            PODS,
            NS,
            pod_name,
            {
                "status": {
                    "phase": "Running",
                    "containerStatuses": [
                        {
                            "name": "vllm",
                            "ready": False,
                            "restartCount": 4,
                            "state": {"waiting": waiting},
                            "lastState": last,
                        }
                    ],
                }
            },
            status=True,
        )

    def verified_first(self, revision: str) -> None:
        """The first revision: candidate up, verification passes, the Service selects it."""
        self.deployment(revision)
        self.available(revision)
        self.finish_job(verify_job_name(NAME, revision, "verify"), live_result())
        self.selects(revision)
        wait_for("Stable", lambda: self.status()["rollout"]["phase"] == "Stable")


@pytest.fixture
def rollout(emulator: RunningEmulator, cluster: Cluster) -> Rollout:
    return Rollout(emulator, cluster)


def _serve(source: str, **rollout: Any) -> dict[str, Any]:
    return modelserve(NAME, model={"fromFineTuneJob": source}, apiKeySecretRef=SECRET, rollout=rollout)


def test_candidate_is_verified_live_then_takes_traffic(
    emulator: RunningEmulator, operator: OperatorHarness, rollout: Rollout, cluster: Cluster
) -> None:
    with operator.running():
        r1 = rollout.trained("pine")
        emulator.create(MSERVE, _serve("pine", samples=16))
        deployment = rollout.deployment(r1)
        ms = emulator.get(MSERVE, NS, NAME) or {}
        uid = ms["metadata"]["uid"]
        slug = revision_slug(r1)
        assert deployment["metadata"]["name"] == f"{MAIN}-{slug}"
        assert deployment["metadata"]["ownerReferences"][0]["uid"] == uid
        assert deployment["spec"]["selector"]["matchLabels"] == vb.revision_selector(NAME, r1)
        assert deployment["spec"]["template"]["metadata"]["labels"][vb.REVISION_LABEL] == slug
        # Nothing takes traffic before the verification: no main Service yet, not Ready.
        ready = wait_for(
            "Ready=False", lambda: (c := rollout.condition("Ready")) and c["status"] == "False" and c
        )
        assert ready["reason"] == "Verifying"
        assert emulator.get(SERVICES, NS, MAIN) is None
        assert emulator.get(SERVICES, NS, CANDIDATE) is None  # the candidate is not ready yet

        rollout.available(r1)
        job_name = verify_job_name(NAME, r1, "verify")
        job = wait_for("the verification Job", lambda: emulator.get(JOBS, NS, job_name))
        candidate = emulator.get(SERVICES, NS, CANDIDATE) or {}
        assert candidate["spec"]["selector"] == vb.revision_selector(NAME, r1)
        assert candidate["metadata"]["ownerReferences"][0]["uid"] == uid
        assert job["metadata"]["ownerReferences"][0]["uid"] == uid
        pod = job["spec"]["template"]["spec"]
        container = pod["containers"][0]
        assert container["image"] == "registry.test/tradetune/trainer:test"
        assert container["command"][:4] == ["tradetune", "evaluate", "--endpoint", vb.candidate_url(NAME, NS)]
        assert container["command"][container["command"].index("--max-items") + 1] == "16"
        key_env = next(e for e in container["env"] if e["name"] == vb.API_KEY_ENV)
        assert key_env == {"name": vb.API_KEY_ENV, "valueFrom": {"secretKeyRef": SECRET}}
        assert container["securityContext"]["readOnlyRootFilesystem"] is True
        assert container["securityContext"]["capabilities"] == {"drop": ["ALL"]}
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert container["terminationMessagePolicy"] == "FallbackToLogsOnError"
        assert rollout.status()["candidate"]["phase"] == "Verifying"

        rollout.finish_job(job_name, live_result())
        service = rollout.selects(r1)
        assert service["metadata"]["ownerReferences"][0]["uid"] == uid
        status = wait_for(
            "Ready", lambda: (s := rollout.status()) and s["rollout"]["phase"] == "Stable" and s
        )
        assert status["servedModel"]["revision"] == r1
        assert status["servedModel"]["fineTuneJob"] == "pine"
        assert status["lastGoodModel"]["revision"] == r1
        conditions = {c["type"]: c for c in status["conditions"]}
        assert conditions["Ready"]["status"] == "True" and conditions["Ready"]["reason"] == "Available"
        assert conditions["Verified"]["status"] == "True"
        assert status["candidate"]["phase"] == "Passed"
        assert [v["metric"] for v in status["candidate"]["verdicts"]] == [
            "perplexity", "pineSyntaxScore", "pineParseRate", "taskAccuracy",
        ]  # fmt: skip
        assert status["readyReplicas"] == 1
        # The candidate's helpers are gone; only the served revision runs.
        wait_for("candidate Service gone", lambda: emulator.get(SERVICES, NS, CANDIDATE) is None)
        wait_for("verification Job gone", lambda: emulator.get(JOBS, NS, job_name) is None)
        assert [d["metadata"]["name"] for d in emulator.list(DEPLOYMENTS, NS)] == [f"{MAIN}-{slug}"]
        events = cluster.wait_events(NAME, ("Normal", "CandidateStarted"), ("Normal", "Promoted"))
        assert not any(SECRET["name"] in message for _, _, message in events)


def _switch_to(emulator: RunningEmulator, source: str) -> None:
    emulator.patch(MSERVE, NS, NAME, {"spec": {"model": {"fromFineTuneJob": source}}})


def _names(emulator: RunningEmulator, resource: str) -> list[str]:
    return sorted(o["metadata"]["name"] for o in emulator.list(resource, NS))


def test_a_candidate_below_tolerance_never_takes_traffic(
    emulator: RunningEmulator, operator: OperatorHarness, rollout: Rollout, cluster: Cluster
) -> None:
    with operator.running():
        r1 = rollout.trained("pine")
        emulator.create(MSERVE, _serve("pine"))
        rollout.verified_first(r1)
        r2 = rollout.trained("pine2")
        _switch_to(emulator, "pine2")
        rollout.deployment(r2)
        rollout.available(r2)
        rollout.finish_job(verify_job_name(NAME, r2, "verify"), live_result(perplexity=20.0))

        status = wait_for(
            "the candidate refused", lambda: (s := rollout.status())["candidate"]["phase"] == "Failed" and s
        )
        assert status["candidate"]["revision"] == r2
        assert "not promoted, traffic unchanged" in status["candidate"]["message"]
        verdicts = {v["metric"]: v for v in status["candidate"]["verdicts"]}
        assert verdicts["perplexity"]["passed"] is False and verdicts["perplexity"]["value"] == 20.0
        assert verdicts["taskAccuracy"]["passed"] is True
        conditions = {c["type"]: c for c in status["conditions"]}
        assert conditions["Verified"]["status"] == "False"
        assert conditions["Verified"]["reason"] == "VerificationFailed"
        assert "perplexity" in conditions["Verified"]["message"]
        assert conditions["Ready"]["status"] == "True"  # the served model keeps answering
        assert status["servedModel"]["revision"] == r1 and status["lastGoodModel"]["revision"] == r1
        assert status["rollout"]["rejected"] == [r2]
        rollout.selects(r1)
        wait_for(
            "the candidate removed",
            lambda: (
                _names(emulator, DEPLOYMENTS) == [vb.revision_deployment_name(NAME, r1)]
                and emulator.get(SERVICES, NS, CANDIDATE) is None
                and emulator.get(JOBS, NS, verify_job_name(NAME, r2, "verify")) is None
            ),
        )
        cluster.wait_events(NAME, ("Warning", "VerificationFailed"))


def test_a_crash_loop_in_the_window_moves_traffic_back(
    emulator: RunningEmulator, operator: OperatorHarness, rollout: Rollout, cluster: Cluster
) -> None:
    with operator.running():
        r1 = rollout.trained("pine")
        emulator.create(MSERVE, _serve("pine", watchSeconds=3600))
        rollout.verified_first(r1)
        r2 = rollout.trained("pine2")
        _switch_to(emulator, "pine2")
        rollout.available(r2)
        rollout.finish_job(verify_job_name(NAME, r2, "verify"), live_result())
        rollout.selects(r2)
        watching = wait_for(
            "Watching", lambda: (s := rollout.status())["rollout"]["phase"] == "Watching" and s
        )
        assert watching["servedModel"]["revision"] == r2
        assert watching["lastGoodModel"]["revision"] == r1
        assert watching["rollout"]["previousRevision"] == r1
        previous = emulator.get(DEPLOYMENTS, NS, vb.revision_deployment_name(NAME, r1)) or {}
        assert previous["spec"]["replicas"] == 1  # keepPrevious: running

        rollout.crash_loop(r2)
        service = rollout.selects(r1)
        assert service["spec"]["selector"][vb.REVISION_LABEL] == revision_slug(r1)
        status = wait_for("RolledBack", lambda: (s := rollout.status())["rollout"]["phase"] == "Stable" and s)
        conditions = {c["type"]: c for c in status["conditions"]}
        assert conditions["Ready"]["status"] == "True" and conditions["Ready"]["reason"] == "RolledBack"
        assert "crash-looping" in conditions["Ready"]["message"]
        assert conditions["Verified"]["reason"] == "RolledBack"
        assert status["servedModel"]["revision"] == r1 and status["servedModel"]["fineTuneJob"] == "pine"
        assert status["lastGoodModel"]["revision"] == r1
        assert status["rollout"]["rollbacks"] == 1 and r2 in status["rollout"]["rejected"]
        cluster.wait_events(NAME, ("Warning", "RolledBack"))
        operator.wait_metrics('tradetune_modelserve_rollbacks_total{name="desk",namespace="tt"} 1.0')
        wait_for(
            "the bad revision removed",
            lambda: _names(emulator, DEPLOYMENTS) == [vb.revision_deployment_name(NAME, r1)],
        )
        # The traffic stays back: a later reconcile does not move it to the refused revision again.
        emulator.patch(MSERVE, NS, NAME, {"metadata": {"labels": {"poke": "1"}}})
        wait_for("the poke handled", lambda: rollout.status()["rollout"]["phase"] == "Stable")
        assert rollout.selects(r1)


def test_a_clean_window_reverifies_through_the_service_then_drops_the_previous(
    emulator: RunningEmulator, operator: OperatorHarness, rollout: Rollout, cluster: Cluster
) -> None:
    with operator.running():
        r1 = rollout.trained("pine")
        emulator.create(MSERVE, _serve("pine", watchSeconds=1, keepPrevious="scaledToZero"))
        rollout.verified_first(r1)
        r2 = rollout.trained("pine2")
        _switch_to(emulator, "pine2")
        rollout.available(r2)
        rollout.finish_job(verify_job_name(NAME, r2, "verify"), live_result())
        rollout.selects(r2)
        previous = wait_for(
            "the previous scaled to zero",
            lambda: (
                (d := emulator.get(DEPLOYMENTS, NS, vb.revision_deployment_name(NAME, r1)))
                and d["spec"]["replicas"] == 0
                and d
            ),
        )
        assert previous["metadata"]["annotations"][vb.MODEL_REVISION_ANNOTATION] == r1

        # At the end of the window a second verification runs through the main Service.
        reverify = verify_job_name(NAME, r2, "reverify")
        job = wait_for("the re-verification Job", lambda: emulator.get(JOBS, NS, reverify))
        command = job["spec"]["template"]["spec"]["containers"][0]["command"]
        assert command[3] == f"http://{MAIN}.{NS}.svc:8000/v1"
        assert rollout.status()["rollout"]["phase"] == "Reverifying"
        rollout.finish_job(reverify, live_result())
        status = wait_for(
            "Stable on r2",
            lambda: (
                (s := rollout.status())["rollout"]["phase"] == "Stable"
                and s["lastGoodModel"]["revision"] == r2
                and s
            ),
        )
        assert status["servedModel"]["revision"] == r2
        assert "previousRevision" not in status["rollout"]
        wait_for(
            "the previous deleted",
            lambda: (
                _names(emulator, DEPLOYMENTS) == [vb.revision_deployment_name(NAME, r2)]
                and emulator.get(JOBS, NS, reverify) is None
            ),
        )
        rollout.selects(r2)
        cluster.wait_events(NAME, ("Normal", "WatchPassed"))


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
        emulator.create(MSERVE, _serve("pine"))
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
            _names(emulator, DEPLOYMENTS),
            [n for n in _names(emulator, JOBS) if "-train" not in n],
            _names(emulator, SERVICES),
        )

    def dep(*revisions: str) -> list[str]:
        return sorted(vb.revision_deployment_name(NAME, rev) for rev in revisions)

    with operator.running():
        r1 = rollout.trained("pine")
        r2 = rollout.trained("pine2")
    emulator.create(MSERVE, _serve("pine", watchSeconds=3600))
    with operator.running():
        rollout.deployment(r1)
        wait_for("Verifying", lambda: rollout.status()["rollout"]["phase"] == "Verifying")
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

    _switch_to(emulator, "pine2")
    with operator.running():
        wait_for("r2 deployed", lambda: children() == (dep(r1, r2), [], [MAIN]))
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


def test_recreate_stops_the_served_model_and_redeploys_it_when_the_candidate_fails(
    emulator: RunningEmulator, operator: OperatorHarness, rollout: Rollout
) -> None:
    with operator.running():
        r1 = rollout.trained("pine")
        emulator.create(MSERVE, _serve("pine", strategy="recreate"))
        rollout.verified_first(r1)
        first = rollout.deployment(r1)
        r2 = rollout.trained("pine2")
        _switch_to(emulator, "pine2")
        # No GPU to spare: the served Deployment goes before the candidate starts.
        wait_for(
            "r1 stopped", lambda: _names(emulator, DEPLOYMENTS) == [vb.revision_deployment_name(NAME, r2)]
        )
        ready = wait_for(
            "Ready=False", lambda: (c := rollout.condition("Ready")) and c["status"] == "False" and c
        )
        assert ready["reason"] == "Verifying"
        rollout.available(r2)
        rollout.finish_job(verify_job_name(NAME, r2, "verify"), live_result(task_accuracy=0.1))

        # Refused: the last good revision is deployed again, from its FineTuneJob's artifacts.
        again = wait_for(
            "r1 redeployed",
            lambda: (
                _names(emulator, DEPLOYMENTS) == [vb.revision_deployment_name(NAME, r1)]
                and emulator.get(DEPLOYMENTS, NS, vb.revision_deployment_name(NAME, r1))
            ),
        )
        assert again["metadata"]["uid"] != first["metadata"]["uid"]
        assert again["spec"]["template"] == first["spec"]["template"]
        rollout.selects(r1)  # the Service never moved
        rollout.available(r1)
        status = wait_for(
            "Ready on r1",
            lambda: (s := rollout.status()) and rollout.condition("Ready")["status"] == "True" and s,
        )
        assert status["servedModel"]["revision"] == r1 and status["candidate"]["phase"] == "Failed"
        assert rollout.condition("Verified")["reason"] == "VerificationFailed"


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
        assert _names(emulator, DEPLOYMENTS) == [vb.revision_deployment_name(NAME, r1)]
