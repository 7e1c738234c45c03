"""Two operator processes against one API server: exactly one acts, and a crash hands over.

Each replica runs `python -m tradetune.operator` as the image does, with kopf peering and its own
priority. The test reads which one is active from each replica's `/metrics` and `/healthz`,
kills the active one (SIGKILL: no goodbye) and measures how long the standby takes to take over.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import yaml

from tests.integration.operator.conftest import (
    FTJ,
    JOBS,
    NS,
    Cluster,
    finetunejob,
    free_port,
    train_result,
    wait_for,
)
from tests.integration.operator.running_emulator import RunningEmulator

ROOT = Path(__file__).resolve().parents[3]
LIFETIME = 6  # seconds a dead replica's peering record lives: the failover time after a crash
pytestmark = pytest.mark.timeout(180)


def _get(url: str) -> str:
    try:
        with urllib.request.urlopen(url, timeout=2) as resp:
            return str(resp.read().decode())
    except OSError:
        return ""


class Replica:
    def __init__(self, name: str, proc: subprocess.Popen[bytes], metrics: int, liveness: int) -> None:
        self.name, self.proc, self.metrics, self.liveness = name, proc, metrics, liveness

    def active(self) -> float | None:
        found = re.search(
            r"^tradetune_operator_active (\S+)$", _get(f"http://127.0.0.1:{self.metrics}/metrics"), re.M
        )
        return float(found.group(1)) if found else None

    def healthz(self) -> str:
        return _get(f"http://127.0.0.1:{self.liveness}/healthz")


@contextmanager
def replica(emulator: RunningEmulator, tmp: Path, name: str, priority: int) -> Iterator[Replica]:
    kubeconfig = tmp / f"kubeconfig-{name}.yaml"
    kubeconfig.write_text(yaml.safe_dump(emulator.kubeconfig()))
    metrics, liveness = free_port(), free_port()
    env = {
        **os.environ,
        "KUBECONFIG": str(kubeconfig),
        "TRADETUNE_NAMESPACES": NS,
        "TRADETUNE_METRICS_PORT": str(metrics),
        "TRADETUNE_LIVENESS_PORT": str(liveness),
        "TRADETUNE_PEERING": "tradetune",
        "TRADETUNE_PEERING_PRIORITY": str(priority),
        "TRADETUNE_PEERING_LIFETIME": str(LIFETIME),
        "TRADETUNE_RESYNC_SECONDS": "30",
        "POD_ID": name,
        "PYTHONPATH": str(ROOT),
    }
    with (tmp / f"{name}.log").open("w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "tradetune.operator"], cwd=ROOT, env=env, stdout=out, stderr=out
        )
        try:
            yield Replica(name, proc, metrics, liveness)
        finally:
            if proc.poll() is None:
                proc.terminate()
                proc.wait(30)


def _job_creates(emulator: RunningEmulator) -> int:
    return int(emulator.call(lambda emu: emu.create_attempts.get("jobs", 0)))


def test_one_replica_acts_and_a_crash_hands_over(
    emulator: RunningEmulator, cluster: Cluster, tmp_path: Path
) -> None:
    emulator.create(
        "kopf.dev/v1/kopfpeerings",
        {
            "apiVersion": "kopf.dev/v1",
            "kind": "KopfPeering",
            "metadata": {"name": "tradetune", "namespace": NS},
        },
    )
    with replica(emulator, tmp_path, "op-a", 200) as a, replica(emulator, tmp_path, "op-b", 100) as b:
        wait_for("A active, B standby", lambda: a.active() == 1.0 and b.active() == 0.0, timeout=60)
        assert '"active": true' in a.healthz() and '"active": false' in b.healthz()

        emulator.create(FTJ, finetunejob("ha1"))
        pod = cluster.start_pod("ha1")
        cluster.wait_phase("ha1", "Running", timeout=30)
        assert _job_creates(emulator) == 1
        assert b.active() == 0.0

        a.proc.kill()  # a crash: its peering record stays until it expires
        killed = time.monotonic()
        wait_for("B active", lambda: b.active() == 1.0, timeout=LIFETIME + 30)
        failover = time.monotonic() - killed
        print(f"failover after SIGKILL: {failover:.1f}s (peering lifetime {LIFETIME}s)")
        assert failover < LIFETIME + 15
        wait_for(
            "B's /healthz (kopf caches probes for 10 s)", lambda: '"active": true' in b.healthz(), timeout=20
        )

        # Nothing lost: the running job finishes under B; nothing duplicated: one Job each.
        cluster.finish_pod("ha1", pod, message=train_result())
        cluster.wait_phase("ha1", "Succeeded", timeout=30)
        emulator.create(FTJ, finetunejob("ha2"))
        cluster.job("ha2")
        cluster.wait_phase("ha2", "Pending", timeout=30)
        assert _job_creates(emulator) == 2
        assert len(emulator.list(JOBS, NS)) == 2
