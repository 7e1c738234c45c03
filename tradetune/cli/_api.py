"""CLI commands: crds, validate."""
