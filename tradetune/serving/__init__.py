"""vLLM launch (args from ModelServe) and the /generate route."""
