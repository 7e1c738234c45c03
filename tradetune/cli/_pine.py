"""`tradetune pine check FILE...`: the evaluation's Pine v5 check as a linter.

Findings print as `FILE:LINE: CODE message` (the format editors and CI annotate); the exit
code is 2 when any file has an error, 0 when every file is clean (warnings alone pass).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from tradetune.cli._app import app
from tradetune.errors import InvalidInput

pine_app = typer.Typer(help="Check PineScript v5 programs the way the evaluation does.", no_args_is_help=True)
app.add_typer(pine_app, name="pine")


def read_program(path: Path) -> str:
    """The file's text, or InvalidInput naming the file and what to do."""
    if not path.exists():
        raise InvalidInput(f"{path}: no such file; pass the path of a .pine file")
    if path.is_dir():
        raise InvalidInput(f"{path}: is a directory; pass the .pine files inside it")
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidInput(f"{path}: not UTF-8 text (byte {exc.start}); save the script as UTF-8") from None
    except OSError as exc:
        raise InvalidInput(f"{path}: cannot read ({exc.strerror or exc})") from None


@pine_app.command("check")
def check(
    files: Annotated[list[Path], typer.Argument(help="PineScript v5 files to check.", show_default=False)],
    timeout: Annotated[
        float,
        typer.Option(min=0.1, help="Seconds allowed per file; a file past it fails with PINE-E002."),
    ] = 60.0,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="Print findings only, no summary line.")
    ] = False,
) -> None:
    """Lint PineScript v5 files: syntax, built-in names and arity, declarations, v5 rules.

    Every finding prints as FILE:LINE: CODE message. Exit code 2 when any file has an error.
    """
    from tradetune.evaluation.pine import check_programs

    programs = [read_program(path) for path in files]
    results = check_programs(programs, workers=min(len(programs), 4), timeout_s=timeout)
    failed = 0
    for path, result in zip(files, results, strict=True):
        for finding in result.findings:
            print(f"{path}:{finding.line}: {finding.code} {finding.message}")
        failed += not result.valid
    if not quiet:
        clean = len(files) - failed
        print(f"{len(files)} file(s) checked: {clean} valid, {failed} with errors", file=sys.stderr)
    if failed:
        raise typer.Exit(2)
