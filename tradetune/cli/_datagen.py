"""CLI commands: generate, dataset split/stats/convert."""
