"""A create the API server refuses for good (4xx other than 409) becomes a failure in status.

Admission, schema validation, quota and RBAC refuse objects the operator's own validation lets
through: a toleration with an unknown operator, a GPU resource name a quota forbids, an image
name with a space, a Role without `create` on Jobs. Retrying such a request changes nothing, so
the object is marked Failed (FineTuneJob) or Degraded (ModelServe) with the API server's own
message, and the operator tries again only when the spec changes (a new generation).

Pure mapping, unit-tested in tests/unit/operator/test_refusals.py.
"""

from __future__ import annotations

from dataclasses import dataclass

from tradetune.api import Condition

# The start of every refusal message: how a later reconcile tells a refused create from a
# spec the operator's own validation rejected (that one is re-checked, e.g. after new settings).
REFUSED_PREFIX = "the API server refused to create"
REFUSAL_REASONS = frozenset({"InvalidSpec", "Forbidden"})


@dataclass(frozen=True)
class Refusal:
    """Why a child could not be created: a CamelCase reason and the API server's message."""

    reason: str
    message: str


def refusal(kind: str, name: str, status: int, api_message: str) -> Refusal | None:
    """The Refusal for an HTTP `status` answered to creating `kind` `name`; None when retrying helps.

    403 → Forbidden; any other 4xx but 404 (the namespace is going away), 408, 409 (exists
    already) and 429 (throttled) → InvalidSpec.
    """
    if status < 400 or status >= 500 or status in (404, 408, 409, 429):
        return None
    reason = "Forbidden" if status == 403 else "InvalidSpec"
    hint = (
        "grant the operator's service account the permission (docs/operator.md, RBAC) or fix the quota"
        if status == 403
        else "fix the spec; the operator tries again when it changes"
    )
    return Refusal(reason, f"{REFUSED_PREFIX} {kind} {name}: {api_message.strip()} ({hint})")


def still_refused(failed: Condition | None, generation: int | None) -> bool:
    """Whether the `Failed` condition is a create refused at this very generation (do not retry)."""
    return (
        failed is not None
        and failed.status == "True"
        and failed.reason in REFUSAL_REASONS
        and failed.message.startswith(REFUSED_PREFIX)
        and failed.observed_generation == generation
    )
