"""`python -m tradetune.operator`: run the kopf operator with TradeTune's settings.

kopf's own command line does the running (signals, logging, liveness endpoint); the flags
come from our environment variables, so the Helm chart configures one set of names.
"""

from __future__ import annotations

import os
import sys

from tradetune.errors import TradeTuneError
from tradetune.operator import peering
from tradetune.operator.settings import OperatorSettings, load_settings

HANDLERS_MODULE = "tradetune.operator.handlers"


def kopf_args(settings: OperatorSettings, *, liveness: bool = True) -> list[str]:
    """The `kopf run` arguments for `settings`."""
    args = ["run", "--module", HANDLERS_MODULE, "--log-format", "full"]
    if settings.namespaces:
        for namespace in settings.namespaces:
            args += ["--namespace", namespace]
    else:
        args.append("--all-namespaces")
    if settings.peering:
        args += ["--peering", settings.peering, "--priority", str(settings.peering_priority)]
    else:
        args.append("--standalone")
    if liveness and settings.liveness_port:
        args += ["--liveness", f"http://0.0.0.0:{settings.liveness_port}/healthz"]
    return args


def main(argv: list[str] | None = None) -> None:
    """Validate the settings first (one line on error, exit 2), then hand over to kopf."""
    if os.environ.get("TRADETUNE_PEERING", "").strip():
        peering.ensure_identity_and_priority(os.environ)  # before kopf and the handlers read them
    try:
        settings = load_settings()
    except TradeTuneError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        sys.exit(exc.exit_code)
    import kopf.cli

    kopf.cli.main(
        args=[*kopf_args(settings), *(argv if argv is not None else sys.argv[1:])],
        prog_name="tradetune-operator",
    )


if __name__ == "__main__":
    main()
