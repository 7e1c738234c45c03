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
    model: Annotated[Path, typer.Option(help="Merged model directory, or the base model with --adapter.")],
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
    ready_timeout: Annotated[float, typer.Option(help="Seconds to wait for the server to be ready.")] = 600.0,
    quiet: Annotated[
        bool, typer.Option(help="Do not echo vLLM's log (it is still shown on failure).")
    ] = False,
) -> None:
    """Serve a model with vLLM's OpenAI server, plus the guide's POST /generate.

    Answers /v1/completions, /v1/chat/completions, /v1/models, /generate, /health and /metrics.
    Set VLLM_API_KEY to require `Authorization: Bearer <key>` on /v1 and /generate. Arguments
    after `--` go to vLLM unchanged. Ctrl-C or SIGTERM stops the server and its engine.
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
                server.wait_ready(timeout=ready_timeout)
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
