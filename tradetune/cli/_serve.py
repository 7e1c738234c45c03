"""CLI commands: serve."""

from __future__ import annotations

import contextlib
import signal
import sys
from collections.abc import Iterator
from pathlib import Path
from types import FrameType
from typing import Annotated

import typer
from rich.console import Console

from tradetune.cli._app import app
from tradetune.errors import RuntimeFailure
from tradetune.serving._body_limit import DEFAULT_MAX_BODY_BYTES
from tradetune.serving._options import DEFAULT_READY_TIMEOUT

_EXTRA = {"allow_extra_args": True, "ignore_unknown_options": True}


@contextlib.contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """Treat SIGTERM (`kubectl delete`, `kill`) like Ctrl-C, so `finally` blocks stop children."""

    def _raise(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, _raise)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@app.command(context_settings=_EXTRA)
def serve(
    ctx: typer.Context,
    *,
    model: Annotated[
        Path,
        typer.Option(
            help=(
                "Merged model directory, or the base model with --adapter. A hub id (org/name) is "
                "looked up in the Hugging Face cache (HF_HOME), or downloaded when HF_HUB_OFFLINE=0."
            )
        ),
    ],
    adapter: Annotated[
        Path | None, typer.Option(help="PEFT adapter directory: serve base + adapter (--enable-lora).")
    ] = None,
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    host: Annotated[str, typer.Option(help="Address to bind (0.0.0.0 in a pod).")] = "127.0.0.1",
    served_model_name: Annotated[
        str | None, typer.Option(help="Model name clients ask for (default: from the model path).")
    ] = None,
    max_model_len: Annotated[int | None, typer.Option(help="vLLM --max-model-len.")] = None,
    gpu_memory_utilization: Annotated[
        float | None, typer.Option(help="vLLM --gpu-memory-utilization.")
    ] = None,
    tensor_parallel_size: Annotated[int | None, typer.Option(help="vLLM --tensor-parallel-size.")] = None,
    dtype: Annotated[str | None, typer.Option(help="vLLM --dtype (auto, float32, bfloat16, ...).")] = None,
    revision: Annotated[
        str | None, typer.Option(help="Hub revision (branch, tag or commit) when --model is a hub id.")
    ] = None,
    ready_timeout: Annotated[
        float,
        typer.Option(help="Seconds start-up may take (a pod passes its startup-probe budget)."),
    ] = DEFAULT_READY_TIMEOUT,
    max_body_bytes: Annotated[
        int, typer.Option(help="Largest request body accepted; bigger ones get 413 before they are read.")
    ] = DEFAULT_MAX_BODY_BYTES,
    public_metrics: Annotated[
        bool,
        typer.Option(
            "--public-metrics/--private-metrics",
            help="Whether /metrics answers without the API key (/health always does).",
        ),
    ] = True,
    quiet: Annotated[
        bool, typer.Option(help="Do not echo vLLM's log (it is still shown on failure).")
    ] = False,
) -> None:
    """Serve a model with vLLM's OpenAI server, plus the guide's POST /generate.

    Answers /v1/completions, /v1/chat/completions, /v1/models, /generate, /health and /metrics.
    Set VLLM_API_KEY to require `Authorization: Bearer <key>` on every route except /health
    (and /metrics unless --private-metrics). Arguments after `--` go to vLLM unchanged.
    Ctrl-C or SIGTERM stops the server and its engine.
    """
    from tradetune.serving import ServeOptions, VLLMServer, prepare

    options = prepare(
        ServeOptions(
            model=str(model),
            adapter=str(adapter) if adapter is not None else None,
            served_model_name=served_model_name,
            host=host,
            port=port,
            max_model_len=max_model_len,
            gpu_memory_utilization=gpu_memory_utilization,
            tensor_parallel_size=tensor_parallel_size,
            dtype=dtype,
            revision=revision,
            max_body_bytes=max_body_bytes,
            public_metrics=public_metrics,
            ready_timeout=ready_timeout,
            extra_args=tuple(ctx.args),
        )
    )
    console = Console(stderr=True)
    server = VLLMServer(options, echo=None if quiet else sys.stderr)
    with sigterm_as_interrupt():
        try:
            server.start()
            # The spinner only when vLLM's own log is hidden; otherwise they would interleave.
            spinner = (
                console.status(f"starting vLLM on {options.model} ...") if quiet else contextlib.nullcontext()
            )
            with spinner:
                server.wait_ready(timeout=options.ready_timeout)
            console.print(
                f"[bold green]serving[/] {options.name} at {server.base_url}  "
                f"(OpenAI API {server.base_url}/v1, POST {server.base_url}/generate, "
                f"/health, /metrics) - Ctrl-C to stop",
                highlight=False,
            )
            code = server.wait()
            if code != 0:
                tail = "\n".join(server.log_tail())
                raise RuntimeFailure(f"vLLM stopped with exit code {code}.\n{tail}", reason="ServerFailed")
        except KeyboardInterrupt:
            console.print("stopping the server ...")
        finally:
            server.stop()
