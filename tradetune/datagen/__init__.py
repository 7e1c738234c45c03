"""The trading dataset generator: task families, synthetic OHLCV, PineScript templates."""
