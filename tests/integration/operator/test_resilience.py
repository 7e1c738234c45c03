"""The operator survives restarts, API errors and dropped watch streams without losing anything."""

from __future__ import annotations

import pytest

from tests.integration.operator.conftest import (
    FTJ,
    JOBS,
    NS,
    Cluster,
    OperatorHarness,
    finetunejob,
    train_result,
    wait_for,
)
from tests.integration.operator.running_emulator import RunningEmulator
from tests.integration.operator.test_rbac import documented_rules, used_rules

pytestmark = pytest.mark.timeout(120)


def _job_creates(emulator: RunningEmulator) -> int:
    return int(emulator.call(lambda emu: emu.create_attempts.get("jobs", 0)))


def test_restart_mid_run_adopts_the_job_and_keeps_the_status(
    emulator: RunningEmulator, operator: OperatorHarness, cluster: Cluster
) -> None:
    with operator.running():
        emulator.create(FTJ, finetunejob("long"))
        pod = cluster.start_pod("long")
        before = cluster.wait_phase("long", "Running")
    assert _job_creates(emulator) == 1

    # While the operator is down, training finishes.
    cluster.finish_pod("long", pod, message=train_result())

    with operator.running():
        status = cluster.wait_phase("long", "Succeeded")
    assert _job_creates(emulator) == 1, "a restarted operator must adopt, never re-create, the Job"
    assert len(emulator.list(JOBS, NS)) == 1
    assert status["startTime"] == before["startTime"]
    assert status["attempts"] == 1
    assert status["metrics"]["perplexity"] == 8.5

    # A third start with nothing new reconciles (resume) and changes nothing.
    def ftj_fetches() -> int:
        return int(emulator.call(lambda emu: emu.fetches.get("finetunejobs", 0)))

    fetches = ftj_fetches()
    with operator.running():
        wait_for("the resume reconcile", lambda: ftj_fetches() > fetches)
        # Passes for one object never overlap: once a pass that began after this probe (a pod
        # event the operator must handle) has fetched the object, the resume pass has ended.
        emulator.patch("v1/pods", NS, pod["metadata"]["name"], {"metadata": {"annotations": {"probe": "1"}}})
        probed = ftj_fetches()
        wait_for("a reconcile after the probe", lambda: ftj_fetches() > probed)
        assert cluster.status("long") == status
    assert _job_creates(emulator) == 1


def test_api_errors_for_a_while_are_retried(
    emulator: RunningEmulator, operator: OperatorHarness, cluster: Cluster
) -> None:
    with operator.running():
        emulator.inject(500, 3, actions={"create"}, resource="jobs")
        emulator.inject(500, 2, actions={"update"}, resource="finetunejobs")
        emulator.inject(409, 3, actions={"update"}, resource="finetunejobs", subresource="status")
        emulator.inject(500, 3, actions={"fetch"}, resource="jobs")
        emulator.create(FTJ, finetunejob("flaky"))
        cluster.job("flaky")
        cluster.wait_phase("flaky", "Pending", timeout=30)
        assert emulator.call(lambda emu: all(f.served == f.count for f in emu.faults))
        assert len(emulator.list(JOBS, NS)) == 1
        pod = cluster.start_pod("flaky")
        cluster.wait_phase("flaky", "Running")
        emulator.inject(500, 3, actions={"update"})
        cluster.finish_pod("flaky", pod, message=train_result())
        status = cluster.wait_phase("flaky", "Succeeded", timeout=30)
        assert status["gate"]["passed"] is True
        operator.wait_metrics("tradetune_reconcile_errors_total")


def test_dropped_watch_streams_lose_no_events(
    emulator: RunningEmulator, operator: OperatorHarness, cluster: Cluster
) -> None:
    with operator.running():
        emulator.create(FTJ, finetunejob("cut"))
        pod = cluster.start_pod("cut")
        cluster.wait_phase("cut", "Running")
        connects = emulator.call(lambda emu: emu.watch_connects)
        emulator.drop_watches()
        cluster.finish_pod("cut", pod, message=train_result())  # happens while the watches reconnect
        cluster.wait_phase("cut", "Succeeded")
        assert emulator.call(lambda emu: emu.watch_connects) > connects


def test_peering_for_several_replicas(
    emulator: RunningEmulator, operator: OperatorHarness, cluster: Cluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    emulator.create(
        "kopf.dev/v1/kopfpeerings",
        {
            "apiVersion": "kopf.dev/v1",
            "kind": "KopfPeering",
            "metadata": {"name": "tradetune", "namespace": NS},
        },
    )
    monkeypatch.setenv("TRADETUNE_PEERING", "tradetune")
    with operator.running():
        emulator.create(FTJ, finetunejob("peered"))
        cluster.job("peered")
        peering = wait_for(
            "the operator's peering record",
            lambda: (emulator.get("kopf.dev/v1/kopfpeerings", NS, "tradetune") or {}).get("status"),
        )
        assert len(peering) == 1  # this replica announced itself and works
        cluster.wait_phase("peered", "Pending")
        expected = {("kopf.dev", "kopfpeerings", verb) for verb in ("get", "list", "watch", "patch")}

        # The active-replica check reads the peering object on its own clock (`get`): wait for it.
        def peering_rules() -> set[tuple[str, str, str]]:
            return {r for r in emulator.call(used_rules) if r[0] == "kopf.dev"}

        wait_for("the operator to use every peering verb", lambda: peering_rules() >= expected)
        used = peering_rules()
    assert used == expected
    documented = documented_rules("With `TRADETUNE_PEERING` set")
    assert used <= documented
