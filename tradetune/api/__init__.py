"""Pydantic models of FineTuneJob, ModelServe and TrainResult: the one source of truth for the CRDs.

Imports no heavy library (no torch, no transformers) so the operator image stays small.
"""
