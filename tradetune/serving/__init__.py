"""Serving with vLLM: the launch command (shared with the operator), the process, /generate.

    from tradetune.serving import ServeOptions, VLLMServer, prepare

    options = prepare(ServeOptions(model="runs/demo/merged", port=8000))  # checks, exit 2 on bad input
    with VLLMServer(options) as server:
        server.wait_ready(timeout=options.ready_timeout)
        ...  # OpenAI API at server.base_url + "/v1", POST /generate, /health, /metrics

The operator's Deployment builder calls `tradetune_serve_args(options)` for the pod's args.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path

from tradetune.errors import InvalidInput
from tradetune.serving._auth import AccessPolicy, AuthMiddleware
from tradetune.serving._body_limit import DEFAULT_MAX_BODY_BYTES, BodyLimitMiddleware
from tradetune.serving._checks import check_adapter_dir, check_model_dir, check_port_free, free_port
from tradetune.serving._generate import GenerateMiddleware, GenerateRequest, completion_body
from tradetune.serving._hub import cached_snapshot, downloads_allowed, hub_cache_dir, looks_like_hub_id
from tradetune.serving._options import (
    DEFAULT_HOST,
    DEFAULT_PORT,
    DEFAULT_READY_TIMEOUT,
    GENERATE_MIDDLEWARE,
    MIDDLEWARES,
    VLLM_ENV_DEFAULTS,
    VLLM_SERVER_MODULE,
    ServeOptions,
    base_served_name,
    default_served_name,
    guard_env,
    tradetune_serve_args,
    vllm_args,
    vllm_command,
)
from tradetune.serving._process import VLLMServer, vllm_env

__all__ = [
    "DEFAULT_HOST",
    "DEFAULT_MAX_BODY_BYTES",
    "DEFAULT_PORT",
    "DEFAULT_READY_TIMEOUT",
    "GENERATE_MIDDLEWARE",
    "MIDDLEWARES",
    "VLLM_ENV_DEFAULTS",
    "VLLM_SERVER_MODULE",
    "AccessPolicy",
    "AuthMiddleware",
    "BodyLimitMiddleware",
    "GenerateMiddleware",
    "GenerateRequest",
    "ServeOptions",
    "VLLMServer",
    "base_served_name",
    "check_adapter_dir",
    "check_model_dir",
    "check_port_free",
    "completion_body",
    "default_served_name",
    "free_port",
    "guard_env",
    "prepare",
    "resolve_model",
    "tradetune_serve_args",
    "vllm_args",
    "vllm_command",
    "vllm_env",
]


def resolve_model(options: ServeOptions, env: Mapping[str, str] | None = None) -> ServeOptions:
    """A model directory as it is; a hub id as its snapshot in the local hub cache.

    A hub id that is not cached is passed on to vLLM to download only when downloads are
    allowed (HF_HUB_OFFLINE=0); otherwise InvalidInput says where it was looked for.
    """
    env = os.environ if env is None else env
    if not looks_like_hub_id(options.model):
        check_model_dir(Path(options.model))
        return options
    cache = hub_cache_dir(env)
    snapshot = cached_snapshot(cache, options.model, options.revision)
    if snapshot is not None:
        # Keep the name clients use; a snapshot directory is named after a commit hash.
        return replace(options, model=str(snapshot), served_model_name=options.name, revision=None)
    if downloads_allowed(env):
        return options
    raise InvalidInput(
        f"--model {options.model}: not a directory, and revision {options.revision or 'main'} is not in "
        f"the Hugging Face cache {cache} (models--{options.model.replace('/', '--')}/snapshots/...). "
        "Give the model directory, point HF_HOME at the cache the trainer filled, or set "
        "HF_HUB_OFFLINE=0 (and HF_TOKEN for a gated model) to let the server download it."
    )


def prepare(
    options: ServeOptions, *, check_port: bool = True, env: Mapping[str, str] | None = None
) -> ServeOptions:
    """Check the model/adapter dirs and the port (InvalidInput, exit 2) before any launch.

    A hub id is resolved in the local hub cache first (see `resolve_model`). In adapter mode
    the adapter's LoRA rank is read so vLLM's --max-lora-rank fits it.
    """
    options = resolve_model(options, env)
    if options.max_body_bytes < 1:
        raise InvalidInput(f"--max-body-bytes {options.max_body_bytes}: must be at least 1")
    if not (math.isfinite(options.ready_timeout) and options.ready_timeout > 0):
        raise InvalidInput(f"--ready-timeout {options.ready_timeout}: must be a positive number of seconds")
    if options.adapter is not None:
        rank = check_adapter_dir(Path(options.adapter))
        if options.lora_rank is None and rank is not None:
            options = replace(options, lora_rank=rank)
    if check_port:
        check_port_free(options.host, options.port)
    return options
