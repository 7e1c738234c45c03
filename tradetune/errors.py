"""The exception hierarchy every entry point maps to one clear message.

TradeTuneError
├── InvalidInput        bad user input (a flag, a spec field, a dataset line): CLI exit code 2
│   └── SpecError       a FineTuneJob/ModelServe spec problem, with field paths
└── RuntimeFailure      the input was fine but the work failed (training, serving): exit code 1

Code below the CLI raises these and never prints or exits; the CLI (and the operator, which
turns them into `Failed`/`Stalled` conditions) decides how to show them. `reason` is the
CamelCase word that lands in TrainResult.reason and in Kubernetes conditions.
"""

from __future__ import annotations


class TradeTuneError(Exception):
    """Base of every error TradeTune raises on purpose."""

    exit_code = 1
    reason = "Error"

    def __init__(self, message: str, *, reason: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if reason is not None:
            self.reason = reason


class InvalidInput(TradeTuneError):
    """The user gave something we cannot use; the message names the field, flag or line."""

    exit_code = 2
    reason = "InvalidInput"


class SpecError(InvalidInput):
    """A spec failed validation; `problems` holds (field path, message) pairs."""

    reason = "InvalidSpec"

    def __init__(self, problems: list[tuple[str, str]], *, source: str | None = None) -> None:
        self.problems = problems
        self.source = source
        prefix = f"{source}: " if source else ""
        super().__init__("\n".join(f"{prefix}{path}: {msg}" for path, msg in problems))


class RuntimeFailure(TradeTuneError):
    """The work itself failed (training diverged, the server did not start, ...)."""

    exit_code = 1
    reason = "RuntimeFailure"
