"""The generic pretraining corpus: deterministic, seed-dependent, and not instruction data."""

from __future__ import annotations

from tradetune.prompt import INSTRUCTION_HEADER, RESPONSE_HEADER
from tradetune.training import generic_corpus


def test_same_seed_same_text_and_other_seed_other_text() -> None:
    a = list(generic_corpus(50, seed=3))
    assert a == list(generic_corpus(50, seed=3))
    assert a != list(generic_corpus(50, seed=4))
    assert len(a) == 50 and all(doc.strip() for doc in a)


def test_corpus_never_uses_the_prompt_format() -> None:
    docs = list(generic_corpus(500, seed=0))
    assert not any(INSTRUCTION_HEADER.strip() in d or RESPONSE_HEADER.strip() in d for d in docs)
    # prose and code shapes both present, so the tokenizer learns both
    assert any("ta." in d for d in docs) and any("%" in d for d in docs)
