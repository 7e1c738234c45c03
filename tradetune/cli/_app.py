"""The typer application objects the command modules attach to.

Kept apart from `tradetune.cli` so command modules can import them without a cycle.
Command modules must import heavy libraries (torch, transformers, vllm, kopf) inside the
command function, never at module level: `tradetune --help` and `tradetune generate` stay fast.
"""

from __future__ import annotations

import typer

app = typer.Typer(
    name="tradetune",
    help="Fine-tune trading LLMs: generate data, train with QLoRA, evaluate, gate and serve.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
dataset_app = typer.Typer(help="Split, inspect and convert datasets.", no_args_is_help=True)
app.add_typer(dataset_app, name="dataset")
