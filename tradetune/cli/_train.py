"""CLI commands: train, evaluate, tiny-model."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from tradetune.cli._app import app


@app.command("tiny-model")
def tiny_model(
    output: Annotated[Path, typer.Option("--output", "-o", help="Directory to write the model to.")],
    seed: Annotated[int, typer.Option(help="Seed of the tokenizer corpus, weights and pretraining.")] = 0,
    pretrain_steps: Annotated[
        int,
        typer.Option(
            "--pretrain-steps",
            min=0,
            help="Causal-LM pretraining steps on generic text (0 = random weights). 200 takes ~20 s.",
        ),
    ] = 0,
) -> None:
    """Build a tiny Llama with its own tokenizer: the base model for tests and the local demo."""
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    from tradetune.training import build_tiny_model

    console = Console(stderr=True)
    with Progress(
        TextColumn("pretraining"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total} loss {task.fields[loss]}"),
        TimeRemainingColumn(),
        console=console,
        disable=pretrain_steps == 0,
    ) as progress:
        task = progress.add_task("pretrain", total=pretrain_steps, loss="-")

        def on_step(step: int, loss: float) -> None:
            progress.update(task, completed=step, loss=f"{loss:.3f}")

        path = build_tiny_model(output, seed=seed, pretrain_steps=pretrain_steps, on_step=on_step)
    Console().print(f"tiny model written to {path}")
