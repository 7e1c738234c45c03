"""Check many programs with a bound on each: a pool of worker processes, results cached per text.

pynescript's parser is pure-Python ANTLR: the first parse in a process costs seconds and a
program with constructs the process has not seen can take tens of seconds, so evaluation runs
check programs in long-lived worker processes (worker.py), each program with a time limit.
A program that runs past it counts as invalid (PINE-E002) and its worker is replaced.
"""

from __future__ import annotations

import json
import os
import queue
import select
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path

from tradetune.errors import require
from tradetune.evaluation.pine.check import CheckResult, check_code
from tradetune.evaluation.pine.findings import Finding, error

DEFAULT_TIMEOUT_S = 60.0
START_TIMEOUT_S = 300.0  # a cold worker's warm-up, never charged to a program
CACHE_LIMIT = 50_000  # program texts remembered per process
_CACHE: dict[str, CheckResult] = {}
_CACHE_LOCK = threading.Lock()


def default_workers() -> int:
    return max(1, min(4, (os.cpu_count() or 1)))


def _worker_env() -> dict[str, str]:
    """The parent's environment, with this very tradetune first on the path (same code in the worker)."""
    import tradetune

    root = str(Path(tradetune.__file__).resolve().parents[1])
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([root, *filter(None, [env.get("PYTHONPATH")])])
    return env


class _Worker:
    """One checker process; `check` returns None when the program ran past its limit."""

    def __init__(self) -> None:
        self.proc: subprocess.Popen[bytes] | None = None

    def _start(self) -> subprocess.Popen[bytes]:
        proc = subprocess.Popen(
            [sys.executable, "-m", "tradetune.evaluation.pine.worker"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=_worker_env(),
        )
        if self._read(proc, START_TIMEOUT_S) != "ready":
            proc.kill()
            proc.wait()
            raise RuntimeError("the PineScript checker process did not start")
        return proc

    @staticmethod
    def _read(proc: subprocess.Popen[bytes], timeout: float) -> object:
        stdout = require(proc.stdout, "the Pine worker's stdout pipe")
        ready, _, _ = select.select([stdout], [], [], timeout)
        if not ready:
            return None
        line = stdout.readline()
        return json.loads(line) if line else None

    def check(self, code: str, timeout: float) -> CheckResult | None:
        if self.proc is None or self.proc.poll() is not None:
            self.proc = self._start()
        proc = self.proc
        stdin = require(proc.stdin, "the Pine worker's stdin pipe")
        try:
            stdin.write((json.dumps(code) + "\n").encode())
            stdin.flush()
        except BrokenPipeError:
            self.stop()
            return CheckResult(
                (error(0, "PINE-E001", "the parser process died on this program"),), parsed=False
            )
        got = self._read(proc, timeout)
        if not isinstance(got, dict):
            died = proc.poll() is not None
            self.stop()
            if died:
                return CheckResult(
                    (error(0, "PINE-E001", "the parser process died on this program"),), parsed=False
                )
            return None
        findings = tuple(Finding.from_tuple(t) for t in got["findings"])
        return CheckResult(findings, parsed=bool(got["parsed"]))

    def stop(self) -> None:
        if self.proc is not None:
            if self.proc.poll() is None:
                self.proc.kill()
            self.proc.wait()
            self.proc = None


def timed_out(timeout: float) -> CheckResult:
    return CheckResult(
        (error(0, "PINE-E002", f"the check ran past its {timeout:g} s limit; counted as invalid"),),
        parsed=False,
    )


def check_programs(
    codes: Sequence[str],
    *,
    workers: int | None = None,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    on_done: Callable[[int], None] | None = None,
) -> list[CheckResult]:
    """One result per program, in order. `workers=0` checks in this process, without a time limit."""
    if workers == 0:
        out = []
        for i, code in enumerate(codes):
            out.append(check_code(code))
            if on_done:
                on_done(i + 1)
        return out
    with _CACHE_LOCK:
        todo = list(dict.fromkeys(c for c in codes if c not in _CACHE))
    pending = set(todo)
    done = sum(1 for c in codes if c not in pending)
    if on_done:
        on_done(done)
    results: dict[str, CheckResult] = {}
    jobs: queue.Queue[str] = queue.Queue()
    for code in todo:
        jobs.put(code)
    lock = threading.Lock()
    counts = Counter(codes)
    failure: list[BaseException] = []

    def drain() -> None:
        nonlocal done
        worker = _Worker()
        try:
            while not failure:
                try:
                    code = jobs.get_nowait()
                except queue.Empty:
                    return
                result = worker.check(code, timeout_s) or timed_out(timeout_s)
                with lock:
                    results[code] = result
                    done += counts[code]
                    if on_done:
                        on_done(done)
        except BaseException as exc:  # surfaced in the caller's thread below
            failure.append(exc)
        finally:
            worker.stop()

    threads = [
        threading.Thread(target=drain, daemon=True)
        for _ in range(min(len(todo), workers or default_workers()))
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if failure:
        raise failure[0]
    with _CACHE_LOCK:
        if len(_CACHE) + len(results) > CACHE_LIMIT:
            _CACHE.clear()
        for code, result in results.items():
            if not any(f.code == "PINE-E002" for f in result.findings):
                _CACHE[code] = result
        merged = {**_CACHE, **results}
    return [merged[c] for c in codes]
