"""How the operator copes with 200 FineTuneJobs created at once (against the emulated API server).

Measures, in one run:
- the floor: the emulator's own create round-trip, timed from this process (200 creates);
- the time until every FineTuneJob has its Job, and per object against that floor;
- the time until every status shows Running once the bench (playing the kubelet) has marked
  every trainer pod running;
- the operator process's peak RSS (it runs as `python -m tradetune.operator`, as in its image).

Run: `python bench/operator_scale.py [--jobs 200]` from the repository root.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import psutil
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.integration.operator.conftest import finetunejob, free_port  # noqa: E402
from tests.integration.operator.emulator import TEST_CLIENT_HEADER  # noqa: E402
from tests.integration.operator.running_emulator import RunningEmulator  # noqa: E402

NS = "bench"
FTJ = "tradetune.dev/v1alpha1/finetunejobs"
NOW = "2026-01-01T00:00:00Z"


class PeakRss:
    """Samples a process's resident memory every 50 ms and keeps the peak."""

    def __init__(self, pid: int) -> None:
        self.proc = psutil.Process(pid)
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.peak = max(self.peak, self.proc.memory_info().rss)
            except psutil.Error:
                return
            time.sleep(0.05)

    def stop(self) -> int:
        self._stop.set()
        self._thread.join()
        return self.peak


def wait(what: str, fn: Any, timeout: float) -> float:
    start = time.perf_counter()
    while time.perf_counter() - start < timeout:
        if fn():
            return time.perf_counter()
        time.sleep(0.05)
    raise SystemExit(f"timed out after {timeout:.0f}s waiting for {what}")


def operator_requests(emu: Any) -> int:
    """API requests the operator made so far (the bench's own client marks its requests)."""
    return sum(
        1 for r in emu._requests if not any(k.lower() == TEST_CLIENT_HEADER.lower() for k in r.headers)
    )


def job_body(name: str, namespace: str) -> dict[str, Any]:
    body = finetunejob(name)
    body["metadata"]["namespace"] = namespace
    return body


def mark_running(emu: RunningEmulator, job: dict[str, Any]) -> None:
    """The Job controller's and kubelet's part: a pod from the template, running."""
    name = job["metadata"]["name"]
    template = job["spec"]["template"]
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": f"{name}-p0",
            "namespace": NS,
            "labels": {**template["metadata"]["labels"], "batch.kubernetes.io/job-name": name},
            "ownerReferences": [
                {"apiVersion": "batch/v1", "kind": "Job", "name": name, "uid": job["metadata"]["uid"]}
            ],
        },
        "spec": template["spec"],
    }
    emu.create("v1/pods", pod)
    running = {
        "status": {
            "phase": "Running",
            "startTime": NOW,
            "containerStatuses": [{"name": "trainer", "state": {"running": {"startedAt": NOW}}}],
        }
    }
    emu.patch("v1/pods", NS, f"{name}-p0", running, status=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=200)
    parser.add_argument("--timeout", type=float, default=300.0)
    args = parser.parse_args()
    n = args.jobs

    with RunningEmulator() as emu, tempfile.TemporaryDirectory() as tmp:
        emu.request("POST", "/api/v1/namespaces", {"metadata": {"name": NS}})
        emu.request("POST", "/api/v1/namespaces", {"metadata": {"name": "floor"}})

        # The floor: the emulator's own create round-trip for an object of the same size.
        floor_start = time.perf_counter()
        for i in range(n):
            emu.create(FTJ, job_body(f"floor-{i:03d}", "floor"))
        floor = (time.perf_counter() - floor_start) / n

        kubeconfig = Path(tmp) / "kubeconfig.yaml"
        kubeconfig.write_text(yaml.safe_dump(emu.kubeconfig()))
        env = {
            **os.environ,
            "KUBECONFIG": str(kubeconfig),
            "TRADETUNE_NAMESPACES": NS,
            "TRADETUNE_METRICS_PORT": str(free_port()),
            "TRADETUNE_LIVENESS_PORT": str(free_port()),
            "TRADETUNE_RESYNC_SECONDS": "600",
            "PYTHONPATH": str(ROOT),
        }
        log = open(Path(tmp) / "operator.log", "w")  # noqa: SIM115
        started = time.perf_counter()
        operator = subprocess.Popen(
            [sys.executable, "-m", "tradetune.operator", "--quiet"], cwd=ROOT, env=env, stdout=log, stderr=log
        )
        rss = PeakRss(operator.pid)
        try:
            ready = wait("the operator's watches", lambda: emu.call(lambda e: e.watch_connects >= 5), 60)
            startup = ready - started

            t0 = time.perf_counter()
            with ThreadPoolExecutor(8) as pool:
                list(pool.map(lambda i: emu.create(FTJ, job_body(f"job-{i:03d}", NS)), range(n)))
            created = time.perf_counter()
            t_jobs = wait("every Job", lambda: len(emu.list("batch/v1/jobs", NS)) >= n, args.timeout)
            requests_to_jobs = emu.call(operator_requests)

            jobs = emu.list("batch/v1/jobs", NS)
            t_mark = time.perf_counter()
            with ThreadPoolExecutor(8) as pool:
                list(pool.map(lambda job: mark_running(emu, job), jobs))
            t_marked = time.perf_counter()

            def all_running() -> bool:
                return (
                    sum(1 for o in emu.list(FTJ, NS) if (o.get("status") or {}).get("phase") == "Running")
                    >= n
                )

            t_running = wait("every status Running", all_running, args.timeout)
            duplicates = len(emu.list("batch/v1/jobs", NS)) - n
        except SystemExit:
            log.flush()
            print((Path(tmp) / "operator.log").read_text()[-4000:], file=sys.stderr)
            raise
        finally:
            operator.terminate()
            try:
                operator.wait(30)
            except subprocess.TimeoutExpired:
                operator.kill()
            peak = rss.stop()
            log.close()

    per_job = (t_jobs - t0) / n
    print(f"FineTuneJobs: {n} (created by the bench in {created - t0:.2f}s)")
    print(f"operator start-up until watching:         {startup:6.2f} s")
    print(f"floor: emulator create round-trip:        {floor * 1000:6.2f} ms/object")
    print(f"until every Job exists:                   {t_jobs - t0:6.2f} s  ({per_job * 1000:.1f} ms/object)")
    print(f"  per object vs the floor:                {per_job / floor:6.1f} x")
    print(f"  operator API requests until then:       {requests_to_jobs / n:6.1f} per object")
    print(f"pods marked running by the bench in:      {t_marked - t_mark:6.2f} s")
    print(f"until every status shows Running:         {t_running - t_marked:6.2f} s after the last pod")
    print(f"                                          {t_running - t_mark:6.2f} s after the first pod")
    print(f"  per object vs the floor:                {(t_running - t_mark) / n / floor:6.1f} x")
    print(f"operator peak RSS:                        {peak / 2**20:6.1f} MiB")
    print(f"duplicate Jobs:                           {duplicates}")


if __name__ == "__main__":
    main()
