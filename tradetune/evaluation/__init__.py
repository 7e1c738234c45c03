"""Evaluation suite: perplexity, PineScript checks, task accuracy, samples for human review."""
