"""Which objects the operator may touch: its own children, and ModelServes that opted in.

The operator acts only on objects it made, and names can be taken by anyone: ownership is an
ownerReference carrying the owner's uid, never a matching name or label. Children have
deterministic names (`<job>-train`, `<job>-config`, `<serve>-vllm`), so a name alone proves
nothing: anyone allowed to create a Deployment could have taken `<serve>-vllm` first. Before
the operator patches, adopts or deletes a child it checks that the child's ownerReferences
carry the uid of the object it reconciles; a foreign object in the way is reported (reason
`NameConflict`) and left alone. Deletes carry `preconditions.uid`, so an object recreated by
someone else between the read and the delete survives.

Promotion patches another top-level object, a ModelServe. It may do so only when the
ModelServe opted in: its `spec.model.fromFineTuneJob` names the job, its
`tradetune.dev/accept-promotion-from` annotation lists the job (or `*`), or the job created
or promoted it before (the `tradetune.dev/promoted-from` annotation names the job's uid).
This is the one module that reads ownerReferences; both the reconcilers and the runtime use it.
Pure functions, unit-tested in tests/unit/operator/test_ownership.py.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tradetune.operator.builders import PROMOTED_FROM_ANNOTATION

NAME_CONFLICT = "NameConflict"
ACCEPT_PROMOTION_ANNOTATION = "tradetune.dev/accept-promotion-from"


def owned_by(obj: Mapping[str, Any], uid: str | None) -> bool:
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


def conflict_message(kind: str, name: str, owner_kind: str, owner_name: str) -> str:
    """What a user reads when a foreign object holds a child's name."""
    return (
        f"{kind} {name} exists but is not owned by {owner_kind} {owner_name}; "
        f"the operator leaves it alone: delete or rename it, or rename the {owner_kind}"
    )


def first_foreign(
    uid: str, children: list[tuple[str, dict[str, Any] | None]]
) -> tuple[str, dict[str, Any]] | None:
    """The first (kind, object) in `children` that exists and is not owned by `uid`."""
    for kind, obj in children:
        if obj is not None and not owned_by(obj, uid):
            return kind, obj
    return None


def may_promote_into(model_serve: dict[str, Any], job_name: str, job_uid: str) -> bool:
    """Whether the FineTuneJob (`job_name`, `job_uid`) may point this ModelServe at its model."""
    meta = model_serve.get("metadata") or {}
    annotations = meta.get("annotations") or {}
    model = (model_serve.get("spec") or {}).get("model") or {}
    if isinstance(model, dict) and model.get("fromFineTuneJob") == job_name:
        return True
    raw = str(annotations.get(ACCEPT_PROMOTION_ANNOTATION) or "")
    accepted = {part.strip() for part in raw.split(",")}
    if "*" in accepted or job_name in accepted:
        return True
    stamp = str(annotations.get(PROMOTED_FROM_ANNOTATION) or "")
    return bool(job_uid) and f" uid={job_uid} " in f"{stamp} "


def promotion_refused_message(model_serve: str, job_name: str) -> str:
    """What a user reads when a promotion targets a ModelServe that did not opt in."""
    return (
        f"ModelServe {model_serve} exists and did not opt in to promotions from {job_name}: "
        f"set its spec.model.fromFineTuneJob to {job_name}, or annotate it "
        f"{ACCEPT_PROMOTION_ANNOTATION}={job_name}"
    )
