"""The part of an object, as the API server returns it, that the api models parse.

Both reconcilers parse their object (and a ModelServe the FineTuneJob it serves) from the
watched body: only apiVersion, kind, the identifying metadata and the spec count; the rest
(status, managedFields, resourceVersion, kopf's annotations as values) is not the user's spec.
"""

from __future__ import annotations

from typing import Any

from tradetune.api import API_VERSION

METADATA_KEPT = ("name", "namespace", "uid", "generation", "labels", "annotations")


def api_object(body: dict[str, Any], kind: str) -> dict[str, Any]:
    """`body` reduced to what `parse_finetunejob` / `parse_modelserve` accept."""
    meta = body.get("metadata") or {}
    return {
        "apiVersion": body.get("apiVersion", API_VERSION),
        "kind": kind,
        "metadata": {k: meta[k] for k in METADATA_KEPT if k in meta},
        "spec": body.get("spec"),
    }
