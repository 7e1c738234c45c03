"""A tiny Llama with its own byte-level BPE tokenizer: the base model for tests and the local demo.

No weights can be downloaded where the tests run, so the base model is built here: a standard
`LlamaForCausalLM` (vLLM serves it like any Llama) whose every width is a multiple of 64,
because bitsandbytes' CPU 4-bit kernels repack weights in blocks and fail on odd widths. The
tokenizer is trained on generated text and carries the one chat template, so the saved
directory works with transformers, TRL, PEFT and vLLM exactly as a hub model would.

With `pretrain_steps > 0` the model is first taught plain causal language modelling on the
generic corpus (never the instruction dataset), so a fine-tune adapts a language model.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from tradetune.atomic import replace_dir, temp_dir_for
from tradetune.errors import InvalidInput
from tradetune.prompt import CHAT_TEMPLATE, format_example
from tradetune.training.corpus import generic_corpus

PAD, BOS, EOS, UNK = "<pad>", "<s>", "</s>", "<unk>"
# Records drawn with this seed teach the *tokenizer* the dataset's vocabulary (PineScript,
# numbers, pattern names) so sequences stay short; they never reach the model's weights.
TOKENIZER_DATA_SEED = 2_000_000_011
TOKENIZER_DATA_RECORDS = 1500
_MULTIPLE = 64


@dataclass(frozen=True)
class TinyModelConfig:
    """Shape of the tiny model. Widths are multiples of 64 (the bitsandbytes CPU pitfall)."""

    vocab_size: int = 2048
    hidden_size: int = 128
    intermediate_size: int = 384
    num_hidden_layers: int = 2
    num_attention_heads: int = 4
    max_position_embeddings: int = 1024
    pretrain_block: int = 128
    pretrain_batch: int = 16
    pretrain_lr: float = 2e-3

    def check(self) -> None:
        for name in ("vocab_size", "hidden_size", "intermediate_size"):
            if getattr(self, name) % _MULTIPLE:
                raise InvalidInput(f"tiny model {name} must be a multiple of {_MULTIPLE}")
        if self.hidden_size % self.num_attention_heads:
            raise InvalidInput("tiny model hidden_size must be divisible by num_attention_heads")


def _round_up(n: int, multiple: int = _MULTIPLE) -> int:
    return -(-n // multiple) * multiple


def dataset_vocabulary_texts(n: int = TOKENIZER_DATA_RECORDS, seed: int = TOKENIZER_DATA_SEED) -> list[str]:
    """Instruction and response texts of generated records, for tokenizer training only."""
    from tradetune.datagen import generate_records

    return [f"{r['instruction']}\n{r['response']}" for r in generate_records(n, seed)]


def _train_tokenizer(texts: list[str], vocab_size: int) -> Any:
    """A byte-level BPE (GPT-2 style, no unknown bytes) wrapped as a transformers fast tokenizer."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=[PAD, BOS, EOS, UNK],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    # The prompt headers are seen by every example; giving them merges keeps sequences short.
    headers = [format_example("", "", EOS)] * 200
    tok.train_from_iterator([*texts, *headers], trainer=trainer)
    fast = PreTrainedTokenizerFast(  # type: ignore[no-untyped-call]
        tokenizer_object=tok,
        bos_token=BOS,
        eos_token=EOS,
        pad_token=PAD,
        unk_token=UNK,
        model_max_length=1024,
        padding_side="right",
        clean_up_tokenization_spaces=False,
    )
    fast.chat_template = CHAT_TEMPLATE
    return fast


def _pretrain(
    model: Any,
    tokenizer: Any,
    texts: list[str],
    cfg: TinyModelConfig,
    *,
    steps: int,
    seed: int,
    on_step: Callable[[int, float], None] | None,
) -> float:
    """Plain causal-LM training on packed blocks of the corpus; returns the last loss."""
    import torch

    ids: list[int] = []
    for text in texts:
        ids.extend(tokenizer(text, add_special_tokens=False)["input_ids"])
        ids.append(tokenizer.eos_token_id)
    block = cfg.pretrain_block
    n_blocks = len(ids) // block
    if n_blocks < 1:
        raise InvalidInput("the pretraining corpus is shorter than one block of tokens")
    data = torch.tensor(ids[: n_blocks * block]).view(n_blocks, block)
    gen = torch.Generator().manual_seed(seed)
    model.train()
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.pretrain_lr, weight_decay=0.01)
    warmup = max(1, steps // 10)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / warmup) * max(0.05, 1 - s / max(1, steps))
    )
    loss_value = float("nan")
    for step in range(steps):
        rows = torch.randint(0, n_blocks, (cfg.pretrain_batch,), generator=gen)
        batch = data[rows]
        out = model(input_ids=batch, labels=batch)
        out.loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        opt.zero_grad(set_to_none=True)
        loss_value = float(out.loss.detach())
        if on_step is not None:
            on_step(step + 1, loss_value)
    model.eval()
    return loss_value


def build_tiny_model(
    output: Path,
    *,
    seed: int = 0,
    pretrain_steps: int = 0,
    corpus: Iterable[str] | None = None,
    tokenizer_corpus: Iterable[str] | None = None,
    config: TinyModelConfig | None = None,
    on_step: Callable[[int, float], None] | None = None,
) -> Path:
    """Write a tiny Llama model directory (weights, config, tokenizer, chat template) to `output`.

    `corpus` is the pretraining text (with `pretrain_steps > 0`); by default the generic
    trading corpus (see `tradetune.training.corpus`), which shares nothing with an
    instruction dataset. The tokenizer learns from `corpus` plus `tokenizer_corpus`, by
    default generated dataset records of a reserved seed: they shape the vocabulary only.
    The directory is built next to `output` and renamed into place, so an interrupted build
    never leaves a half model behind.
    """
    import torch
    from transformers import GenerationConfig, LlamaConfig, LlamaForCausalLM
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # type: ignore[no-untyped-call]  # ours is the progress shown

    cfg = config or TinyModelConfig()
    cfg.check()
    texts = list(corpus) if corpus is not None else list(generic_corpus(3000, seed=seed))
    if not texts:
        raise InvalidInput("the tiny-model corpus is empty")
    extra = list(tokenizer_corpus) if tokenizer_corpus is not None else dataset_vocabulary_texts()
    tokenizer = _train_tokenizer([*texts, *extra], cfg.vocab_size)
    vocab = _round_up(len(tokenizer))
    torch.manual_seed(seed)
    model_config = LlamaConfig(
        vocab_size=vocab,
        hidden_size=cfg.hidden_size,
        intermediate_size=cfg.intermediate_size,
        num_hidden_layers=cfg.num_hidden_layers,
        num_attention_heads=cfg.num_attention_heads,
        num_key_value_heads=cfg.num_attention_heads,
        max_position_embeddings=cfg.max_position_embeddings,
        rms_norm_eps=1e-5,
        tie_word_embeddings=False,
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        dtype="float32",
    )
    model = LlamaForCausalLM(model_config)  # type: ignore[no-untyped-call]
    final_loss = None
    if pretrain_steps > 0:
        final_loss = _pretrain(model, tokenizer, texts, cfg, steps=pretrain_steps, seed=seed, on_step=on_step)
    model.generation_config = GenerationConfig(  # type: ignore[no-untyped-call]
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        do_sample=False,
    )

    output = Path(output)
    try:
        tmp = temp_dir_for(output)
    except OSError as exc:
        raise InvalidInput(f"cannot write the tiny model to {output}: {exc.strerror or exc}") from exc
    try:
        model.save_pretrained(tmp, safe_serialization=True)
        tokenizer.save_pretrained(tmp)
        info = {
            "seed": seed,
            "pretrain_steps": pretrain_steps,
            "pretrain_final_loss": final_loss,
            "corpus_documents": len(texts),
            "parameters": sum(p.numel() for p in model.parameters()),
            **asdict(cfg),
            "vocab_size": vocab,
        }
        (tmp / "tiny_model.json").write_text(json.dumps(info, indent=2) + "\n")
        replace_dir(tmp, output)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return output
