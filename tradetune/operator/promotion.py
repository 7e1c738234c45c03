"""Promotion: what a FineTuneJob whose gate passed does to its ModelServe, as a pure function.

`promotion_step` says whether to create or patch the ModelServe named in `spec.promote` and what
the `Promoted` condition reads. A ModelServe this job created is recorded in
`status.createdModelServe` (with a digest of `spec.promote`); when a user deletes it, that is
their decision: it is not created again until `spec.promote` changes. An existing ModelServe is
patched only when it opted in (`tradetune.operator.ownership.may_promote_into`).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from tradetune.api import CreatedModelServe, FineTuneJob, FineTuneJobStatus, get_condition
from tradetune.jobstatus import Promotion
from tradetune.operator import builders, ownership


@dataclass(frozen=True)
class PromotionStep:
    """What to do about the ModelServe, and what the Promoted condition says."""

    promotion: Promotion
    create: dict[str, Any] | None = None
    patch: dict[str, Any] | None = None
    record: CreatedModelServe | None = None  # set when this step creates the ModelServe
    requeue_after: float | None = None


def alive(obj: dict[str, Any] | None) -> dict[str, Any] | None:
    """An object being deleted counts as gone (its finalizer still holds it for a moment)."""
    return None if obj is None or (obj.get("metadata") or {}).get("deletionTimestamp") else obj


def promote_digest(ftj: FineTuneJob) -> str:
    """A short digest of spec.promote: a created ModelServe is created again only when it changes."""
    promote = ftj.spec.promote
    text = json.dumps(promote.model_dump(by_alias=True, mode="json") if promote else None, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def model_serve_change(ftj: FineTuneJob, ms: dict[str, Any] | None) -> dict[str, Any] | None:
    """The merge patch a ModelServe needs to serve this job; None when it already does."""
    if ms is None:
        return None
    want = builders.model_serve_for_promotion(ftj, existing=ms)
    if want is None:  # the job does not promote
        return None
    spec_model = (ms.get("spec") or {}).get("model") or {}
    annotations = (ms.get("metadata") or {}).get("annotations") or {}
    stamp = want["metadata"]["annotations"][builders.PROMOTED_FROM_ANNOTATION]
    current = spec_model.get("fromFineTuneJob") == ftj.metadata.name and not spec_model.get("path")
    if current and annotations.get(builders.PROMOTED_FROM_ANNOTATION) == stamp:
        return None
    return want


def promotion_due(ftj: FineTuneJob, status: FineTuneJobStatus, model_serve: dict[str, Any] | None) -> bool:
    """Whether a settled, gated job has promotion work: a patch, a create, or a ModelServe gone."""
    if ftj.spec.promote is None or status.gate is None or not status.gate.passed:
        return False
    ms = alive(model_serve)
    promoted = get_condition(status.conditions, "Promoted")
    return (
        model_serve_change(ftj, ms) is not None
        or (ms is None and ftj.spec.promote.create)
        or (ms is None and promoted is not None and promoted.status == "True")
    )


def promotion_step(
    ftj: FineTuneJob, model_serve: dict[str, Any] | None, made: CreatedModelServe | None
) -> PromotionStep:
    """Create or update the ModelServe of `spec.promote` (see the module docstring)."""
    promote = ftj.spec.promote
    if promote is None:
        return PromotionStep(Promotion(False, "NotRequested"))
    ms = alive(model_serve)
    digest = promote_digest(ftj)
    ours = made is not None and made.name == promote.model_serve and made.promote_digest == digest
    if ms is None and promote.create and ours:
        return PromotionStep(
            Promotion(
                False,
                "ModelServeDeleted",
                f"ModelServe {promote.model_serve} was deleted, so nothing serves this model; "
                "it is not created again unless spec.promote changes.",
            )
        )
    if ms is None and not promote.create:
        text = f"ModelServe {promote.model_serve} does not exist; create it or set spec.promote.create."
        return PromotionStep(Promotion(False, "ModelServeNotFound", text), requeue_after=60.0)
    if ms is not None and not ownership.may_promote_into(ms, str(ftj.metadata.name), str(ftj.metadata.uid)):
        text = ownership.promotion_refused_message(promote.model_serve, str(ftj.metadata.name))
        return PromotionStep(Promotion(False, ownership.NAME_CONFLICT, text))
    done = Promotion(True, "Promoted", f"promoted to ModelServe {promote.model_serve}")
    if ms is None:
        return PromotionStep(
            done,
            create=builders.model_serve_for_promotion(ftj, existing=None),
            record=CreatedModelServe(name=promote.model_serve, promote_digest=digest),
        )
    return PromotionStep(done, patch=model_serve_change(ftj, ms))
