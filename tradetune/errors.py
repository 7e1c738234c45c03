"""The exception hierarchy every entry point maps to one clear message.

TradeTuneError
├── InvalidInput        bad user input (a flag, a spec field, a dataset line): CLI exit code 2
│   └── SpecError       a FineTuneJob/ModelServe spec problem, with field paths
└── RuntimeFailure      the input was fine but the work failed (training, serving): exit code 1
    └── InternalError   an invariant broke (a bug); raised by `require`, never by `assert`

Code below the CLI raises these and never prints or exits; the CLI (and the operator, which
turns them into `Failed`/`Stalled` conditions) decides how to show them. `reason` is the
CamelCase word that lands in TrainResult.reason and in Kubernetes conditions.
"""

from __future__ import annotations

from typing import TypeVar

T = TypeVar("T")


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


class InternalError(RuntimeFailure):
    """A rule an earlier check guarantees was broken: a bug in TradeTune, not in the input."""

    reason = "InternalError"


def require(value: T | None, what: str) -> T:
    """`value` when it is set, else InternalError naming `what`.

    For invariants an earlier check guarantees (a validated spec, a started process). Unlike
    `assert` it is not stripped by `python -O`, and it fails through the same path as every
    other error (one message, a condition with a reason) instead of an AttributeError later.
    """
    if value is None:
        raise InternalError(f"internal error: {what} is missing; please report this as a bug")
    return value
