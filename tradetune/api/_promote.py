"""`spec.promote` of a FineTuneJob: which ModelServe serves the model, and how one it creates is served.

Its own module because promotion joins the two kinds: it borrows ModelServe's engine settings
and access rules, and the FineTuneJob spec only refers to it.
"""

from __future__ import annotations

from pydantic import Field

from tradetune.api._access import API_KEY_DESCRIPTION, AUTH_DESCRIPTION, AuthMode, auth_rules
from tradetune.api._common import (
    DNS_LABEL,
    MAX_NAME_LENGTH,
    ResourcesSpec,
    SecretKeyRef,
    SpecModel,
    VolumeRef,
)
from tradetune.api._modelserve import EngineSpec

__all__ = ["ModelServeTemplate", "PromoteSpec"]


class ModelServeTemplate(SpecModel):
    """How the ModelServe that `promote.create` makes is served (ignored for an existing one)."""

    resources: ResourcesSpec | None = Field(
        None,
        description=(
            "Resources and scheduling of each server pod (gpus, cpu, memory, nodeSelector, tolerations, "
            "or a profile of the operator's settings). Unset: the trainer's scheduling is reused "
            "(profile, gpus, gpuResourceName, nodeSelector, tolerations, affinity, priorityClassName), "
            "so the server lands on the same kind of (possibly tainted) GPU node."
        ),
    )
    replicas: int | None = Field(None, description="Number of server pods (1 when unset).", ge=0, le=1000)
    engine: EngineSpec | None = Field(None, description="vLLM engine settings (the defaults when unset).")
    volume: VolumeRef | None = Field(
        None, description="Volume the model is read from (the job's output volume when unset)."
    )


class PromoteSpec(SpecModel):
    """Serve the model with a ModelServe when the gate passes."""

    rules = auth_rules(unless=("!self.create", lambda m: not m.create))

    model_serve: str = Field(
        description="Name of the ModelServe (same namespace) that should serve the model.",
        min_length=1,
        max_length=MAX_NAME_LENGTH,
        pattern=DNS_LABEL,
    )
    create: bool = Field(
        False,
        description=(
            "Create the ModelServe (from modelServeTemplate) when it does not exist; otherwise the "
            "existing ModelServe is pointed at this job. A ModelServe this job created and a user "
            "deleted is not created again until spec.promote changes (Promoted=False, "
            "ModelServeDeleted)."
        ),
    )
    auth: AuthMode = Field(
        "apiKey", description="auth of a ModelServe this promotion creates: " + AUTH_DESCRIPTION
    )
    api_key_secret_ref: SecretKeyRef | None = Field(
        None, description="apiKeySecretRef of a ModelServe this promotion creates: " + API_KEY_DESCRIPTION
    )
    model_serve_template: ModelServeTemplate | None = Field(
        None, description="Serving settings of the ModelServe that create makes."
    )
