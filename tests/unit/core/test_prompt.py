"""The prompt format is one contract shared by training, evaluation and serving."""

from __future__ import annotations

import pytest
from jinja2.sandbox import ImmutableSandboxedEnvironment

from tradetune.prompt import CHAT_TEMPLATE, format_example, format_prompt, split_response

EOS = "</s>"


def render(messages: list[dict[str, str]]) -> str:
    # Hugging Face renders chat templates with a sandboxed jinja2 environment like this one.
    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)
    return env.from_string(CHAT_TEMPLATE).render(messages=messages, eos_token=EOS, add_generation_prompt=True)


def test_prompt_is_the_guides_format() -> None:
    assert format_prompt("Explain a pin bar") == "### Instruction:\nExplain a pin bar\n\n### Response:\n"


def test_example_appends_response_and_eos() -> None:
    assert format_example("q", "a", EOS) == "### Instruction:\nq\n\n### Response:\na</s>"


@pytest.mark.parametrize("instruction", ["Explain a pin bar", "multi\nline\n  text", ""])
def test_chat_template_renders_exactly_the_training_prompt(instruction: str) -> None:
    assert render([{"role": "user", "content": instruction}]) == format_prompt(instruction)


def test_chat_template_renders_a_whole_example() -> None:
    messages = [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]
    assert render(messages) == format_example("q", "a", EOS)


def test_system_message_is_prepended_to_the_instruction() -> None:
    messages = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "q"}]
    assert render(messages) == format_prompt("Be brief.\n\nq")


def test_split_response_strips_an_echoed_prompt() -> None:
    assert split_response(format_prompt("q") + "answer") == "answer"
    assert split_response("just text") == "just text"
