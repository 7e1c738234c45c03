"""Adapter mode on real vLLM: `tradetune serve --model ORG/NAME --adapter DIR` (ModelServe mode adapter).

The base model is given as a hub id, as a FineTuneJob names it, and lies in a Hugging Face
hub cache laid out as huggingface_hub writes it (`models--org--name/{blobs,refs,snapshots}`,
files as symlinks to blobs) with `HF_HUB_OFFLINE=1`: the server must find the snapshot, as a
ModelServe's pod does in the cache volume the trainer filled.

The adapter is a PEFT LoRA saved as the trainer saves `adapter/`, with non-zero weights (PEFT's
default init would leave the model unchanged) and rank 32, above vLLM's default
`--max-lora-rank` 16, so the rank option is exercised too. Greedy tokens must equal
transformers + PEFT on the same adapter and differ from the base's.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.integration.serving.conftest import (
    INSTRUCTION,
    RunningServe,
    cli,
    client,
    post,
    start_serve,
    stop_with_sigterm,
)
from tradetune.prompt import format_prompt
from tradetune.serving import free_port

pytestmark = pytest.mark.slow

NEW_TOKENS = 24


@pytest.fixture(scope="module")
def adapter(tiny_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_pretrained(tiny_model, dtype=torch.float32)
    lora = LoraConfig(
        r=32,
        lora_alpha=64,
        target_modules=["q_proj", "k_proj", "v_proj", "o_proj"],
        init_lora_weights=False,
        task_type="CAUSAL_LM",
    )
    path = tmp_path_factory.mktemp("adapter") / "adapter"
    get_peft_model(model, lora).save_pretrained(path)
    return path


HUB_ID = "acme/tiny-llama"
COMMIT = "4f1c2e0b9d8a7c6b5a4f3e2d1c0b9a8f7e6d5c4b"


def hub_cache(model: Path, home: Path) -> Path:
    """Lay `model` out as huggingface_hub's cache under HF_HOME=`home`; returns the snapshot dir."""
    repo = home / "hub" / ("models--" + HUB_ID.replace("/", "--"))
    snapshot = repo / "snapshots" / COMMIT
    (repo / "blobs").mkdir(parents=True)
    snapshot.mkdir(parents=True)
    for file in sorted(p for p in model.rglob("*") if p.is_file()):
        data = file.read_bytes()
        blob = repo / "blobs" / hashlib.sha256(data).hexdigest()
        blob.write_bytes(data)
        link = snapshot / file.relative_to(model)
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(os.path.relpath(blob, link.parent))
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(COMMIT)
    return snapshot


@pytest.fixture(scope="module")
def hf_home(tiny_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("hf-home")
    hub_cache(tiny_model, home)
    return home


@pytest.fixture(scope="module")
def served_adapter(
    hf_home: Path, adapter: Path, vllm_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningServe]:
    port = free_port()
    log = tmp_path_factory.mktemp("serve-adapter") / "serve.log"
    env = {**vllm_env, "HF_HOME": str(hf_home), "HF_HUB_OFFLINE": "1"}
    args = ["--model", HUB_ID, "--revision", "main", "--adapter", str(adapter), "--dtype", "float32"]
    proc = start_serve([*args, "--served-model-name", "tuned"], env, log, port)
    try:
        yield RunningServe(proc, f"http://127.0.0.1:{port}", "tuned", log)
    except BaseException:
        proc.kill()
        raise
    stop_with_sigterm(proc)


def _transformers_greedy(tiny_model: Path, adapter: Path | None) -> list[int]:
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_model)
    model: Any = AutoModelForCausalLM.from_pretrained(tiny_model, dtype=torch.float32)
    if adapter is not None:
        model = PeftModel.from_pretrained(model, adapter)
    inputs = tokenizer(format_prompt(INSTRUCTION), return_tensors="pt")
    with torch.no_grad():
        out = model.generate(**inputs, max_new_tokens=NEW_TOKENS, do_sample=False)
    return [t for t in out[0, inputs["input_ids"].shape[1] :].tolist() if t != tokenizer.eos_token_id]


def _served_greedy(served: RunningServe, model: str, eos_token_id: int) -> list[int]:
    got = client(served).completions.create(
        model=model,
        prompt=format_prompt(INSTRUCTION),
        max_tokens=NEW_TOKENS,
        temperature=0,
        extra_body={"return_token_ids": True},
    )
    return [t for t in got.choices[0].token_ids if t != eos_token_id]


def test_models_lists_the_adapter_and_its_base(served_adapter: RunningServe) -> None:
    models = {m.id: m for m in client(served_adapter).models.list().data}
    assert set(models) == {"tuned", "tuned-base"}
    assert getattr(models["tuned"], "parent", None) == "tuned-base"
    # The hub id was resolved to its snapshot in the cache, offline.
    assert str(getattr(models["tuned-base"], "root", "")).endswith(f"snapshots/{COMMIT}")


def test_a_hub_id_missing_from_the_cache_exits_2_naming_the_flag(
    hf_home: Path, adapter: Path, vllm_env: dict[str, str]
) -> None:
    env = {**vllm_env, "HF_HOME": str(hf_home), "HF_HUB_OFFLINE": "1"}
    done = cli("serve", "--model", "acme/not-downloaded", "--adapter", str(adapter), env=env, timeout=120)
    assert done.returncode == 2, done.stderr
    assert "--model acme/not-downloaded" in done.stderr and "HF_HUB_OFFLINE=0" in done.stderr


def test_adapter_greedy_output_equals_transformers_with_peft(
    served_adapter: RunningServe, tiny_model: Path, adapter: Path
) -> None:
    from transformers import AutoTokenizer

    eos = AutoTokenizer.from_pretrained(tiny_model).eos_token_id
    tuned = _served_greedy(served_adapter, "tuned", eos)
    base = _served_greedy(served_adapter, "tuned-base", eos)
    assert tuned == _transformers_greedy(tiny_model, adapter)
    assert base == _transformers_greedy(tiny_model, None)
    assert tuned != base  # the adapter really is applied


def test_generate_answers_with_the_adapter(served_adapter: RunningServe) -> None:
    status, body = post(
        f"{served_adapter.base_url}/generate",
        {"instruction": INSTRUCTION, "max_tokens": 12, "temperature": 0},
        key=None,
    )
    assert status == 200, body
    plain = client(served_adapter).completions.create(
        model="tuned", prompt=format_prompt(INSTRUCTION), max_tokens=12, temperature=0
    )
    assert body == {"response": plain.choices[0].text}
