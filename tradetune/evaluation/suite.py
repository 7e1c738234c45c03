"""The evaluation suite: one model (and optionally its base) on the same test items.

Steps per model: perplexity over the response and the full text (one batched pass), greedy
generation for the items that need it (PineScript-writing, computed-answer and sampled
items only: generation is the expensive part), then PineScript checks (string checks, parse,
v5 semantic check, in checker processes with a time bound per program) and task accuracy.
The base model runs through exactly the same code on exactly the same items, so the gain
reported is the model's, not the harness's.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tradetune.api import EvalMetrics
from tradetune.errors import InvalidInput
from tradetune.evaluation.accuracy import is_computed, task_accuracy
from tradetune.evaluation.generate import generate
from tradetune.evaluation.perplexity import encode_records, score
from tradetune.evaluation.pine import PINE_TASKS, pine_report
from tradetune.evaluation.samples import pick_samples, sample_rows, write_samples
from tradetune.progress import NullProgress, ProgressSink, quiet_libraries
from tradetune.records import read_jsonl

Record = Mapping[str, Any]


@dataclass(frozen=True)
class EvalOptions:
    """How much to evaluate and how."""

    samples: int = 100
    max_items: int | None = None
    max_new_tokens: int = 256
    batch_size: int = 8
    max_length: int = 1024
    seed: int = 0
    pine_workers: int | None = None  # checker processes (None: up to 4, by CPU count)
    pine_timeout_s: float = 60.0  # per program; past it the program counts as invalid (PINE-E002)


@dataclass
class ModelEvaluation:
    """Metrics of one model and its generations by item index."""

    metrics: EvalMetrics
    generations: dict[int, str] = field(default_factory=dict)


@dataclass
class EvaluationReport:
    """The tuned model's (and optionally the base's) results on the same items."""

    metrics: EvalMetrics
    base_metrics: EvalMetrics | None
    items: int
    samples_path: Path | None
    sample_rows: list[dict[str, Any]]


def select_items(records: Sequence[Record], max_items: int | None, seed: int = 0) -> list[Record]:
    """All records, or a reproducible random subset of `max_items` in their original order."""
    if max_items is None or max_items >= len(records):
        return list(records)
    keep = sorted(random.Random(seed).sample(range(len(records)), max_items))
    return [records[i] for i in keep]


def generation_indices(records: Sequence[Record], sample_indices: Sequence[int]) -> list[int]:
    """Items that need a generation: PineScript-writing, computed-answer and sampled ones."""
    wanted = set(sample_indices)
    for i, r in enumerate(records):
        if r.get("task") in PINE_TASKS or is_computed(r):
            wanted.add(i)
    return sorted(wanted)


def load_model(
    model: str | Path,
    *,
    token: str | None = None,
    revision: str | None = None,
    dtype: str = "float32",
    device: str = "cpu",
) -> tuple[Any, Any]:
    """A model for evaluation (never quantised) and its tokenizer; InvalidInput when it is not a model."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    quiet_libraries()
    kwargs: dict[str, Any] = {"token": token} if token else {}
    if revision is not None:
        kwargs["revision"] = revision
    try:
        tokenizer = AutoTokenizer.from_pretrained(str(model), **kwargs)
        loaded = AutoModelForCausalLM.from_pretrained(str(model), dtype=dtype, device_map=device, **kwargs)
    except (OSError, ValueError, KeyError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InvalidInput(f"{model}: not a loadable model ({first})", reason="InvalidBaseModel") from None
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    return loaded, tokenizer


def evaluate_loaded(
    model: Any,
    tokenizer: Any,
    records: Sequence[Record],
    *,
    gen_indices: Sequence[int],
    options: EvalOptions,
    validation: Sequence[Record] | None = None,
    progress: ProgressSink | None = None,
    label: str = "model",
) -> ModelEvaluation:
    """Every metric of one loaded model on `records` (and eval loss on `validation`)."""
    sink = progress or NullProgress()
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id

    def counter() -> Any:
        done = 0

        def on_batch(n: int) -> None:
            nonlocal done
            done += n
            sink.advance(done)

        return on_batch

    sink.phase(f"perplexity ({label})", total=len(records))
    items = encode_records(tokenizer, records, max_length=options.max_length)
    sums = score(model, items, pad_id=pad_id, batch_size=options.batch_size, on_batch=counter())
    eval_loss = None
    if validation:
        sink.phase(f"validation loss ({label})", total=len(validation))
        val_items = encode_records(tokenizer, validation, max_length=options.max_length)
        eval_loss = score(
            model, val_items, pad_id=pad_id, batch_size=options.batch_size, on_batch=counter()
        ).response_loss

    sink.phase(f"generation ({label})", total=len(gen_indices))
    texts = generate(
        model,
        tokenizer,
        [records[i]["instruction"] for i in gen_indices],
        max_new_tokens=options.max_new_tokens,
        batch_size=max(1, options.batch_size * 2),
        seed=options.seed,
        on_batch=counter(),
    )
    generations = dict(zip(gen_indices, texts, strict=True))
    pine = [generations[i] for i in gen_indices if records[i].get("task") in PINE_TASKS]
    sink.phase(f"PineScript check ({label})", total=len(pine))
    checked = pine_report(
        pine, workers=options.pine_workers, timeout_s=options.pine_timeout_s, on_done=sink.advance
    )
    computed = [i for i in gen_indices if is_computed(records[i])]
    acc = task_accuracy([records[i] for i in computed], [generations[i] for i in computed])
    metrics = EvalMetrics(
        perplexity=sums.perplexity,
        full_text_perplexity=sums.full_text_perplexity,
        eval_loss=eval_loss,
        pine_syntax_score=checked.syntax_score,
        pine_parse_rate=checked.parse_rate,
        pine_valid_rate=checked.valid_rate,
        task_accuracy=acc.overall,
        task_accuracy_by_task=acc.by_task,
    )
    return ModelEvaluation(metrics=metrics, generations=generations)


def evaluate_records(
    records: Sequence[Record],
    model: str | Path,
    *,
    base: str | Path | None = None,
    options: EvalOptions | None = None,
    validation: Sequence[Record] | None = None,
    output: Path | None = None,
    progress: ProgressSink | None = None,
    load: Any = load_model,
) -> EvaluationReport:
    """Evaluate `model` (and `base`, on the same items) and write the samples to `output`."""
    opts = options or EvalOptions()
    items = select_items(records, opts.max_items, opts.seed)
    if not items:
        raise InvalidInput("there are no items to evaluate", reason="DatasetInvalid")
    sample_idx = pick_samples(len(items), opts.samples, seed=opts.seed)
    gen_idx = generation_indices(items, sample_idx)

    def run(path: str | Path, label: str) -> ModelEvaluation:
        loaded, tokenizer = load(path)
        try:
            return evaluate_loaded(
                loaded,
                tokenizer,
                items,
                gen_indices=gen_idx,
                options=opts,
                validation=validation,
                progress=progress,
                label=label,
            )
        finally:
            del loaded

    tuned = run(model, "tuned" if base is not None else "model")
    base_eval = run(base, "base") if base is not None else None
    rows = sample_rows(items, sample_idx, tuned.generations, base_eval.generations if base_eval else None)
    samples_path = write_samples(rows, output) if output is not None and rows else None
    return EvaluationReport(
        metrics=tuned.metrics,
        base_metrics=base_eval.metrics if base_eval else None,
        items=len(items),
        samples_path=samples_path,
        sample_rows=rows,
    )


def evaluate(
    model: str | Path,
    data: Path | Sequence[Record],
    *,
    base: str | Path | None = None,
    options: EvalOptions | None = None,
    output: Path | None = None,
    progress: ProgressSink | None = None,
) -> EvaluationReport:
    """Evaluate a model directory on a JSONL file (or records); `base` is evaluated the same way."""
    records = read_jsonl(Path(data)) if isinstance(data, str | Path) else list(data)
    return evaluate_records(records, model, base=base, options=options, output=output, progress=progress)
