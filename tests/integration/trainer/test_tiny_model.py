"""The tiny base model: a standard Llama directory that transformers, bitsandbytes and vLLM accept."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tradetune.errors import InvalidInput
from tradetune.prompt import CHAT_TEMPLATE, format_example, format_prompt
from tradetune.training import TinyModelConfig, build_tiny_model, generic_corpus


def test_tiny_model_directory_shape(tiny_base: Path) -> None:
    from transformers import AutoConfig, AutoTokenizer

    names = {p.name for p in tiny_base.iterdir()}
    assert {"config.json", "model.safetensors", "tokenizer.json", "chat_template.jinja"} <= names
    assert not any(n.startswith(".") for n in tiny_base.parent.iterdir() if n.name != tiny_base.name)
    config = AutoConfig.from_pretrained(tiny_base)
    assert config.architectures == ["LlamaForCausalLM"]
    for width in (config.hidden_size, config.intermediate_size, config.vocab_size):
        assert width % 64 == 0, width
    assert config.max_position_embeddings >= 1024
    tok = AutoTokenizer.from_pretrained(tiny_base)
    assert len(tok) <= config.vocab_size
    assert tok.pad_token and tok.eos_token and tok.bos_token
    assert len({tok.pad_token_id, tok.eos_token_id, tok.bos_token_id}) == 3
    assert tok.chat_template == CHAT_TEMPLATE
    chat = [{"role": "user", "content": "Explain a doji."}, {"role": "assistant", "content": "Indecision."}]
    rendered = tok.apply_chat_template(chat, tokenize=False)
    assert rendered == format_example("Explain a doji.", "Indecision.", tok.eos_token)
    prompt = tok.apply_chat_template(chat[:1], tokenize=False, add_generation_prompt=True)
    assert prompt == format_prompt("Explain a doji.")
    text = '//@version=5\nstrategy("x")\nfast = ta.ema(close, 12) // é ✓'
    assert tok.decode(tok(text, add_special_tokens=False)["input_ids"]) == text  # byte-level: lossless
    info = json.loads((tiny_base / "tiny_model.json").read_text())
    assert info["pretrain_steps"] > 0 and info["pretrain_final_loss"] < 4.0


def test_same_seed_builds_identical_weights_and_pretraining_lowers_loss(tmp_path: Path) -> None:
    import torch
    from safetensors.torch import load_file
    from transformers import AutoModelForCausalLM, AutoTokenizer

    corpus = list(generic_corpus(300, seed=11))
    a = build_tiny_model(tmp_path / "a", seed=5, corpus=corpus, tokenizer_corpus=[])
    b = build_tiny_model(tmp_path / "b", seed=5, corpus=corpus, tokenizer_corpus=[])
    c = build_tiny_model(tmp_path / "c", seed=5, corpus=corpus, tokenizer_corpus=[], pretrain_steps=40)
    wa, wb = load_file(a / "model.safetensors"), load_file(b / "model.safetensors")
    assert wa.keys() == wb.keys() and all(torch.equal(wa[k], wb[k]) for k in wa)

    held_out = " ".join(generic_corpus(20, seed=999))

    def loss(path: Path) -> float:
        tok = AutoTokenizer.from_pretrained(path)
        model = AutoModelForCausalLM.from_pretrained(path)
        ids = tok(held_out, return_tensors="pt")["input_ids"][:, :512]
        with torch.no_grad():
            return float(model(input_ids=ids, labels=ids).loss)

    assert loss(c) < loss(a) - 1.0


def test_bad_shapes_and_unwritable_output_are_invalid_input(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="hidden_size"):
        build_tiny_model(tmp_path / "x", config=TinyModelConfig(hidden_size=100))
    blocker = tmp_path / "file"
    blocker.write_text("not a dir")
    with pytest.raises(InvalidInput, match="cannot write"):
        build_tiny_model(blocker / "model", corpus=["a b c"] * 10)
