"""CLI commands: serve."""
