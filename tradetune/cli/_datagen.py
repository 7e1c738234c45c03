"""CLI commands: generate, dataset split/stats/convert (thin shells over tradetune.datagen)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich import box
from rich.console import Console
from rich.table import Table

from tradetune.cli._app import app, dataset_app
from tradetune.errors import InvalidInput

PROGRESS_THRESHOLD = 10_000
# The task ids for --help, kept in step with tradetune.datagen.TASKS by a test.
_TASK_IDS = (
    "pine_strategy, pine_indicator, pine_repair, candlestick_knowledge, pattern_recognition, candle_reading, "
    "indicator_math, position_sizing, backtest_stats, market_structure, strategy_explanation"
)


def _whole(value: str, flag: str, *, minimum: int | None = 1) -> int:
    """Parse a whole number ourselves so bad input gets one line and exit 2, not a usage box."""
    text = value.strip().replace("_", "")
    try:
        number = int(text)
    except ValueError:
        raise InvalidInput(f"{flag}: must be a whole number, got {value!r}") from None
    if minimum is not None and number < minimum:
        raise InvalidInput(f"{flag}: must be at least {minimum}, got {number}")
    return number


def _task_list(tasks: list[str] | None) -> list[str] | None:
    """`--task a --task b` and `--task a,b` both work."""
    if not tasks:
        return None
    out = [t.strip() for item in tasks for t in item.split(",") if t.strip()]
    return out or None


@contextmanager
def _progress(total: int, label: str) -> Iterator[Callable[[int], None]]:
    """A rich progress bar on stderr for big jobs; a no-op callback for small ones."""
    if total <= PROGRESS_THRESHOLD:
        yield lambda n: None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=False,
    ) as progress:
        task_id = progress.add_task(label, total=total)
        yield lambda n: progress.update(task_id, completed=n)


@app.command()
def generate(
    size: Annotated[
        str, typer.Option("--size", metavar="N", help="Exact number of records (a whole number >= 1).")
    ],
    output: Annotated[
        Path, typer.Option("--output", "-o", help="JSONL file to write (missing directories are created).")
    ],
    seed: Annotated[
        str,
        typer.Option("--seed", metavar="S", help="Random seed; same arguments give byte-identical output."),
    ] = "42",
    fmt: Annotated[
        str,
        typer.Option(
            "--format",
            metavar="alpaca|openai|autotrain",
            help="alpaca (instruction/response records), openai (messages) or autotrain (one `text` column).",
        ),
    ] = "alpaca",
    task: Annotated[
        list[str] | None,
        typer.Option(
            "--task",
            metavar="T",
            help=f"Only these task ids (repeat or comma-separate): {_TASK_IDS}. Default: all.",
        ),
    ] = None,
) -> None:
    """Generate a trading instruction dataset (JSONL) from synthetic markets and PineScript templates."""
    from tradetune.datagen import FORMATS, generate_records, write_jsonl

    n = _whole(size, "--size")
    s = _whole(seed, "--seed", minimum=None)
    if fmt not in FORMATS:
        raise InvalidInput(f"--format: unknown format {fmt!r}; choose from {', '.join(FORMATS)}")
    records = generate_records(n, s, _task_list(task))
    with _progress(n, "generating") as on_record:
        written = write_jsonl(records, output, fmt, on_record=on_record)
    Console(stderr=True).print(f"wrote {written:,} records to {output}", highlight=False)


@dataset_app.command("split")
def split(  # noqa: PLR0917 - typer maps options to parameters
    out: Annotated[
        Path, typer.Option("--out", help="Directory for train.jsonl, val.jsonl, test.jsonl, manifest.json.")
    ],
    train: Annotated[str, typer.Option("--train", metavar="N", help="Training records.")] = "10000",
    val: Annotated[str, typer.Option("--val", metavar="N", help="Validation records.")] = "1000",
    test: Annotated[str, typer.Option("--test", metavar="N", help="Test records.")] = "1000",
    seed: Annotated[str, typer.Option("--seed", metavar="S", help="Random seed.")] = "42",
    fmt: Annotated[
        str,
        typer.Option("--format", metavar="alpaca|openai|autotrain", help="alpaca, openai or autotrain."),
    ] = "alpaca",
    task: Annotated[
        list[str] | None,
        typer.Option("--task", metavar="T", help="Only these task ids (repeat or comma-separate)."),
    ] = None,
) -> None:
    """Write leak-free train/val/test splits from one seed (no instruction in two splits) and a manifest."""
    from tradetune.datagen import FORMATS, plan_split, split_dataset

    sizes = [_whole(train, "--train"), _whole(val, "--val"), _whole(test, "--test")]
    s = _whole(seed, "--seed", minimum=None)
    if fmt not in FORMATS:
        raise InvalidInput(f"--format: unknown format {fmt!r}; choose from {', '.join(FORMATS)}")
    plan_split(sizes[0], sizes[1], sizes[2], s, _task_list(task))  # refuse before a progress bar appears
    with _progress(sum(sizes), "splitting") as on_record:
        manifest = split_dataset(
            out, sizes[0], sizes[1], sizes[2], s, _task_list(task), fmt=fmt, on_record=on_record
        )
    table = Table(title=f"{out} (seed {s}, generator {manifest['generator_version']})")
    table.add_column("split")
    table.add_column("records", justify="right")
    table.add_column("sha256")
    for name, info in manifest["splits"].items():
        table.add_row(name, f"{info['records']:,}", info["sha256"][:16] + "…")
    console = Console()
    console.print(table)
    ov = manifest["overlap"]
    console.print(
        f"instruction overlap: train/val {ov['train_val']}, train/test {ov['train_test']}, val/test "
        f"{ov['val_test']}",
        highlight=False,
    )
    if fmt == "autotrain":
        console.print(autotrain_hint(out, "train"), highlight=False, soft_wrap=True)


@dataset_app.command("stats")
def stats(
    path: Annotated[Path, typer.Argument(help="A JSONL dataset (alpaca, openai or autotrain lines).")],
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the statistics as JSON instead of a table.")
    ] = False,
) -> None:
    """Records per task, length percentiles, the duplicate rate, and items with several valid answers."""
    from tradetune.datagen import compute_stats
    from tradetune.records import iter_jsonl

    result = compute_stats(iter_jsonl(path))
    if result.total.records == 0:
        raise InvalidInput(f"PATH: {str(path)!r} holds no records")
    if as_json:
        typer.echo(json.dumps(result.to_dict(), indent=2))
        return
    table = Table(title=f"{path}: {result.total.records:,} records", box=box.SIMPLE_HEAD, padding=(0, 1))
    table.add_column("task", no_wrap=True)
    table.add_column("records", justify="right")
    for unit in ("chars", "tokens"):
        for q in ("p50", "p90", "p99"):
            table.add_column(f"{unit}\n{q}", justify="right")
    table.add_column("several\nanswers", justify="right")
    rows = [*sorted(result.by_task.items()), ("all", result.total)]
    for i, (name, ts) in enumerate(rows):
        summary = ts.summary()
        cells = [str(summary[u][q]) for u in ("chars", "tokens") for q in ("p50", "p90", "p99")]
        several = f"{ts.multi_answer:,}" + (" !" if name in result.undeclared_multi_answer_tasks else "")
        table.add_row(name, f"{summary['records']:,}", *cells, several, end_section=i == len(rows) - 2)
    console = Console()
    console.print(table)
    if result.total.multi_answer:
        declared = sorted(k for k, v in result.by_task.items() if v.multi_answer and v.multi_answer_declared)
        console.print(
            f"several answers: {result.total.multi_answer:,} items accept more than one answer (meta.answer "
            f"is a list; the grader accepts any of them). Declared by: {', '.join(declared) or 'none'}.",
            highlight=False,
        )
    if result.undeclared_multi_answer_tasks:
        console.print(
            "[red]not declared (!):[/red] "
            + ", ".join(result.undeclared_multi_answer_tasks)
            + " - these tasks' families do not say they make multi-answer items; check the generator.",
            highlight=False,
        )
    console.print(
        f"duplicate rate: {result.duplicate_rate:.2%} ({result.duplicate_instructions:,} repeated "
        "instructions, "
        f"{result.duplicate_records:,} repeated records). Lengths: instruction + response; max and more "
        "with --json.",
        highlight=False,
    )


@dataset_app.command("convert")
def convert(
    path: Annotated[Path, typer.Argument(help="A JSONL dataset (alpaca, openai or autotrain lines).")],
    to: Annotated[
        str,
        typer.Option(
            "--to",
            metavar="alpaca|openai|autotrain",
            help="Target format: alpaca (our records), openai (chat messages) or autotrain (one `text` "
            "column in the prompt format).",
        ),
    ],
    output: Annotated[Path, typer.Option("--output", "-o", help="File to write (directories are created).")],
) -> None:
    """Convert a dataset between our records (alpaca), OpenAI chat and AutoTrain's text column."""
    from tradetune.datagen import FORMATS, write_jsonl
    from tradetune.records import iter_jsonl

    if to not in FORMATS:
        raise InvalidInput(f"--to: unknown format {to!r}; choose from {', '.join(FORMATS)}")
    if path.resolve() == output.resolve():
        raise InvalidInput("--output: must differ from the input PATH")
    written = write_jsonl(iter_jsonl(path), output, to)
    err = Console(stderr=True)
    err.print(f"wrote {written:,} records to {output}", highlight=False)
    if to == "autotrain":
        err.print(autotrain_hint(output.parent, output.stem), highlight=False, soft_wrap=True)


def autotrain_hint(data_dir: Path, split: str) -> str:
    """The AutoTrain command line that trains on what we wrote (the guide's, with the right column).

    The guide's `--text-column instruction` trains on the questions alone; `text` holds the whole
    example in the one prompt format, so a model trained this way answers our prompts.
    """
    return (
        "train it with AutoTrain:\n"
        f"  autotrain llm --train --model meta-llama/Llama-2-7b-hf --project-name tradetune-autotrain "
        f"--data-path {data_dir} --train-split {split} --text-column text --lr 2e-4 --batch-size 4 "
        "--epochs 3 --trainer sft --peft --quantization int4"
    )
