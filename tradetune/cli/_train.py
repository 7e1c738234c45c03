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
    from tradetune.progress import default_progress, event_line
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
        from tradetune.metrics_table import metrics_table

        Console().print(
            metrics_table(result.metrics, result.base_metrics, title=f"{job.metadata.name}: {result.message}")
        )
        Console().print(f"outputs in {output}")
    else:
        print(event_line("result", json.loads(result.to_termination_message())))


def _quiet_progress() -> ProgressSink:
    from tradetune.progress import NullProgress

    return NullProgress()


@app.command("evaluate")
def evaluate_command(  # noqa: PLR0917  (typer maps each option to a parameter)
    data: Annotated[Path, typer.Option("--data", "-d", help="JSONL test file (dataset records).")],
    model: Annotated[
        str | None,
        typer.Option(
            "--model",
            "-m",
            help=(
                "Model directory (e.g. OUTPUT/merged); with --endpoint, the served model name "
                "(default: the server's first model)."
            ),
        ),
    ] = None,
    endpoint: Annotated[
        str | None,
        typer.Option(
            "--endpoint",
            help=(
                "Evaluate a live OpenAI-compatible server at this URL (e.g. http://host:8000) "
                "instead of a model directory."
            ),
        ),
    ] = None,
    api_key_env: Annotated[
        str | None,
        typer.Option(
            "--api-key-env",
            help="Environment variable holding the endpoint's API key (never the key itself).",
        ),
    ] = None,
    concurrency: Annotated[
        int, typer.Option("--concurrency", min=1, max=256, help="Requests in flight against the endpoint.")
    ] = 4,
    api: Annotated[
        str,
        typer.Option(
            "--api",
            help="Endpoint route for generation: completions (training prompt) or chat (chat template).",
        ),
    ] = "completions",
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
    """Evaluate a model: perplexity, PineScript syntax and parse rate, task accuracy, samples.

    With --endpoint the same suite runs against a live server (vLLM or any OpenAI-compatible
    one) and writes the same JSON; inside a pod the result also goes to the termination message.
    """
    import json

    from rich.console import Console

    from tradetune.atomic import write_atomic
    from tradetune.errors import InvalidInput
    from tradetune.evaluation import EvalOptions, evaluate
    from tradetune.progress import default_progress

    if endpoint is None and model is None:
        raise InvalidInput("--model: give a model directory, or --endpoint URL to evaluate a live server")
    if endpoint is not None and base is not None:
        raise InvalidInput(
            "--base: not available with --endpoint; evaluate the other endpoint in its own run"
        )
    if api not in {"completions", "chat"}:
        raise InvalidInput(f"--api {api}: use completions or chat")
    try:
        output.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InvalidInput(f"--output {output}: cannot create ({exc.strerror or exc})") from None
    options = EvalOptions(
        samples=samples, max_items=max_items, max_new_tokens=max_new_tokens, batch_size=batch_size, seed=seed
    )
    progress = _quiet_progress() if as_json else default_progress()
    if endpoint is not None:
        report = _evaluate_endpoint(
            data, endpoint, model, api_key_env, concurrency, api, options, output, progress
        )
    else:
        report = evaluate(
            Path(str(model)), data, base=base, options=options, output=output, progress=progress
        )
    doc: dict[str, Any] = {
        "items": report.items,
        "metrics": report.metrics.model_dump(by_alias=True, exclude_none=True),
    }
    if report.base_metrics is not None:
        doc["baseMetrics"] = report.base_metrics.model_dump(by_alias=True, exclude_none=True)
    if report.samples_path is not None:
        doc["samples"] = str(report.samples_path)
    if endpoint is not None:
        doc["endpoint"] = endpoint
    write_atomic(output / "evaluation.json", (json.dumps(doc, indent=2) + "\n").encode())
    if as_json:
        print(json.dumps(doc))
        return
    from tradetune.metrics_table import metrics_table

    title = f"{endpoint or model} on {report.items} items"
    Console().print(metrics_table(report.metrics, report.base_metrics, title=title))
    if report.samples_path is not None:
        Console().print(f"samples for rating: {report.samples_path} (and .csv; scale in samples.md)")


def _evaluate_endpoint(  # noqa: PLR0917
    data: Path,
    url: str,
    model: str | None,
    api_key_env: str | None,
    concurrency: int,
    api: str,
    options: Any,
    output: Path,
    progress: ProgressSink,
) -> Any:
    """Evaluate a live server; the result (or the failure) also goes to the termination message."""
    import os

    from tradetune.api import TrainResult
    from tradetune.errors import InvalidInput, TradeTuneError
    from tradetune.evaluation import Endpoint, evaluate_endpoint
    from tradetune.records import read_jsonl
    from tradetune.training import write_termination_message

    try:
        key = None
        if api_key_env is not None:
            key = os.environ.get(api_key_env)
            if not key:
                raise InvalidInput(
                    f"--api-key-env {api_key_env}: that environment variable is not set or empty"
                )
        target = Endpoint(url=url, model=model, api_key=key, concurrency=concurrency, api=api)  # type: ignore[arg-type]
        report = evaluate_endpoint(
            read_jsonl(data), target, options=options, output=output, progress=progress
        )
    except TradeTuneError as exc:
        write_termination_message(TrainResult(outcome="Failed", reason=exc.reason, message=exc.message))
        raise
    write_termination_message(
        TrainResult(
            outcome="Succeeded", reason="Evaluated", message=f"{report.items} items", metrics=report.metrics
        )
    )
    return report
