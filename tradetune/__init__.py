"""TradeTune: fine-tune trading-domain LLMs, gate them on evaluations, serve them with vLLM."""

__version__ = "0.1.0"
