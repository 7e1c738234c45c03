"""SFT core (QLoRA / LoRA / full) and the tiny-model builder."""
