"""Run vLLM's OpenAI server as a child process group: start, wait until ready, stop.

vLLM starts an engine-core subprocess of its own, so the server gets a new session (process
group) and is stopped with a signal to the whole group: SIGTERM, then SIGKILL after a grace
period, and `stop` returns only when no process of the group is left. On Linux the server
also gets PR_SET_PDEATHSIG, so it dies with its parent even when the parent is killed hard.
Its output is kept (last lines, for error messages), copied to a log file and optionally
echoed.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections import deque
from collections.abc import Callable, Mapping
from pathlib import Path
from types import TracebackType
from typing import IO, TextIO

import tradetune
from tradetune.errors import InternalError, RuntimeFailure, require
from tradetune.serving._options import VLLM_ENV_DEFAULTS, ServeOptions, guard_env, vllm_command

TAIL_LINES = 40


def vllm_env(base: Mapping[str, str] | None = None) -> dict[str, str]:
    """The vLLM process environment: ours, with TradeTune's defaults where unset.

    The directory holding this `tradetune` package goes first on PYTHONPATH so the vLLM
    process loads the same `tradetune` (its /generate middleware) as the caller.
    """
    env = dict(os.environ if base is None else base)
    for key, value in VLLM_ENV_DEFAULTS.items():
        env.setdefault(key, value)
    package_root = str(Path(tradetune.__file__).resolve().parent.parent)
    paths = [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
    env["PYTHONPATH"] = os.pathsep.join([package_root, *[p for p in paths if p != package_root]])
    return env


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            libc = ctypes.CDLL("libc.so.6", use_errno=True)
            libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


class VLLMServer:
    """One vLLM OpenAI server process group. Use as a context manager, or start/stop."""

    def __init__(
        self,
        options: ServeOptions,
        *,
        env: Mapping[str, str] | None = None,
        log_file: Path | None = None,
        echo: TextIO | None = None,
        command: list[str] | None = None,
    ) -> None:
        self.options = options
        self.command = command or vllm_command(options)
        self._env = {**vllm_env(env), **guard_env(options)}
        self._log_file = log_file
        self._echo = echo
        self._tail: deque[str] = deque(maxlen=TAIL_LINES)
        self._proc: subprocess.Popen[str] | None = None
        self._reader: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        host = self.options.host
        if host in {"0.0.0.0", "", "::"}:
            host = "127.0.0.1"
        elif ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{self.options.port}"

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    def log_tail(self) -> list[str]:
        """The server's last output lines (at most TAIL_LINES)."""
        return list(self._tail)

    def start(self) -> None:
        """Launch the server in a new process group; returns at once (see wait_ready)."""
        if self._log_file is not None:
            self._log_file.parent.mkdir(parents=True, exist_ok=True)
        self._proc = subprocess.Popen(
            self.command,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=self._env,
            text=True,
            errors="replace",
            bufsize=1,
            start_new_session=True,
            preexec_fn=_die_with_parent,  # noqa: PLW1509 - only calls prctl, no locks
        )
        stdout = require(self._proc.stdout, "vLLM's stdout pipe")
        self._reader = threading.Thread(target=self._pump, args=(stdout,), name="vllm-log", daemon=True)
        self._reader.start()

    def _started(self) -> subprocess.Popen[str]:
        if self._proc is None:
            raise InternalError("internal error: the vLLM server was used before start(); please report this")
        return self._proc

    def _pump(self, stdout: IO[str]) -> None:
        sink = self._log_file.open("a", encoding="utf-8") if self._log_file else None
        try:
            for line in stdout:
                self._tail.append(line.rstrip("\n"))
                if sink is not None:
                    sink.write(line)
                    sink.flush()
                if self._echo is not None:
                    self._echo.write(line)
                    self._echo.flush()
        finally:
            if sink is not None:
                sink.close()

    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def wait_ready(self, timeout: float = 600.0, on_tick: Callable[[float], None] | None = None) -> None:
        """Block until GET /health answers 200; raise RuntimeFailure with vLLM's last lines.

        Fails as soon as the process exits, or after `timeout` seconds (then the server is
        stopped first, so no process is left behind).
        """
        proc = self._started()
        started = time.monotonic()
        while True:
            code = proc.poll()
            if code is not None:
                self._join_reader()
                self.stop()
                cause = last_error_line(self.log_tail())
                raise RuntimeFailure(
                    f"vLLM exited with code {code} before it was ready"
                    f"{': ' + cause if cause else '.'}{self._tail_text()}",
                    reason="ServerStartFailed",
                )
            if self._healthy():
                return
            elapsed = time.monotonic() - started
            if elapsed > timeout:
                self.stop()
                raise RuntimeFailure(
                    f"vLLM was not ready within {timeout:.0f} s.{self._tail_text()}",
                    reason="ServerStartTimeout",
                )
            if on_tick is not None:
                on_tick(elapsed)
            time.sleep(0.5)

    def _healthy(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.base_url}/health", timeout=2) as response:
                return bool(response.status == 200)
        except (urllib.error.URLError, OSError, ValueError):
            return False

    def _tail_text(self) -> str:
        lines = self.log_tail()
        if not lines:
            return ""
        where = f" (full log: {self._log_file})" if self._log_file else ""
        return f"\nLast lines of the vLLM log{where}:\n" + "\n".join(f"  {line}" for line in lines)

    def _join_reader(self) -> None:
        if self._reader is not None:
            self._reader.join(timeout=5)

    def wait(self) -> int:
        """Block until the server exits by itself; returns its exit code."""
        code = self._started().wait()
        self._join_reader()
        return code

    def stop(self, grace: float = 20.0) -> None:
        """Stop the whole process group (SIGTERM, then SIGKILL) and wait until it is gone."""
        proc = self._proc
        if proc is None:
            return
        pgid = proc.pid  # start_new_session: the group id is the leader's pid
        _signal_group(pgid, signal.SIGTERM)
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline and (proc.poll() is None or _group_alive(pgid)):
            time.sleep(0.2)
        if proc.poll() is None or _group_alive(pgid):
            _signal_group(pgid, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=10)
            deadline = time.monotonic() + 10
            while _group_alive(pgid) and time.monotonic() < deadline:
                time.sleep(0.1)
        self._join_reader()

    def __enter__(self) -> VLLMServer:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def last_error_line(lines: list[str]) -> str | None:
    """The last `SomeError: message` line of a log, to lead the error message with the cause."""
    for line in reversed(lines):
        if _ERROR_LINE.match(line):
            return line.strip()
    return None


_ERROR_LINE = re.compile(r"^\s*(\(\w+ pid=\d+\)\s*)?[\w.]*(Error|Exception|Interrupt)\b.*:")


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
