"""CLI commands: train, evaluate, tiny-model."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from tradetune.cli._app import app
from tradetune.progress import ProgressSink


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


def _metrics_table(metrics: Any, base: Any | None, title: str) -> Any:
    """A rich table of the metrics, with the base model's beside them when measured."""
    from rich.table import Table

    table = Table(title=title)
    table.add_column("metric")
    table.add_column("model", justify="right")
    if base is not None:
        table.add_column("base", justify="right")
    for name, info in type(metrics).model_fields.items():
        if name == "task_accuracy_by_task":
            continue
        value = getattr(metrics, name)
        base_value = getattr(base, name) if base is not None else None
        if value is None and base_value is None:
            continue
        cells = [info.alias or name, "-" if value is None else f"{value:.4f}"]
        if base is not None:
            cells.append("-" if base_value is None else f"{base_value:.4f}")
        table.add_row(*cells)
    tasks = sorted(set(metrics.task_accuracy_by_task) | set(base.task_accuracy_by_task if base else {}))
    for task in tasks:
        cells = [f"  accuracy {task}", f"{metrics.task_accuracy_by_task.get(task, float('nan')):.3f}"]
        if base is not None:
            cells.append(f"{base.task_accuracy_by_task.get(task, float('nan')):.3f}")
        table.add_row(*cells)
    return table


@app.command("train")
def train_command(
    config: Annotated[
        Path, typer.Option("--config", "-c", help="FineTuneJob YAML/JSON: a whole object or its spec.")
    ],
    output: Annotated[
        Path, typer.Option("--output", "-o", help="Output directory (resumes if it holds checkpoints).")
    ],
) -> None:
    """Fine-tune a model as a FineTuneJob spec says: dataset, SFT, merge, evaluation, result.

    Writes adapter/, merged/, metrics.json, train_log.jsonl and samples to OUTPUT, and the
    compact result to $TRADETUNE_RESULT_PATH (default /dev/termination-log) for the operator.
    """
    import json
    import sys

    from rich.console import Console

    from tradetune.api import TrainResult, load_finetunejob
    from tradetune.errors import TradeTuneError
    from tradetune.progress import default_progress
    from tradetune.training import train, write_termination_message

    try:
        job = load_finetunejob(config)
    except TradeTuneError as exc:
        # The operator still needs a reason in the termination message.
        write_termination_message(TrainResult(outcome="Failed", reason=exc.reason, message=exc.message))
        raise
    progress = default_progress()
    result = train(job.spec, output, progress=progress, uid=job.metadata.uid)
    if sys.stdout.isatty() and result.metrics is not None:
        Console().print(
            _metrics_table(result.metrics, result.base_metrics, f"{job.metadata.name}: {result.message}")
        )
        Console().print(f"outputs in {output}")
    else:
        print(json.dumps({"event": "result", **json.loads(result.to_termination_message())}))


def _quiet_progress() -> ProgressSink:
    from tradetune.progress import NullProgress

    return NullProgress()


@app.command("evaluate")
def evaluate_command(  # noqa: PLR0917  (typer maps each option to a parameter)
    model: Annotated[Path, typer.Option("--model", "-m", help="Model directory (e.g. OUTPUT/merged).")],
    data: Annotated[Path, typer.Option("--data", "-d", help="JSONL test file (dataset records).")],
    base: Annotated[
        Path | None, typer.Option("--base", help="Base model directory, evaluated on the same items.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the metrics as JSON.")] = False,
    output: Annotated[
        Path, typer.Option("--output", "-o", help="Where samples.jsonl/.csv and evaluation.json go.")
    ] = Path("evaluation"),
    samples: Annotated[int, typer.Option(min=0, help="Items kept for human rating.")] = 100,
    max_items: Annotated[
        int | None, typer.Option("--max-items", min=1, help="Evaluate a random subset.")
    ] = None,
    max_new_tokens: Annotated[int, typer.Option("--max-new-tokens", min=1, help="Generation limit.")] = 256,
    batch_size: Annotated[int, typer.Option("--batch-size", min=1, help="Sequences per forward pass.")] = 8,
    seed: Annotated[int, typer.Option(help="Seed of the item subset and the sample.")] = 0,
) -> None:
    """Evaluate a model: perplexity, PineScript syntax and parse rate, task accuracy, samples."""
    import json

    from rich.console import Console

    from tradetune.atomic import write_atomic
    from tradetune.errors import InvalidInput
    from tradetune.evaluation import EvalOptions, evaluate
    from tradetune.progress import default_progress

    try:
        output.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InvalidInput(f"--output {output}: cannot create ({exc.strerror or exc})") from None
    options = EvalOptions(
        samples=samples, max_items=max_items, max_new_tokens=max_new_tokens, batch_size=batch_size, seed=seed
    )
    progress = _quiet_progress() if as_json else default_progress()
    report = evaluate(model, data, base=base, options=options, output=output, progress=progress)
    doc: dict[str, Any] = {
        "items": report.items,
        "metrics": report.metrics.model_dump(by_alias=True, exclude_none=True),
    }
    if report.base_metrics is not None:
        doc["baseMetrics"] = report.base_metrics.model_dump(by_alias=True, exclude_none=True)
    if report.samples_path is not None:
        doc["samples"] = str(report.samples_path)
    write_atomic(output / "evaluation.json", (json.dumps(doc, indent=2) + "\n").encode())
    if as_json:
        print(json.dumps(doc))
        return
    Console().print(_metrics_table(report.metrics, report.base_metrics, f"{model} on {report.items} items"))
    if report.samples_path is not None:
        Console().print(f"samples for rating: {report.samples_path} (and .csv; scale in samples.md)")
