"""Merge patches the operator sends, and which objects a periodic resync still needs to visit.

Pure functions of the objects involved (unit-tested), kept apart from `runtime.py`'s I/O.
"""

from __future__ import annotations

from typing import Any

from tradetune.operator import ownership


def status_patch(old: dict[str, Any] | None, new: dict[str, Any]) -> dict[str, Any]:
    """A merge patch that turns `old` into `new` (removed keys become null, nested ones too).

    A merge patch merges nested objects key by key, so a key that disappears inside one
    (`status.rollout.previousRevision` after the window) must be sent as null, or it stays.
    """
    return {"status": _merge_patch(old or {}, new)}


def _merge_patch(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    patch: dict[str, Any] = {key: None for key in old if key not in new}
    for key, value in new.items():
        before = old.get(key)
        patch[key] = (
            _merge_patch(before, value) if isinstance(before, dict) and isinstance(value, dict) else value
        )
    return patch


def still_moving(body: dict[str, Any]) -> bool:
    """Whether a periodic reconcile of this FineTuneJob can change anything (finished ones rest)."""
    meta = body.get("metadata") or {}
    status = body.get("status") or {}
    if meta.get("deletionTimestamp"):
        return False
    if status.get("observedGeneration") != meta.get("generation"):
        return True
    if status.get("phase") not in ("Succeeded", "Failed"):
        return True
    return any(
        c.get("type") == "Promoted" and c.get("reason") in ("ModelServeNotFound", ownership.NAME_CONFLICT)
        for c in status.get("conditions") or []
        if isinstance(c, dict)
    )


def with_uid(patch: dict[str, Any], observed: dict[str, Any]) -> dict[str, Any]:
    """`patch` with the observed object's uid: the API server refuses it (409) for any other object."""
    uid = (observed.get("metadata") or {}).get("uid")
    if not uid:
        return patch
    return {**patch, "metadata": {**(patch.get("metadata") or {}), "uid": uid}}


# Optional pod-spec fields: a merge patch must null them explicitly when the spec drops them.
_OPTIONAL_POD_FIELDS = ("nodeSelector", "tolerations", "affinity", "priorityClassName")


def child_patch(desired: dict[str, Any]) -> dict[str, Any]:
    """A merge patch that makes an existing child match `desired` (lists are replaced whole)."""
    patch: dict[str, Any] = {
        "metadata": {
            "labels": desired["metadata"].get("labels"),
            "annotations": desired["metadata"].get("annotations"),
        },
        "spec": dict(desired["spec"]),
    }
    template = patch["spec"].get("template")
    if isinstance(template, dict):
        pod_spec = dict(template.get("spec") or {})
        for key in _OPTIONAL_POD_FIELDS:
            pod_spec.setdefault(key, None)
        patch["spec"]["template"] = {**template, "spec": pod_spec}
    return patch
