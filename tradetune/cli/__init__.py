"""The `tradetune` command line: thin shells over the package API.

Every command module registers on the shared typer app; `main` maps TradeTune's exceptions
to one line on stderr and an exit code (2 for bad input), so users never see a traceback.
"""

from __future__ import annotations

import sys

from rich.console import Console

from tradetune.cli import _api, _datagen, _pine, _run, _serve, _train  # noqa: F401  (register commands)
from tradetune.cli._app import app
from tradetune.errors import TradeTuneError

__all__ = ["app", "main"]


def main(argv: list[str] | None = None) -> None:
    """Run the CLI; bad input exits 2 with a one-line message, other failures exit 1."""
    try:
        app(args=argv, standalone_mode=True)
    except TradeTuneError as exc:
        Console(stderr=True).print(f"[bold red]error:[/] {exc.message}", highlight=False, soft_wrap=True)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        Console(stderr=True).print("interrupted")
        sys.exit(130)
