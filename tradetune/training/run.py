"""`train()`: one FineTuneJob spec to a fine-tuned model, honest metrics and a TrainResult.

dataset → base model → SFT (resume, OOM recovery) → adapter → merged model → evaluation →
metrics.json + termination message. Whatever fails, the edge of `train()` turns it into a
`Failed` TrainResult with a CamelCase reason, written to the same two places, so the operator
always has something to show; the error is then raised again for the CLI to report.
"""

from __future__ import annotations

import contextlib
import functools
import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tradetune.api import Artifacts, TrainResult
from tradetune.errors import InvalidInput, RuntimeFailure, TradeTuneError, require
from tradetune.progress import NullProgress, ProgressSink
from tradetune.training.data import materialise, to_prompt_completion
from tradetune.training.merge import merge_adapter, save_full_model, save_tokenizer
from tradetune.training.plan import Precision, evaluation_options, resolve_precision
from tradetune.training.result import load_state, save_state, write_metrics, write_termination_message
from tradetune.training.run_key import forget_other_runs, run_key
from tradetune.training.sft import run_sft

if TYPE_CHECKING:
    from tradetune.api import FineTuneJobSpec

TOKEN_ENV = "HF_TOKEN"


class _Timer:
    def __init__(self) -> None:
        self.timings: dict[str, float] = {}
        self._start = time.monotonic()

    def lap(self, name: str, since: float) -> float:
        now = time.monotonic()
        self.timings[name] = round(now - since, 3)
        return now

    def total(self) -> None:
        self.timings["total"] = round(time.monotonic() - self._start, 3)


def check_output_writable(output: Path) -> None:
    """Fail fast (before an hour of training) when the output directory cannot be written."""
    try:
        output.mkdir(parents=True, exist_ok=True)
        probe = output / ".write-test"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise InvalidInput(
            f"output directory {output} is not writable: {exc.strerror or exc}", reason="OutputNotWritable"
        ) from None


def load_tokenizer(base: str, *, revision: str | None, token: str | None) -> Any:
    """The base model's tokenizer, checked to be a causal-LM model; InvalidBaseModel otherwise."""
    from transformers import AutoConfig, AutoTokenizer

    kwargs: dict[str, Any] = {}
    if revision is not None:
        kwargs["revision"] = revision
    if token:
        kwargs["token"] = token
    try:
        AutoConfig.from_pretrained(base, **kwargs)
        tokenizer = AutoTokenizer.from_pretrained(base, **kwargs)
    except (OSError, ValueError, KeyError) as exc:
        detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InvalidInput(
            f"spec.baseModel: {base} is not a loadable model ({detail})", reason="InvalidBaseModel"
        ) from None
    if tokenizer.eos_token is None:
        raise InvalidInput(f"spec.baseModel: {base} has no EOS token", reason="InvalidBaseModel")
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    tokenizer.padding_side = "right"
    return tokenizer


def check_quantization(device: str) -> None:
    """Quantise a small matrix to 4 bits on the training device: QuantizationUnavailable if that fails."""
    try:
        import bitsandbytes.functional as bnbf
        import torch

        weight = torch.randn(64, 64, device=device)
        packed, quant_state = bnbf.quantize_4bit(weight, quant_type="nf4")
        bnbf.dequantize_4bit(packed, quant_state)
    except Exception as exc:
        raise RuntimeFailure(
            f"method qlora needs bitsandbytes 4-bit on {device}, which cannot load here "
            f"({type(exc).__name__}: {exc}); use method lora",
            reason="QuantizationUnavailable",
        ) from None


def _device_facts() -> tuple[bool, bool]:
    import torch

    cuda = torch.cuda.is_available()
    return cuda, bool(cuda and torch.cuda.is_bf16_supported())


def _train(
    spec: FineTuneJobSpec,
    output: Path,
    *,
    progress: ProgressSink,
    callbacks: Sequence[Any],
    timer: _Timer,
    counters: dict[str, Any],
    key: str,
) -> TrainResult:
    from tradetune.evaluation.suite import evaluate_records, load_model

    check_output_writable(output)
    state = load_state(output)
    counters["state"] = state
    t = time.monotonic()

    progress.phase("dataset")
    splits = materialise(spec.dataset, output / "data")
    forget_other_runs(output, state, fingerprint=splits.fingerprint, key=key)
    t = timer.lap("dataset", t)

    base = require(spec.base_model.path or spec.base_model.name, "spec.baseModel.path or name")
    token = os.environ.get(TOKEN_ENV) if spec.base_model.name else None
    revision = spec.base_model.revision if spec.base_model.name else None
    progress.phase("load")
    tokenizer = load_tokenizer(base, revision=revision, token=token)
    cuda, bf16_ok = _device_facts()
    precision: Precision = resolve_precision(spec, cuda=cuda, bf16_supported=bf16_ok)
    if spec.method == "qlora":
        check_quantization(precision.device)
    t = timer.lap("load", t)

    outcome = run_sft(
        spec,
        base=base,
        tokenizer=tokenizer,
        train_rows=to_prompt_completion(splits.train, tokenizer.eos_token),
        val_rows=to_prompt_completion(splits.validation, tokenizer.eos_token),
        output=output,
        precision=precision,
        token=token,
        state=state,
        progress=progress,
        callbacks=callbacks,
    )
    counters["oom"] = outcome.oom_recoveries
    t = timer.lap("train", t)

    progress.phase("save")
    adapter_dir = output / "adapter"
    merged_dir = output / "merged"
    load_kwargs: dict[str, Any] = {}
    if revision is not None:
        load_kwargs["revision"] = revision
    if token:
        load_kwargs["token"] = token
    if spec.method == "full":
        save_full_model(outcome.trainer.model, merged_dir, tokenizer)
        adapter_rel = None
    else:
        from tradetune.atomic import replace_dir, temp_dir_for

        tmp = temp_dir_for(adapter_dir)
        outcome.trainer.save_model(str(tmp))
        save_tokenizer(tokenizer, tmp)
        replace_dir(tmp, adapter_dir)
        adapter_rel = "adapter"
    outcome.trainer = None
    import gc

    gc.collect()
    if spec.method != "full":
        progress.phase("merge")
        merge_adapter(
            base,
            adapter_dir,
            merged_dir,
            tokenizer,
            dtype=precision.load_dtype,
            device="cpu" if precision.device == "cpu" else "cuda",
            load_kwargs=load_kwargs,
        )
    t = timer.lap("merge", t)

    ev = spec.evaluation
    options = evaluation_options(spec)
    load = functools.partial(
        load_model,
        token=token,
        dtype=precision.load_dtype,
        device="cpu" if precision.device == "cpu" else "cuda",
    )

    def load_any(path: str | Path) -> tuple[Any, Any]:
        return load(path, revision=revision if str(path) == base else None)

    report = evaluate_records(
        splits.test,
        merged_dir,
        base=base if ev.compare_to_base else None,
        options=options,
        validation=splits.validation,
        output=output,
        progress=progress,
        load=load_any,
    )
    timer.lap("evaluate", t)
    metrics = report.metrics.model_copy(update={"train_loss": outcome.train_loss})
    timer.total()
    return TrainResult(
        outcome="Succeeded",
        reason="Completed",
        message=(
            f"trained {outcome.global_step} steps"
            + (f", resumed from {outcome.resumed_from}" if outcome.resumed_from else "")
            + f"; evaluated {report.items} test items"
        ),
        metrics=metrics,
        base_metrics=report.base_metrics,
        artifacts=Artifacts(
            adapter=adapter_rel,
            merged="merged",
            dataset_fingerprint=splits.fingerprint,
            samples="samples.jsonl" if report.samples_path else None,
            metrics_file="metrics.json",
        ),
        timings=dict(timer.timings),
        attempts=state.attempts,
        oom_recoveries=list(outcome.oom_recoveries),
    )


def failure_result(
    exc: BaseException, *, attempts: int, oom: list[str], timings: dict[str, float]
) -> TrainResult:
    """The Failed TrainResult for an error, with a CamelCase reason the operator can show."""
    import torch

    if isinstance(exc, TradeTuneError):
        reason, message = exc.reason, exc.message
    elif isinstance(exc, torch.OutOfMemoryError):
        reason, message = "OutOfMemory", f"out of memory outside training: {str(exc).splitlines()[0]}"
    else:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        reason, message = "TrainingFailed", f"{type(exc).__name__}: {first}".rstrip(": ")
    return TrainResult(
        outcome="Failed",
        reason=reason,
        message=message,
        attempts=attempts,
        oom_recoveries=oom,
        timings=timings,
    )


def train(
    spec: FineTuneJobSpec,
    output: Path,
    *,
    progress: ProgressSink | None = None,
    callbacks: Sequence[Any] = (),
    result_path: str | None = None,
    raise_on_failure: bool = True,
    uid: str | None = None,
) -> TrainResult:
    """Run a FineTuneJob spec into `output`; returns the TrainResult (also in metrics.json).

    On failure the Failed TrainResult is written to metrics.json (when the directory is
    writable) and to the termination message, then the error is raised again as a
    TradeTuneError (unknown errors become RuntimeFailure with reason TrainingFailed) unless
    `raise_on_failure` is false, in which case the Failed result is returned.
    `callbacks` are extra transformers TrainerCallbacks (used by tests to inject faults).
    `uid` is the FineTuneJob's uid: with the result-changing spec fields it decides whether
    checkpoints in `output` belong to this run (run_key.py).
    """
    sink = progress or NullProgress()
    timer = _Timer()
    counters: dict[str, Any] = {}
    output = Path(output)
    try:
        key = run_key(spec, uid)
        result = _train(
            spec, output, progress=sink, callbacks=callbacks, timer=timer, counters=counters, key=key
        )
    except (Exception, KeyboardInterrupt) as exc:
        timer.total()
        state = counters.get("state")
        result = failure_result(
            exc,
            attempts=state.attempts if state is not None else 0,
            oom=list(state.oom_recoveries if state is not None else counters.get("oom", [])),
            timings=dict(timer.timings),
        )
        if result.reason != "OutputNotWritable":
            with contextlib.suppress(OSError):
                write_metrics(output, result)
        write_termination_message(result, result_path)
        if state is not None:
            with contextlib.suppress(OSError):
                save_state(output, state)
        if isinstance(exc, KeyboardInterrupt):
            raise
        if raise_on_failure:
            if isinstance(exc, TradeTuneError):
                raise
            raise RuntimeFailure(result.message, reason=result.reason) from exc
        return result
    finally:
        sink.close()
    write_metrics(output, result)
    write_termination_message(result, result_path)
    return result
