"""ModelServe status from one rollout step. Pure: the step's decision in, status fields out.

`status.servedModel` is what the main Service selects, never what was asked for; Ready is True
only when that revision's replicas are all available and the Service selects them, with reason
`RolledBack` from a rollback until another revision takes traffic; Progressing is True while
the rollout is not Stable; Verified carries the last verification (its per-metric verdicts are
in `status.candidate.verdicts`); Degraded follows the served revision's pods (server_pods.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tradetune.api import ModelServeStatus, get_condition, set_condition
from tradetune.jobstatus import short
from tradetune.operator.reconcile_modelserve import deployment_state
from tradetune.operator.rollout_types import PointService, RolloutDecision, RolloutObserved
from tradetune.operator.server_pods import server_failure

ROLLED_BACK = "RolledBack"


@dataclass(frozen=True)
class StepView:
    """What the status needs besides the decision: the served revision's Deployment and pods."""

    observed: RolloutObserved
    serving: dict[str, Any] | None  # the Deployment of the revision the Service selects
    serving_pods: list[dict[str, Any]]
    unresolved: tuple[str, str] | None = None  # (reason, message) when the model cannot be resolved
    waiting: bool = False  # the unresolved model may still come (the FineTuneJob has not finished)


def selected_after(decision: RolloutDecision, observed: RolloutObserved) -> str | None:
    """The revision the main Service selects once the step's actions are applied."""
    points = [a.revision for a in decision.actions if isinstance(a, PointService)]
    return points[-1] if points else observed.service_revision


def apply(  # noqa: PLR0917
    old: ModelServeStatus,
    new: ModelServeStatus,
    decision: RolloutDecision,
    view: StepView,
    generation: int | None,
    stamp: str,
) -> bool:
    """Fill `new` from the step; returns whether the ModelServe is Degraded."""

    def cond(type_: str, value: bool, reason: str, message: str = "") -> None:
        new.conditions = set_condition(new.conditions, type_, value, reason, message, generation, stamp)

    state = decision.status.state
    phase = state.phase
    served_rev = state.served_revision
    new.rollout = state
    new.candidate = decision.status.candidate
    new.last_good_model = decision.status.last_good_model
    selected = selected_after(decision, view.observed)
    serving = view.serving if selected == served_rev else None
    # What the Service selects (recreate: selected even while its pods are stopped).
    new.served_model = decision.status.served_model if selected == served_rev and served_rev else None
    new.rolling_out = view.observed.desired if phase == "Verifying" else None
    status = (serving or {}).get("status") or {}
    replicas = int(((serving or {}).get("spec") or {}).get("replicas") or 0)
    new.replicas = int(status.get("replicas") or 0)
    new.ready_replicas = int(status.get("readyReplicas") or 0)
    ready = serving is not None and replicas > 0 and deployment_state(serving, replicas)[0] == "ready"
    candidate_message = (decision.status.candidate.message if decision.status.candidate else None) or ""
    old_ready = get_condition(old.conditions, "Ready")
    rolled_back = decision.rolled_back or (
        old_ready is not None
        and old_ready.reason == ROLLED_BACK
        and old.rollout is not None
        and old.rollout.served_revision == served_rev
    )
    if ready and new.served_model is not None:
        message = f"{new.ready_replicas}/{replicas} replicas serve {new.served_model.source}"
        if rolled_back:
            why = decision.verified.message if decision.rolled_back and decision.verified else None
            message = (why or (old_ready.message if old_ready else "")) or message
        cond("Ready", True, ROLLED_BACK if rolled_back else "Available", message)
    elif served_rev is None and view.unresolved is not None:
        reason, message = view.unresolved
        cond("Ready", False, reason, message)
    elif phase == "Verifying":  # the first revision, or recreate: nothing served meanwhile
        message = candidate_message or "verifying the candidate"
        cond("Ready", False, "Verifying", message)
    elif phase == "RollingBack":
        message = candidate_message or "rolling back"
        cond("Ready", False, "RollingBack", message)
    else:
        message = "waiting for the served revision's replicas to become ready"
        cond("Ready", False, "RolloutInProgress", message)
    if phase == "Stable":
        cond("Progressing", False, "RolloutComplete" if ready else phase, "")
    else:
        cond("Progressing", True, phase, candidate_message)
        if ready:
            message = f"{message}; {candidate_message}" if candidate_message else message
    failure = server_failure(view.serving_pods) if not ready else None
    degraded = False
    if failure is not None:
        cond("Degraded", True, failure[0], failure[1])
        message, degraded = failure[1], True
    elif view.unresolved is not None and not view.waiting:
        text = f"keeping the current model: {view.unresolved[1]}"
        cond("Degraded", True, view.unresolved[0], text)
        message, degraded = text, True
    else:
        cond("Degraded", False, "AsExpected", "")
    if decision.verified is not None:
        verified = decision.verified
        cond("Verified", verified.status, verified.reason, verified.message)
    if degraded:
        new.state = "Degraded"
    elif ready:
        new.state = "Serving" if phase in ("Stable", "Watching") else "RollingOut"
    else:
        new.state = "Waiting" if served_rev is None and view.waiting else "RollingOut"
    new.message = short(message)
    return degraded
