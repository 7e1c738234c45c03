"""The rollout state machine's vocabulary: what it observes, the actions it asks for, its result.

Plain frozen data, shared by the machine (rollout.py), the reading of children
(rollout_observe.py), the status mapping (rollout_status.py) and the planning of API calls
(rollout_serve.py). Child names that must be the same after any restart are made here too.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from tradetune.api import EvalMetrics, ServedModel, TrainResult
from tradetune.api._rollout import CandidateStatus, RolloutState

Stage = Literal["verify", "reverify"]


def revision_slug(revision: str) -> str:
    """A short DNS-safe token for a revision, used in child names (deterministic)."""
    return hashlib.sha256(revision.encode()).hexdigest()[:10]


def verify_job_name(name: str, revision: str, stage: Stage) -> str:
    """The verification Job of one revision and stage (the same name after any restart)."""
    return f"{name}-{stage}-{revision_slug(revision)}"


@dataclass(frozen=True)
class DeploymentObs:
    """What the operator saw of one revision's Deployment."""

    replicas: int
    ready: bool = False
    crash_looping: bool = False


@dataclass(frozen=True)
class JobObs:
    """A verification Job: finished or not, and the result from its termination message."""

    finished: bool = False
    result: TrainResult | None = None
    message: str = ""


@dataclass(frozen=True)
class RolloutObserved:
    """Inputs of one step; `deployments` and `jobs` hold only children this ModelServe owns."""

    name: str
    desired: ServedModel | None
    recorded: EvalMetrics | None
    from_fine_tune_job: bool
    replicas: int
    deployments: Mapping[str, DeploymentObs] = field(default_factory=dict)  # by revision
    service_revision: str | None = None  # revision the main Service selects (None: no Service)
    candidate_service: str | None = None  # revision the candidate Service selects
    jobs: Mapping[str, JobObs] = field(default_factory=dict)  # by Job name


@dataclass(frozen=True)
class RolloutStatus:
    """The part of ModelServe.status the machine owns."""

    state: RolloutState = field(default_factory=RolloutState)
    candidate: CandidateStatus | None = None
    served_model: ServedModel | None = None
    last_good_model: ServedModel | None = None
    previous_model: ServedModel | None = None  # the rollback target during the window


@dataclass(frozen=True)
class EnsureDeployment:
    revision: str
    replicas: int


@dataclass(frozen=True)
class DeleteDeployment:
    revision: str


@dataclass(frozen=True)
class EnsureCandidateService:
    revision: str


@dataclass(frozen=True)
class DeleteCandidateService:
    pass


@dataclass(frozen=True)
class EnsureVerifyJob:
    revision: str
    stage: Stage
    job_name: str
    through: Literal["candidate", "main"]


@dataclass(frozen=True)
class DeleteVerifyJob:
    job_name: str


@dataclass(frozen=True)
class PointService:
    revision: str


@dataclass(frozen=True)
class RolloutEvent:
    type: Literal["Normal", "Warning"]
    reason: str
    message: str


Action = (
    EnsureDeployment
    | DeleteDeployment
    | EnsureCandidateService
    | DeleteCandidateService
    | EnsureVerifyJob
    | DeleteVerifyJob
    | PointService
    | RolloutEvent
)


@dataclass(frozen=True)
class Verified:
    """The Verified condition: status, CamelCase reason, message."""

    status: bool
    reason: str
    message: str


@dataclass
class RolloutDecision:
    actions: list[Action] = field(default_factory=list)
    status: RolloutStatus = field(default_factory=RolloutStatus)
    verified: Verified | None = None
    rolled_back: bool = False  # count one tradetune_modelserve_rollbacks_total
    requeue_after: float | None = None  # seconds until the watch window ends
