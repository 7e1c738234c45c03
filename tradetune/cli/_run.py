"""CLI commands: run."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from tradetune.cli._app import app
from tradetune.cli._serve import sigterm_as_interrupt


@app.command()
def run(
    file: Annotated[Path, typer.Argument(help="FineTuneJob YAML (a whole object or a bare spec).")],
    *,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Output directory (default: runs/<job name>).")
    ] = None,
    no_serve: Annotated[bool, typer.Option("--no-serve", help="Stop after the gate; do not serve.")] = False,
    exit_after_sample: Annotated[
        bool,
        typer.Option("--exit-after-sample", help="Serve, answer one sample request, then stop (scripts)."),
    ] = False,
    port: Annotated[int, typer.Option(help="Port for the vLLM server.")] = 8000,
    host: Annotated[str, typer.Option(help="Address for the vLLM server.")] = "127.0.0.1",
    ready_timeout: Annotated[float, typer.Option(help="Seconds to wait for vLLM to be ready.")] = 600.0,
    sample: Annotated[
        str | None,
        typer.Option(
            "--sample",
            metavar="TEXT",
            help="Question for the sample request (default: the first item of the job's test split).",
        ),
    ] = None,
) -> None:
    """Run a FineTuneJob on this machine: data, QLoRA, evaluation, gate, then serve with vLLM.

    Same trainer and gate as on a cluster; <output>/status.yaml has the shape of
    FineTuneJob.status. When the gate passes and the job has `promote`, the merged model is
    served with vLLM, one sample request is answered (shown beside its reference answer), and
    the server keeps running until Ctrl-C (unless --no-serve or --exit-after-sample). A failed
    gate exits 1 and serves
    nothing. Running again with the same --output resumes training from its last checkpoint.
    """
    from rich.console import Console

    from tradetune.local import RunOptions, run_job
    from tradetune.progress import default_progress

    options = RunOptions(
        file=file,
        output=output,
        serve=not no_serve,
        host=host,
        port=port,
        exit_after_sample=exit_after_sample,
        ready_timeout=ready_timeout,
        sample_instruction=sample,
    )
    with sigterm_as_interrupt():
        run_job(options, Console(), progress=default_progress)
