"""A tiny Llama with a byte-level BPE tokenizer and the chat template, for serving tests.

Stand-in until tradetune.training.build_tiny_model lands; then the fixture switches to it.
"""

from __future__ import annotations

from pathlib import Path

from tradetune.prompt import CHAT_TEMPLATE, format_example

TEXTS = [
    format_example(
        f"Explain the {name} candlestick pattern.",
        f"The {name} is a reversal pattern. //@version=5 indicator('x') plot(close)",
        "</s>",
    )
    for name in ["hammer", "doji", "engulfing", "harami", "morning star", "shooting star"]
] * 20


def build(output: Path) -> Path:
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=512,
        special_tokens=["<pad>", "<s>", "</s>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    tok.train_from_iterator(TEXTS, trainer)
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<s>", eos_token="</s>", pad_token="<pad>")
    fast.chat_template = CHAT_TEMPLATE
    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=fast.vocab_size,
        hidden_size=128,
        intermediate_size=384,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=4,
        max_position_embeddings=512,
        bos_token_id=fast.bos_token_id,
        eos_token_id=fast.eos_token_id,
        pad_token_id=fast.pad_token_id,
        initializer_range=0.2,
        tie_word_embeddings=False,
    )
    model = LlamaForCausalLM(config)
    model.save_pretrained(output)
    fast.save_pretrained(output)
    return output
