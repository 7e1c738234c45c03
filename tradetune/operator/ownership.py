"""Whether the operator owns an object: the one rule both the reconcilers and the runtime use.

The operator acts only on objects it made, and names can be taken by anyone: ownership is an
ownerReference carrying the owner's uid, never a matching name or label.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def owned_by(obj: dict[str, Any], uid: str | None) -> bool:
    """True when `obj` has an ownerReference to the object with `uid` (an empty uid owns nothing)."""
    if not uid:
        return False
    refs = (obj.get("metadata") or {}).get("ownerReferences") or []
    return any(isinstance(ref, dict) and ref.get("uid") == uid for ref in refs)


def owner_uids(obj: Mapping[str, Any]) -> tuple[str, ...]:
    """The uids of every owner of `obj` (for indexes that decide ownership later with a uid)."""
    refs = (obj.get("metadata") or {}).get("ownerReferences") or []
    return tuple(str(ref["uid"]) for ref in refs if isinstance(ref, dict) and ref.get("uid"))


def controller_uid(obj: Mapping[str, Any]) -> str | None:
    """The uid of the owner marked `controller: true` (the Job of a pod), None without one."""
    refs = (obj.get("metadata") or {}).get("ownerReferences") or []
    return next(
        (
            str(ref["uid"])
            for ref in refs
            if isinstance(ref, dict) and ref.get("controller") and ref.get("uid")
        ),
        None,
    )
