"""How the operator copes with 200 FineTuneJobs created at once (against the emulated API server).

Measures, in one run:
- the floor: the emulator's own create round-trip, timed from this process (200 creates);
- the time until every FineTuneJob has its Job, and per object against that floor;
- the time until every status shows Running once the bench (playing the kubelet) has marked
  every trainer pod running;
- live progress with every job running: API requests per job per minute and the operator's
  CPU, first over a window in which the trainers print nothing (the baseline: pod lists and log reads only),
  then over an equal window in which every trainer prints a new progress record each interval;
- the operator process's peak RSS (it runs as `python -m tradetune.operator`, as in its image).

Run: `python bench/operator_scale.py [--jobs 200] [--window 60] [--progress-seconds 15]` from the
repository root (`--smoke`: 3 jobs and short windows, seconds, to check the bench still runs).
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

from bench._machine import describe  # noqa: E402
from tests.integration.operator.conftest import finetunejob, free_port  # noqa: E402
from tests.integration.operator.emulator import TEST_CLIENT_HEADER  # noqa: E402
from tests.integration.operator.running_emulator import RunningEmulator  # noqa: E402
from tradetune.api import ProgressRecord  # noqa: E402

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
                {
                    "apiVersion": "batch/v1",
                    "kind": "Job",
                    "name": name,
                    "uid": job["metadata"]["uid"],
                    "controller": True,
                }
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


def operator_calls(emu: Any, since: int) -> dict[str, int]:
    """The operator's requests after the first `since` ones, by kind (log reads, status patches)."""
    counts = {"log": 0, "status": 0, "other": 0}
    for request in emu._requests[since:]:
        if any(k.lower() == TEST_CLIENT_HEADER.lower() for k in request.headers):
            continue
        kind = request.subresource if request.subresource in ("log", "status") else "other"
        counts[kind] += 1
    return counts


class Trainers:
    """Every trainer pod prints a progress record each `interval` seconds (the kubelet's log)."""

    def __init__(self, emu: RunningEmulator, pods: list[str], interval: float) -> None:
        self.emu, self.pods, self.interval = emu, pods, interval
        self.step = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _write(self) -> None:
        self.step += 10
        line = ProgressRecord(
            ts=time.time(),
            stage="training",
            step=self.step,
            total_steps=100_000,
            train_loss=2.0 - self.step / 1e5,
            steps_per_second=1.0,
            tokens_per_second=6400.0,
        ).line()

        def append(e: Any) -> None:
            for pod in self.pods:
                e.pod_logs.append(NS, pod, "trainer", line)

        self.emu.call(append)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self._write()

    def start(self) -> None:
        self._write()
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


def measure(emu: RunningEmulator, proc: psutil.Process, window: float) -> tuple[dict[str, int], float]:
    """Operator requests by kind and CPU seconds over `window` seconds."""
    before = emu.call(lambda e: len(e._requests))
    cpu = proc.cpu_times()
    time.sleep(window)
    after = proc.cpu_times()
    return emu.call(lambda e: operator_calls(e, before)), (after.user + after.system) - (
        cpu.user + cpu.system
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=200)
    parser.add_argument("--timeout", type=float, default=300.0)
    parser.add_argument("--smoke", action="store_true", help="3 jobs (seconds); the numbers mean nothing")
    parser.add_argument("--window", type=float, default=60.0, help="Seconds of each progress window.")
    parser.add_argument("--progress-seconds", type=float, default=15.0, help="The operator's interval.")
    args = parser.parse_args()
    if args.smoke:
        args.jobs, args.timeout, args.window, args.progress_seconds = 3, 60.0, 2.0, 1.0
    n = args.jobs
    print(describe())

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
            "TRADETUNE_PROGRESS_SECONDS": str(args.progress_seconds),
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

            # Live progress: a quiet window (log reads, nothing to patch), then a busy one.
            proc = psutil.Process(operator.pid)
            quiet, quiet_cpu = measure(emu, proc, args.window)
            trainers = Trainers(emu, [f"{job['metadata']['name']}-p0" for job in jobs], args.progress_seconds)
            trainers.start()

            def all_progress() -> bool:
                return sum(1 for o in emu.list(FTJ, NS) if (o.get("status") or {}).get("progress")) >= n

            wait("progress in every status", all_progress, args.timeout)
            busy, busy_cpu = measure(emu, proc, args.window)
            trainers.stop()
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
    per_min = 60.0 / args.window / n
    print(
        f"live progress, {n} running jobs, interval {args.progress_seconds:.0f} s, "
        f"windows of {args.window:.0f} s:"
    )
    for label, calls, cpu in (
        ("quiet (no new records)", quiet, quiet_cpu),
        ("busy (new record each interval)", busy, busy_cpu),
    ):
        total = sum(calls.values())
        print(
            f"  {label:32s} {total * per_min:5.2f} requests/job/min "
            f"(log {calls['log'] * per_min:.2f}, status patch {calls['status'] * per_min:.2f}, "
            f"other {calls['other'] * per_min:.2f}); operator CPU {100 * cpu / args.window:5.1f} % of a core"
        )
    busy_total, quiet_total = sum(busy.values()), max(1, sum(quiet.values()))
    print(
        f"  busy vs quiet:                  {busy_total / quiet_total:5.2f} x requests, "
        f"{busy_cpu / max(quiet_cpu, 1e-9):5.2f} x CPU"
    )
    print(f"operator peak RSS:                        {peak / 2**20:6.1f} MiB")
    print(f"duplicate Jobs:                           {duplicates}")


if __name__ == "__main__":
    main()
