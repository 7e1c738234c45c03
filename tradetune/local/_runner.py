"""`tradetune run`: a FineTuneJob on this machine, through the same code a cluster runs.

Stages: validate the file → train (the trainer pod's `tradetune.training.train`: dataset,
QLoRA with resume from `<output>/checkpoints`, evaluation) → gate and status
(`tradetune.jobstatus.finetunejob_status`, the operator's mapping) → when the gate passes and
the job asks for promotion, serve the merged model with vLLM (`tradetune.serving`), ask it one
question through the official `openai` client - by default the first item of the job's own test
split, shown beside its reference answer - and keep serving until Ctrl-C.

`<output>/status.yaml` is written at each step in the shape of FineTuneJob.status, so a local
run reads like a cluster run.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tradetune.api import (
    FineTuneJob,
    FineTuneJobStatus,
    TrainResult,
    load_finetunejob,
    rfc3339,
    set_condition,
)
from tradetune.errors import InvalidInput, RuntimeFailure, TradeTuneError, require
from tradetune.jobstatus import Promotion, finetunejob_status
from tradetune.local._files import read_status, write_status
from tradetune.local._learned import families_table, family_scores, grade, learned_sample
from tradetune.local._progress import StatusFileProgress
from tradetune.metrics_table import status_table

# The guide's own inference example: the sample question when the test split has none.
SAMPLE_INSTRUCTION = "Write a PineScript v5 strategy for EMA crossover with 12 and 26 periods"


@dataclass(frozen=True)
class RunOptions:
    """What `tradetune run` was asked to do."""

    file: Path
    output: Path | None = None
    serve: bool = True
    host: str = "127.0.0.1"
    port: int = 8000
    exit_after_sample: bool = False
    ready_timeout: float = 600.0
    sample_instruction: str | None = None  # None: the first item of the job's test split
    status_interval: float = 1.0  # least seconds between two progress writes of status.yaml


@dataclass
class RunReport:
    """The end state of a local run."""

    job: FineTuneJob
    output: Path
    status: FineTuneJobStatus
    sample_answer: str | None = None
    endpoint: str | None = None
    sample_record: Mapping[str, Any] | None = None  # a test item of a family the model learned


def default_output(job: FineTuneJob) -> Path:
    """`runs/<job name>`, relative to the working directory."""
    return Path("runs") / (job.metadata.name or "job")


def _running_status(previous: FineTuneJobStatus | None, generation: int, start: str) -> FineTuneJobStatus:
    conditions = set_condition(
        [], "Ready", False, "Training", "training on this machine", generation=generation, now=start
    )
    return FineTuneJobStatus(
        phase="Running",
        conditions=conditions,
        observed_generation=generation,
        start_time=start,
        attempts=(previous.attempts if previous else 0),
        message="training on this machine",
    )


def _failed_result(output: Path, exc: TradeTuneError | KeyboardInterrupt) -> TrainResult:
    """The trainer's own Failed result (metrics.json) when it wrote one, else one from the error."""
    try:
        result = TrainResult.model_validate_json((output / "metrics.json").read_text(encoding="utf-8"))
        if result.outcome == "Failed":
            return result
    except (OSError, ValueError):
        pass
    if isinstance(exc, KeyboardInterrupt):
        return TrainResult(outcome="Failed", reason="Interrupted", message="interrupted; run again to resume")
    return TrainResult(outcome="Failed", reason=exc.reason, message=exc.message)


def run_job(options: RunOptions, console: Any, progress: Callable[[], Any] | None = None) -> RunReport:
    """Run the job end to end (see the module docstring); raises TradeTuneError on failure.

    A failed gate raises RuntimeFailure (reason GateFailed) after the table and status are out.
    `progress` makes the trainer's progress sink (tradetune.progress), started only when
    training starts, so a bad file never leaves a live display behind.
    """
    job = load_finetunejob(options.file)
    spec = job.spec
    output = options.output or default_output(job)
    generation = job.metadata.generation or 1
    will_serve = options.serve and spec.promote is not None
    if will_serve:
        from tradetune.serving import check_port_free

        check_port_free(options.host, options.port)  # before minutes of training, not after
    try:
        output.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InvalidInput(f"--output {output}: cannot create: {exc.strerror or exc}") from None

    previous = read_status(output)
    start = rfc3339()
    running = _running_status(previous, generation, start)
    write_status(output, running)
    console.print(f"[bold]{job.metadata.name}[/]: training into {output}", highlight=False)

    from tradetune.progress import RecordSink, TeeProgress
    from tradetune.training import train

    live = StatusFileProgress(output, running, min_interval=options.status_interval)
    sink = RecordSink(live)
    try:
        # No termination message locally (os.devnull): metrics.json and status.yaml hold the result.
        result = train(
            spec, output, progress=TeeProgress(progress(), sink) if progress else sink, result_path=os.devnull
        )
    except (TradeTuneError, KeyboardInterrupt) as exc:
        failed = finetunejob_status(
            _failed_result(output, exc), spec, generation=generation, start_time=start
        )
        write_status(output, live.finish(failed))
        raise

    status = live.finish(finetunejob_status(result, spec, generation=generation, start_time=start))
    write_status(output, status)
    console.print(status_table(status))
    items = evaluated_items(output / "data" / "test.jsonl", job)
    scores = family_scores(items, status.metrics, status.base_metrics) if status.metrics else []
    if scores:
        console.print(families_table(scores))
    report = RunReport(job=job, output=output, status=status)
    report.sample_record = learned_sample(items, scores)
    if status.gate is None or not status.gate.passed:
        summary = status.gate.summary if status.gate else "no metrics"
        raise RuntimeFailure(
            f"the tuned model did not pass its gate ({summary}); nothing is served. "
            f"Details: {output / 'status.yaml'}",
            reason="GateFailed",
        )
    if spec.promote is None:
        console.print("gate passed; the job asks for no promotion, so nothing is served.")
        return report
    if not options.serve:
        status = finetunejob_status(
            result,
            spec,
            generation=generation,
            start_time=start,
            completion_time=status.completion_time,
            promotion=Promotion(False, "NotServed", "not served (--no-serve)"),
            previous=status,
        )
        status = live.finish(status)
        write_status(output, status)
        report.status = status
        console.print(f"gate passed; serve it with: tradetune serve --model {output / 'merged'}")
        return report
    return _serve(options, report, result, start, console)


def _serve(
    options: RunOptions, report: RunReport, result: TrainResult, start: str, console: Any
) -> RunReport:
    from tradetune.serving import ServeOptions, VLLMServer, prepare

    spec = report.job.spec
    promote = require(spec.promote, "spec.promote")
    merged = report.output / ((result.artifacts.merged if result.artifacts else None) or "merged")
    name = promote.model_serve
    serve_options = prepare(
        ServeOptions(model=str(merged), served_model_name=name, host=options.host, port=options.port)
    )
    server = VLLMServer(serve_options, log_file=report.output / "serve.log")
    generation = report.job.metadata.generation or 1
    try:
        server.start()
        began = time.monotonic()
        with console.status("starting vLLM ...") as spinner:
            server.wait_ready(
                timeout=options.ready_timeout,
                on_tick=lambda s: spinner.update(
                    f"starting vLLM ... {s:.0f} s (log: {report.output / 'serve.log'})"
                ),
            )
        console.print(f"vLLM ready in {time.monotonic() - began:.0f} s: {server.base_url}/v1 serves {name}")
        report.endpoint = server.base_url
        report.status = finetunejob_status(
            result,
            spec,
            generation=generation,
            start_time=start,
            completion_time=report.status.completion_time,
            promotion=Promotion(True, "ServedLocally", f"served by vLLM at {server.base_url}/v1 as {name}"),
            previous=report.status,
        ).model_copy(update={"progress": report.status.progress})
        write_status(report.output, report.status)
        _verify_live(report, server.base_url, name, generation, console)
        sample = sample_question(
            report.output / "data" / "test.jsonl", options.sample_instruction, report.sample_record
        )
        report.sample_answer = ask(server.base_url, name, sample.instruction, spec.evaluation.max_new_tokens)
        _print_sample(console, sample, report.sample_answer)
        if options.exit_after_sample:
            return report
        console.print(
            f"serving {name} at {server.base_url} (OpenAI API /v1, POST /generate, /health, /metrics); "
            "Ctrl-C to stop",
            highlight=False,
        )
        code = server.wait()
        if code != 0:
            raise RuntimeFailure(
                f"vLLM stopped with exit code {code}; see {report.output / 'serve.log'}",
                reason="ServerFailed",
            )
        return report
    except KeyboardInterrupt:
        console.print("stopping the server ...")
        return report
    finally:
        server.stop()


def _verify_live(report: RunReport, base_url: str, name: str, generation: int, console: Any) -> None:
    """Check the served model against the offline metrics; a failure stops the run (status says why)."""
    from tradetune.local._verify import verdict_table, verify_served, with_verification
    from tradetune.progress import default_progress

    progress = default_progress()
    try:
        result = verify_served(
            base_url, name, report.job.spec, report.status, report.output, progress=progress
        )
    finally:
        progress.close()
    report.status = with_verification(report.status, result, generation)
    write_status(report.output, report.status)
    console.print(verdict_table(result))
    if not result.passed:
        raise RuntimeFailure(
            f"the served model does not answer as the offline evaluation measured ({result.summary}); "
            f"check the served directory and {report.output / 'serve.log'}. "
            f"Details: {report.output / 'status.yaml'}",
            reason="VerificationFailed",
        )


def ask(base_url: str, model: str, instruction: str, max_tokens: int) -> str:
    """One chat completion through the official openai client (greedy, for a repeatable answer)."""
    from openai import OpenAI

    client = OpenAI(base_url=f"{base_url}/v1", api_key=os.environ.get("VLLM_API_KEY") or "EMPTY", timeout=300)
    reply = client.chat.completions.create(
        model=model,
        messages=[{"role": "user", "content": instruction}],
        max_tokens=max_tokens,
        temperature=0,
    )
    return reply.choices[0].message.content or ""


def evaluated_items(test_split: Path, job: FineTuneJob) -> list[Mapping[str, Any]]:
    """The test items the trainer evaluated (its own selection rule), or [] without a readable split."""
    from tradetune.evaluation.suite import select_items
    from tradetune.records import read_jsonl
    from tradetune.training.plan import evaluation_options

    options = evaluation_options(job.spec)
    try:
        records = list(read_jsonl(test_split))
    except InvalidInput:
        return []
    return select_items(records, options.max_items, options.seed)


@dataclass(frozen=True)
class SampleQuestion:
    """The sample request: its question, and for a test item its reference answer and the item."""

    instruction: str
    reference: str | None = None
    record: Mapping[str, Any] | None = None


def sample_question(
    test_split: Path, asked: str | None, learned: Mapping[str, Any] | None = None
) -> SampleQuestion:
    """The question asked, else an item of a family the model learned, else the test split's first item.

    A held-out item of the job's own tasks shows what the model learned, and its reference
    answer (and, for a computed item, the grader's verdict) shows what it should have said;
    the guide's PineScript question is the fallback.
    """
    if asked is not None:
        return SampleQuestion(asked)
    if learned is not None:
        return SampleQuestion(learned["instruction"], learned["response"], learned)
    from tradetune.records import iter_jsonl

    try:
        first = next(iter_jsonl(test_split), None)
    except InvalidInput:
        first = None
    if first is None:
        return SampleQuestion(SAMPLE_INSTRUCTION)
    return SampleQuestion(first["instruction"], first["response"], first)


def _print_sample(console: Any, sample: SampleQuestion, answer: str) -> None:
    from rich.panel import Panel
    from rich.text import Text

    body = Text()
    body.append("question\n", style="bold")
    body.append(sample.instruction + "\n\n")
    body.append("answer of the served model\n", style="bold")
    body.append(answer or "(empty answer)")
    if sample.reference is not None:
        body.append("\n\nreference answer (test split)\n", style="bold")
        body.append(sample.reference)
    verdict = grade(answer, sample.record) if sample.record is not None else None
    if verdict is not None:
        body.append("\n\ngrader: ", style="bold")
        body.append(verdict.text(), style="green" if verdict.correct else "red")
    console.print(Panel(body, title="sample request", title_align="left"))
