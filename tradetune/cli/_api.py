"""CLI commands: crds, validate, explain."""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from tradetune.atomic import write_atomic
from tradetune.cli._app import app
from tradetune.errors import InvalidInput, SpecError


def _write_text(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, text.encode())


@app.command("crds")
def crds_command(
    output_dir: Annotated[
        Path, typer.Option("--output-dir", "-o", help="Directory the CRD YAML files are written to.")
    ] = Path("crds"),
    check: Annotated[
        bool, typer.Option("--check", help="Write nothing; exit 1 when the files differ from the models.")
    ] = False,
) -> None:
    """Write the CustomResourceDefinitions (FineTuneJob, ModelServe, kopf peering) from the API models."""
    from tradetune.api._crd import render_crds

    console = Console(highlight=False, soft_wrap=True)
    rendered = render_crds()
    if not check:
        for name, text in rendered.items():
            _write_text(output_dir / name, text)
            console.print(f"wrote {output_dir / name}", markup=False)
        return
    stale = 0
    for name, text in rendered.items():
        target = output_dir / name
        current = target.read_text(encoding="utf-8") if target.exists() else None
        if current == text:
            continue
        stale += 1
        if current is None:
            console.print(f"{target}: missing", markup=False)
            continue
        diff = list(
            difflib.unified_diff(
                current.splitlines(),
                text.splitlines(),
                f"{target} (on disk)",
                f"{target} (from models)",
                lineterm="",
            )
        )
        added = sum(1 for line in diff if line.startswith("+") and not line.startswith("+++"))
        removed = sum(1 for line in diff if line.startswith("-") and not line.startswith("---"))
        console.print(f"{target}: stale (+{added} -{removed} lines)", markup=False)
        for line in diff[:40]:
            console.print(f"  {line}", markup=False)
        if len(diff) > 40:
            console.print(f"  ... {len(diff) - 40} more diff lines", markup=False)
    if stale:
        console.print(
            f"{stale} file(s) out of date: run `tradetune crds --output-dir {output_dir}`", markup=False
        )
        raise typer.Exit(1)
    console.print(f"{output_dir}: up to date ({len(rendered)} files)", markup=False)


@app.command("validate")
def validate_command(
    files: Annotated[
        list[Path],
        typer.Argument(help="FineTuneJob/ModelServe YAML files (multi-document too); - reads stdin."),
    ],
) -> None:
    """Check FineTuneJob and ModelServe files against the API; every problem is printed with its field path.

    Exit code 0 when all files are valid, 2 when any problem was found.
    """
    import sys

    from tradetune.api import load_documents, parse_documents

    console = Console(highlight=False, soft_wrap=True)
    problems = 0
    for path in files:
        try:
            docs = parse_documents(sys.stdin.read(), "<stdin>") if str(path) == "-" else load_documents(path)
        except SpecError as exc:
            for field, message in exc.problems:
                console.print(f"{exc.source or path}: {field}: {message}", markup=False)
            problems += len(exc.problems)
            continue
        except InvalidInput as exc:
            console.print(exc.message, markup=False)
            problems += 1
            continue
        names = ", ".join(f"{d.kind}/{d.metadata.name or '(generated name)'}" for d in docs)
        console.print(f"{'<stdin>' if str(path) == '-' else path}: ok ({names})", markup=False)
    if problems:
        console.print(f"{problems} problem(s) found", markup=False)
        raise typer.Exit(2)


@app.command("explain")
def explain_command(
    field: Annotated[
        str | None, typer.Argument(help="Resource and field path, e.g. ftj.spec.training.learningRate.")
    ] = None,
    recursive: Annotated[bool, typer.Option("--recursive", help="List nested fields too.")] = False,
    markdown: Annotated[
        bool, typer.Option("--markdown", help="Print the whole field reference as Markdown instead.")
    ] = False,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="With --markdown: write it to this file.")
    ] = None,
) -> None:
    """Describe a FineTuneJob/ModelServe field, like `kubectl explain`, without a cluster."""
    from tradetune.api._explain import explain, markdown_reference

    if markdown:
        if output is None:
            typer.echo(markdown_reference(), nl=False)
        else:
            _write_text(output, markdown_reference())
        return
    if field is None:
        raise InvalidInput("give a field such as ftj.spec.training or mserve.spec.engine (or --markdown)")
    typer.echo(explain(field, recursive=recursive), nl=False)
