"""SFT core (QLoRA / LoRA / full) and the tiny-model builder.

The public face of the trainer; the modules behind it are private to the package.
"""

from tradetune.training.corpus import generic_corpus
from tradetune.training.tiny import TinyModelConfig, build_tiny_model

__all__ = ["TinyModelConfig", "build_tiny_model", "generic_corpus"]
