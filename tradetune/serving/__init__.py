"""Serving with vLLM: the launch command (shared with the operator), the process, /generate.

    from tradetune.serving import ServeOptions, VLLMServer, prepare

    options = prepare(ServeOptions(model="runs/demo/merged", port=8000))  # checks, exit 2 on bad input
    with VLLMServer(options) as server:
        server.wait_ready(timeout=600)
        ...  # OpenAI API at server.base_url + "/v1", POST /generate, /health, /metrics

The operator's Deployment builder calls `tradetune_serve_args(options)` for the pod's args.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from tradetune.serving._checks import check_adapter_dir, check_model_dir, check_port_free, free_port
from tradetune.serving._generate import GenerateMiddleware, GenerateRequest, completion_body
from tradetune.serving._options import (
    DEFAULT_HOST,
    DEFAULT_PORT,
    GENERATE_MIDDLEWARE,
    VLLM_ENV_DEFAULTS,
    VLLM_SERVER_MODULE,
    ServeOptions,
    base_served_name,
    default_served_name,
    tradetune_serve_args,
    vllm_args,
    vllm_command,
)
from tradetune.serving._process import VLLMServer, vllm_env

__all__ = [
    "DEFAULT_HOST",
    "DEFAULT_PORT",
    "GENERATE_MIDDLEWARE",
    "VLLM_ENV_DEFAULTS",
    "VLLM_SERVER_MODULE",
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
    "prepare",
    "tradetune_serve_args",
    "vllm_args",
    "vllm_command",
    "vllm_env",
]


def prepare(options: ServeOptions, *, check_port: bool = True) -> ServeOptions:
    """Check the model/adapter dirs and the port (InvalidInput, exit 2) before any launch.

    In adapter mode the adapter's LoRA rank is read so vLLM's --max-lora-rank fits it.
    """
    check_model_dir(Path(options.model))
    if options.adapter is not None:
        rank = check_adapter_dir(Path(options.adapter))
        if options.lora_rank is None and rank is not None:
            options = replace(options, lora_rank=rank)
    if check_port:
        check_port_free(options.host, options.port)
    return options
