"""Shared, session-scoped artefacts: one tiny base model and one trained run for every trainer test.

The trained run is the expensive part (a real QLoRA fine-tune on CPU) and is made once:
1. `tradetune train` runs in a subprocess and is killed (SIGKILL, like an evicted pod) as
   soon as its first checkpoint is complete;
2. `train()` runs again on the same output directory with a callback that raises a real
   `torch.OutOfMemoryError` on its first step, so the run resumes from the checkpoint, goes
   through the OOM recovery loop, and finishes.
Tests then check every file and metric of that one output directory.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import torch
import yaml
from transformers import TrainerCallback

from tradetune.api import FineTuneJob, TrainResult

REPO = Path(__file__).resolve().parents[3]


def random_llama(*, vocab_size: int, layers: int, pad_token_id: int | None = None) -> Any:
    """A seeded, randomly initialised Llama in eval mode, for checks that need no training."""
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=vocab_size,
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=layers,
        num_attention_heads=2,
        max_position_embeddings=64,
        pad_token_id=pad_token_id,
    )
    return LlamaForCausalLM(config).eval()


@pytest.fixture(scope="session")
def tiny_base(tiny_pretrained: Path) -> Path:
    """The session's tiny Llama pretrained on generic text (tests/integration/conftest.py)."""
    return tiny_pretrained


def job_document(base: Path, **training: Any) -> dict[str, Any]:
    """A small QLoRA FineTuneJob on generated data, sized for CPU tests."""
    spec_training = {
        "maxSteps": 16,
        "perDeviceBatchSize": 4,
        "gradientAccumulationSteps": 1,
        "maxSeqLength": 192,
        "warmupSteps": 2,
        "learningRate": 0.003,
        "gradientCheckpointing": False,
        "packing": True,
        "evalSteps": 4,
        "saveSteps": 4,
        "saveTotalLimit": 2,
        "loggingSteps": 2,
        "earlyStopping": {"patience": 10},
        **training,
    }
    return {
        "apiVersion": "tradetune.dev/v1alpha1",
        "kind": "FineTuneJob",
        "metadata": {"name": "tiny-qlora"},
        "spec": {
            "baseModel": {"path": str(base)},
            "dataset": {"generate": {"train": 160, "validation": 20, "test": 40, "seed": 7}},
            "method": "qlora",
            "training": spec_training,
            "evaluation": {"compareToBase": True, "samples": 12, "maxItems": 30, "maxNewTokens": 48},
        },
    }


class OomOnce(TrainerCallback):  # type: ignore[misc]
    """A TrainerCallback raising a real torch.OutOfMemoryError at the first step it sees."""

    def __init__(self) -> None:
        self.raised = 0

    def on_step_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if self.raised == 0:
            self.raised += 1
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB (injected)")


class LayerCensus(TrainerCallback):  # type: ignore[misc]
    """Records, as training begins, what the trainer really loaded: layer classes and weight types."""

    def __init__(self) -> None:
        self.linear4bit: list[str] = []
        self.quant_types: set[str] = set()
        self.plain_linear: list[str] = []

    def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        import bitsandbytes as bnb

        self.__init__()  # type: ignore[misc]  # the last attempt's model is the one that trained
        for name, module in kwargs["model"].named_modules():
            if isinstance(module, bnb.nn.Linear4bit):
                self.linear4bit.append(name)
                weight = module.weight
                assert isinstance(weight, bnb.nn.Params4bit), type(weight)
                self.quant_types.add(str(weight.quant_state.quant_type if weight.quant_state else "none"))
            elif type(module) is torch.nn.Linear:
                self.plain_linear.append(name)


@dataclass
class TrainedRun:
    output: Path
    base: Path
    config: Path
    result: TrainResult
    result_file: Path
    killed_at: str
    oom: OomOnce
    layers: LayerCensus


def _kill_after_first_checkpoint(cmd: list[str], output: Path, env: dict[str, str]) -> str:
    proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            done = sorted((output / "checkpoints").glob("checkpoint-*/trainer_state.json"))
            if done:
                proc.send_signal(signal.SIGKILL)
                proc.wait(30)
                return done[0].parent.name
            if proc.poll() is not None:
                raise AssertionError(f"trainer exited before a checkpoint: {proc.stderr.read()!r}")  # type: ignore[union-attr]
            time.sleep(0.1)
        raise AssertionError("no checkpoint within 10 minutes")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(30)


@pytest.fixture(scope="session")
def trained_run(tmp_path_factory: pytest.TempPathFactory, tiny_base: Path) -> TrainedRun:
    from tradetune.training import train

    root = tmp_path_factory.mktemp("run")
    output = root / "out"
    config = root / "job.yaml"
    config.write_text(yaml.safe_dump(job_document(tiny_base)))
    env = {
        **os.environ,
        "TRADETUNE_RESULT_PATH": str(root / "killed-result"),
        "TOKENIZERS_PARALLELISM": "false",
    }
    cmd = [sys.executable, "-m", "tradetune", "train", "--config", str(config), "--output", str(output)]
    killed_at = _kill_after_first_checkpoint(cmd, output, env)

    job = FineTuneJob.model_validate(yaml.safe_load(config.read_text()))
    oom = OomOnce()
    layers = LayerCensus()
    result_file = root / "termination-log"
    result = train(job.spec, output, callbacks=[oom, layers], result_path=str(result_file))
    return TrainedRun(
        output=output,
        base=tiny_base,
        config=config,
        result=result,
        result_file=result_file,
        killed_at=killed_at,
        oom=oom,
        layers=layers,
    )
