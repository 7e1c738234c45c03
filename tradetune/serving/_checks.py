"""Checks made before vLLM is launched, so bad input gets one clear message and exit code 2.

vLLM takes half a minute or more to fail on a wrong path or a taken port, and then says so
deep in a traceback; these checks answer in milliseconds and name the flag.
"""

from __future__ import annotations

import errno
import json
import socket
from pathlib import Path

from tradetune.errors import InvalidInput


def check_model_dir(path: Path, flag: str = "--model") -> None:
    """A model directory must exist and hold a Hugging Face `config.json`."""
    if not path.exists():
        raise InvalidInput(f"{flag} {path}: no such directory")
    if not path.is_dir():
        raise InvalidInput(f"{flag} {path}: not a directory")
    if not (path / "config.json").is_file():
        raise InvalidInput(f"{flag} {path}: not a model directory (no config.json)")


def check_adapter_dir(path: Path) -> int | None:
    """An adapter directory must hold PEFT's `adapter_config.json`; returns the LoRA rank."""
    if not path.is_dir():
        raise InvalidInput(f"--adapter {path}: no such directory")
    config = path / "adapter_config.json"
    if not config.is_file():
        raise InvalidInput(f"--adapter {path}: not a PEFT adapter (no adapter_config.json)")
    try:
        rank = json.loads(config.read_text()).get("r")
    except (OSError, ValueError) as exc:
        raise InvalidInput(f"--adapter {path}: adapter_config.json is not valid JSON ({exc})") from exc
    return int(rank) if isinstance(rank, int) else None


def check_port_free(host: str, port: int) -> None:
    """Fail fast when something already listens on host:port (vLLM binds the same way)."""
    if not 0 < port < 65536:
        raise InvalidInput(f"--port {port}: must be between 1 and 65535")
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        # SO_REUSEADDR as vLLM sets it: a socket in TIME_WAIT is not "in use", a listener is.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise InvalidInput(f"--port {port}: already in use on {host}") from exc
            raise InvalidInput(f"--host {host} --port {port}: cannot bind ({exc.strerror})") from exc


def free_port(host: str = "127.0.0.1") -> int:
    """A port nothing listens on right now (for tests and `tradetune run --port 0`)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])
