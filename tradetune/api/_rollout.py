"""ModelServe rollout: verify a new model live before it takes traffic, watch it, roll back.

`spec.rollout` says how a new model revision replaces the served one; `status.candidate`,
`status.lastGoodModel` and `status.rollout` record where that stands, so a restarted operator
continues where the last one stopped. The state machine itself is `tradetune.operator.rollout`.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from tradetune.api._common import SpecModel, StatusModel
from tradetune.api._gate import MetricVerdict
from tradetune.api._verify import Tolerance

RolloutPhase = Literal["Stable", "Verifying", "Watching", "Reverifying", "RollingBack"]


class RolloutSpec(SpecModel):
    """How a new model revision takes traffic."""

    verify: bool | None = Field(
        None,
        description=(
            "Evaluate the new model live (a verification Job runs `tradetune evaluate --endpoint` "
            "against it) before it takes traffic. Unset: on when the model comes from a FineTuneJob "
            "(whose recorded metrics are the reference), off for a plain path."
        ),
    )
    samples: int = Field(
        64, description="Items of the FineTuneJob's test split the verification evaluates.", ge=1, le=100_000
    )
    tolerance: Tolerance = Field(
        default_factory=Tolerance,
        description=(
            "How much worse than the FineTuneJob's recorded metrics the live ones may be, per metric."
        ),
    )
    watch_seconds: int = Field(
        600,
        description=(
            "After the switch, how long the previous model is kept and the new one watched; a crash loop in "
            "this window, or a failed re-verification at its end, moves traffic back. 0: no window."
        ),
        ge=0,
        le=7 * 24 * 3600,
    )
    keep_previous: Literal["running", "scaledToZero"] = Field(
        "running",
        description=(
            "running: the previous Deployment keeps its replicas during the window (instant rollback, "
            "twice the GPUs); scaledToZero: it is scaled to 0 (no extra GPUs; a rollback waits for it "
            "to load again)."
        ),
    )
    strategy: Literal["blueGreen", "recreate"] = Field(
        "blueGreen",
        description=(
            "blueGreen: the candidate runs beside the served model until verified; recreate: the served "
            "model is stopped first (no GPU to spare; nothing is served meanwhile), the candidate is "
            "still verified, and a failure redeploys the last good revision."
        ),
    )


class CandidateStatus(StatusModel):
    """The revision being verified (or the last one that was refused) and why."""

    revision: str | None = Field(None, description="Model revision of the candidate.")
    phase: Literal["Deploying", "Verifying", "Passed", "Failed"] | None = Field(
        None, description="Where the candidate is."
    )
    message: str | None = Field(None, description="Why the candidate is where it is.")
    verdicts: list[MetricVerdict] = Field(
        default_factory=list, description="Per-metric verdicts of the last verification (live vs recorded)."
    )


class RolloutState(StatusModel):
    """Bookkeeping of the rollout state machine (kept so a restarted operator resumes)."""

    phase: RolloutPhase = Field(
        "Stable", description="Stable, Verifying, Watching, Reverifying or RollingBack."
    )
    served_revision: str | None = Field(None, description="Revision the Service selects.")
    previous_revision: str | None = Field(
        None, description="Revision kept during the watch window (the rollback target)."
    )
    switched_at: str | None = Field(None, description="When the Service moved to served_revision (RFC 3339).")
    rejected: list[str] = Field(
        default_factory=list,
        description="Revisions refused or rolled back; never deployed again automatically.",
    )
    rollbacks: int = Field(0, description="Rollbacks this ModelServe went through.", ge=0)
