"""ModelServe rollouts against the emulated API server: verify, switch, watch, roll back.

The test plays the FineTuneJob's trainer, the Deployment controller (replicas available), the
kubelet (a server pod crash-looping) and the Job controller of the verification Job, whose pod
reports its TrainResult through the termination message exactly like the training pod
(rollout_roles.py). Selectors and Services are checked object by object.
"""

from __future__ import annotations

import pytest

from tests.integration.operator.conftest import (
    DEPLOYMENTS,
    JOBS,
    MSERVE,
    NS,
    SERVICES,
    Cluster,
    OperatorHarness,
    wait_for,
)
from tests.integration.operator.rollout_roles import (
    CANDIDATE,
    MAIN,
    NAME,
    SECRET,
    Rollout,
    live_result,
    names,
    serve,
    switch_to,
)
from tests.integration.operator.running_emulator import RunningEmulator
from tradetune.operator.builders import verify as vb
from tradetune.operator.rollout import revision_slug, verify_job_name

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def rollout(emulator: RunningEmulator, cluster: Cluster) -> Rollout:
    return Rollout(emulator, cluster)


def test_candidate_is_verified_live_then_takes_traffic(
    emulator: RunningEmulator, operator: OperatorHarness, rollout: Rollout, cluster: Cluster
) -> None:
    with operator.running():
        r1 = rollout.trained("pine")
        emulator.create(MSERVE, serve("pine", samples=16))
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


def test_a_candidate_below_tolerance_never_takes_traffic(
    emulator: RunningEmulator, operator: OperatorHarness, rollout: Rollout, cluster: Cluster
) -> None:
    with operator.running():
        r1 = rollout.trained("pine")
        emulator.create(MSERVE, serve("pine"))
        rollout.verified_first(r1)
        r2 = rollout.trained("pine2")
        switch_to(emulator, "pine2")
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
                names(emulator, DEPLOYMENTS) == [vb.revision_deployment_name(NAME, r1)]
                and emulator.get(SERVICES, NS, CANDIDATE) is None
                and emulator.get(JOBS, NS, verify_job_name(NAME, r2, "verify")) is None
            ),
        )
        cluster.wait_events(NAME, ("Warning", "VerificationFailed"))


def test_a_crash_loop_in_the_window_moves_traffic_back(
    emulator: RunningEmulator, operator: OperatorHarness, rollout: Rollout, cluster: Cluster
) -> None:
    with operator.running():
        r1, r2 = rollout.second_switched(watchSeconds=3600)
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
            lambda: names(emulator, DEPLOYMENTS) == [vb.revision_deployment_name(NAME, r1)],
        )
        # The traffic stays back: a later reconcile does not move it to the refused revision again.
        emulator.patch(MSERVE, NS, NAME, {"metadata": {"labels": {"poke": "1"}}})
        wait_for("the poke handled", lambda: rollout.status()["rollout"]["phase"] == "Stable")
        assert rollout.selects(r1)


def test_a_clean_window_reverifies_through_the_service_then_drops_the_previous(
    emulator: RunningEmulator, operator: OperatorHarness, rollout: Rollout, cluster: Cluster
) -> None:
    with operator.running():
        r1, r2 = rollout.second_switched(watchSeconds=1, keepPrevious="scaledToZero")
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
                names(emulator, DEPLOYMENTS) == [vb.revision_deployment_name(NAME, r2)]
                and emulator.get(JOBS, NS, reverify) is None
            ),
        )
        rollout.selects(r2)
        cluster.wait_events(NAME, ("Normal", "WatchPassed"))


def test_recreate_stops_the_served_model_and_redeploys_it_when_the_candidate_fails(
    emulator: RunningEmulator, operator: OperatorHarness, rollout: Rollout
) -> None:
    with operator.running():
        r1 = rollout.trained("pine")
        emulator.create(MSERVE, serve("pine", strategy="recreate"))
        rollout.verified_first(r1)
        first = rollout.deployment(r1)
        r2 = rollout.trained("pine2")
        switch_to(emulator, "pine2")
        # No GPU to spare: the served Deployment goes before the candidate starts.
        wait_for(
            "r1 stopped", lambda: names(emulator, DEPLOYMENTS) == [vb.revision_deployment_name(NAME, r2)]
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
                names(emulator, DEPLOYMENTS) == [vb.revision_deployment_name(NAME, r1)]
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


def test_a_failed_reverification_at_the_window_end_moves_traffic_back(
    emulator: RunningEmulator, operator: OperatorHarness, rollout: Rollout, cluster: Cluster
) -> None:
    with operator.running():
        r1, r2 = rollout.second_switched(watchSeconds=1)
        # Through the main Service, at the end of the window, the answers have gone bad.
        rollout.finish_job(verify_job_name(NAME, r2, "reverify"), live_result(task_accuracy=0.2))
        rollout.selects(r1)
        status = wait_for(
            "rolled back", lambda: (s := rollout.status())["rollout"]["phase"] == "Stable" and s
        )
        ready = rollout.condition("Ready")
        assert (ready["status"], ready["reason"]) == ("True", "RolledBack")
        assert "re-verification failed" in ready["message"]
        verdicts = {v["metric"]: v["passed"] for v in status["candidate"]["verdicts"]}
        assert verdicts["taskAccuracy"] is False
        assert status["servedModel"]["revision"] == r1 and status["rollout"]["rollbacks"] == 1
        cluster.wait_events(NAME, ("Warning", "RolledBack"))
        operator.wait_metrics('tradetune_modelserve_rollbacks_total{name="desk",namespace="tt"} 1.0')
