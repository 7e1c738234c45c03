"""The one prompt format used for training, evaluation and serving.

    ### Instruction:\\n{instruction}\\n\\n### Response:\\n{response}<eos>

Everything that builds a prompt calls these functions; the tokenizer saved with a trained
model carries CHAT_TEMPLATE, which renders exactly the same text, so vLLM's
/v1/chat/completions answers in the training format with no extra flags.
"""

from __future__ import annotations

INSTRUCTION_HEADER = "### Instruction:\n"
RESPONSE_HEADER = "\n\n### Response:\n"

# Jinja chat template (Hugging Face convention). A user turn becomes the instruction block;
# an assistant turn becomes the response followed by the EOS token. With
# add_generation_prompt the text ends right after the response header, as in training.
# System messages are prepended to the instruction, since the format has no system slot.
CHAT_TEMPLATE = (
    "{%- set ns = namespace(system='') -%}"
    "{%- for message in messages -%}"
    "{%- if message['role'] == 'system' -%}"
    "{%- set ns.system = message['content'] + '\\n\\n' -%}"
    "{%- elif message['role'] == 'user' -%}"
    "{{ '### Instruction:\\n' + ns.system + message['content'] + '\\n\\n### Response:\\n' }}"
    "{%- set ns.system = '' -%}"
    "{%- elif message['role'] == 'assistant' -%}"
    "{{ message['content'] + eos_token }}"
    "{%- endif -%}"
    "{%- endfor -%}"
)


def format_prompt(instruction: str) -> str:
    """The text a model sees before it writes its response."""
    return f"{INSTRUCTION_HEADER}{instruction}{RESPONSE_HEADER}"


def format_example(instruction: str, response: str, eos_token: str) -> str:
    """A whole training example: prompt, response and the end-of-sequence token."""
    return f"{format_prompt(instruction)}{response}{eos_token}"


def split_response(generated: str) -> str:
    """The response part of a generated text that may still contain the prompt."""
    _, sep, tail = generated.partition(RESPONSE_HEADER)
    return tail if sep else generated
