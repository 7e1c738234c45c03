"""CLI commands: train, evaluate, tiny-model."""
