"""ModelServe: a vLLM OpenAI-compatible server for a fine-tuned (or any) model.

The model comes from a FineTuneJob's artifacts (the operator resolves the path and rolls the
Deployment when the job's model changes) or from a directory on a volume.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, StringConstraints, field_validator

from tradetune.api._access import API_KEY_DESCRIPTION, AUTH_DESCRIPTION, AuthMode, auth_rules
from tradetune.api._common import (
    API_VERSION,
    DNS_LABEL,
    MAX_NAME_LENGTH,
    Condition,
    ObjectMeta,
    ObjectModel,
    ResourcesSpec,
    SecretKeyRef,
    SpecModel,
    StatusModel,
    VolumeRef,
)
from tradetune.api._rollout import CandidateStatus, RolloutSpec, RolloutState
from tradetune.api._rules import Rule, at_least_one, exactly_one, has, needs

# Condition types of a ModelServe.
MODELSERVE_CONDITION_TYPES = ("Ready", "Progressing", "Degraded", "Stalled", "Verified")


class ModelSource(SpecModel):
    """Which model to serve: the output of a FineTuneJob, or a directory on the volume."""

    rules = (exactly_one("fromFineTuneJob", "path"), needs("adapterPath", "path"))

    from_fine_tune_job: str | None = Field(
        None,
        description="Name of a FineTuneJob in the same namespace; its merged model (or adapter) is served.",
        min_length=1,
        max_length=MAX_NAME_LENGTH,
        pattern=DNS_LABEL,
    )
    path: str | None = Field(
        None,
        description=(
            "Directory of the model on the volume (a merged model, or the base model in adapter mode)."
        ),
        min_length=1,
        max_length=1024,
    )
    adapter_path: str | None = Field(
        None,
        description="Directory of a LoRA adapter on the volume, served on top of path (mode adapter).",
        min_length=1,
        max_length=1024,
    )


class EngineSpec(SpecModel):
    """vLLM engine settings."""

    image: str | None = Field(
        None, description="Server image (the operator's default when unset).", min_length=1, max_length=512
    )
    max_model_len: int | None = Field(
        None, description="Context length the server accepts (the model's when unset).", ge=16, le=1_048_576
    )
    gpu_memory_utilization: float = Field(
        0.9, description="Share of GPU memory vLLM may use for weights and KV cache.", gt=0, le=1
    )
    tensor_parallel_size: int = Field(1, description="GPUs one replica shards the model over.", ge=1, le=64)
    dtype: Literal["auto", "bfloat16", "float16", "float32"] = Field(
        "auto", description="Weight and activation dtype."
    )
    extra_args: list[Annotated[str, StringConstraints(max_length=4096)]] = Field(
        default_factory=list,
        description="Extra vLLM command-line arguments, passed as they are.",
        max_length=64,
        json_schema_extra={"x-kubernetes-list-type": "atomic"},
    )


class ClientPeer(SpecModel):
    """Pods allowed to connect to the server, as a NetworkPolicy ingress peer (labels to match)."""

    rules = (at_least_one("namespaceSelector", "podSelector"),)

    namespace_selector: dict[str, str] | None = Field(
        None,
        description=(
            "Labels of the namespaces the clients run in (e.g. kubernetes.io/metadata.name: apps); "
            "the ModelServe's own namespace when unset."
        ),
    )
    pod_selector: dict[str, str] | None = Field(
        None, description="Labels of the client pods; every pod of the selected namespaces when unset."
    )

    @field_validator("namespace_selector", "pod_selector", mode="before")
    @classmethod
    def _prune_null_labels(cls, value: Any) -> Any:
        """A null map value is pruned by the API server; do the same."""
        if isinstance(value, dict):
            return {k: v for k, v in value.items() if v is not None}
        return value


class NetworkSpec(SpecModel):
    """Who may open a connection to the server pods (enforced by the cluster's NetworkPolicy)."""

    allow_from: list[ClientPeer] = Field(
        default_factory=list,
        description=(
            "Pods and namespaces allowed to connect; only pods of the ModelServe's own namespace when "
            "empty. Needs a CNI that enforces NetworkPolicy (Calico, Cilium, ...)."
        ),
        max_length=32,
        json_schema_extra={"x-kubernetes-list-type": "atomic"},
    )


class ModelServeSpec(SpecModel):
    """Desired state of a ModelServe."""

    rules = (
        Rule(
            "self.mode != 'adapter' || has(self.model.fromFineTuneJob) || has(self.model.adapterPath)",
            "mode adapter with model.path needs model.adapterPath",
            lambda m: m.mode != "adapter" or has(m.model, "fromFineTuneJob") or has(m.model, "adapterPath"),
        ),
        *auth_rules(),
    )

    model: ModelSource = Field(description="The model to serve.")
    mode: Literal["merged", "adapter"] = Field(
        "merged",
        description=(
            "merged: serve the merged model (fastest); adapter: serve the base model with the LoRA adapter."
        ),
    )
    served_model_name: str | None = Field(
        None,
        description="Model name clients pass in OpenAI requests (the ModelServe's name when unset).",
        min_length=1,
        max_length=256,
    )
    replicas: int = Field(1, description="Number of server pods.", ge=0, le=1000)
    engine: EngineSpec = Field(default_factory=EngineSpec, description="vLLM engine settings.")
    resources: ResourcesSpec = Field(
        default_factory=ResourcesSpec, description="Resources of each server pod."
    )
    auth: AuthMode = Field("apiKey", description=AUTH_DESCRIPTION)
    api_key_secret_ref: SecretKeyRef | None = Field(None, description=API_KEY_DESCRIPTION)
    public_metrics: bool = Field(
        True,
        description="Whether /metrics answers without the API key (for Prometheus); /health always does.",
    )
    max_request_bytes: int = Field(
        1 << 20,
        description="Largest request body the server accepts; bigger ones get 413 before they are read.",
        ge=1024,
        le=1 << 30,
    )
    network: NetworkSpec = Field(
        default_factory=NetworkSpec, description="Which pods may connect (the operator's NetworkPolicy)."
    )
    volume: VolumeRef | None = Field(
        None, description="Volume the model artifacts live on (mounted read-only)."
    )
    rollout: RolloutSpec | None = Field(
        None,
        description=(
            "How a new model revision takes traffic: live verification, watch window, rollback. For a "
            "model from a FineTuneJob the operator runs each revision in its own Deployment, verifies it "
            "live with a Job and moves the Service only on a pass (unset: the defaults; docs/serving.md). "
            "A plain `path` has no revisions: its one Deployment is rolled in place."
        ),
    )


ServeState = Literal["Waiting", "RollingOut", "Serving", "Degraded", "Failed"]


class ServedModel(StatusModel):
    """A model the server runs: what the ready replicas serve, or what is rolling out."""

    source: str | None = Field(
        None, description='Where the model comes from, for people: "FineTuneJob <name>" or the model path.'
    )
    name: str | None = Field(None, description="Model name clients pass in OpenAI requests.")
    fine_tune_job: str | None = Field(None, description="FineTuneJob the model came from.")
    path: str | None = Field(None, description="Directory of the served model.")
    adapter_path: str | None = Field(None, description="Directory of the served adapter (mode adapter).")
    revision: str | None = Field(
        None,
        description=(
            "Identity of the served weights (the FineTuneJob's uid/generation or the dataset fingerprint)."
        ),
    )


class ModelServeStatus(StatusModel):
    """Observed state of a ModelServe, written by the operator."""

    conditions: list[Condition] = Field(
        default_factory=list,
        description=(
            "Ready, Progressing, Degraded, Stalled (a server pod waits for a missing Secret) and Verified "
            "(the live verification of the last revision)."
        ),
        json_schema_extra={"x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["type"]},
    )
    observed_generation: int | None = Field(None, description="metadata.generation this status describes.")
    replicas: int = Field(0, description="Server pods that exist.", ge=0)
    ready_replicas: int = Field(0, description="Server pods ready to answer.", ge=0)
    selector: str | None = Field(
        None, description="Label selector of the server pods (for the scale subresource)."
    )
    state: ServeState | None = Field(
        None,
        description=(
            "One word for people and the STATUS column: Waiting (no model yet), RollingOut (a new model "
            "is starting; servedModel still answers), Serving, Degraded (serving, but something needs "
            "attention: see the Degraded condition) or Failed (nothing can be served: see Ready)."
        ),
    )
    served_model: ServedModel | None = Field(
        None, description="What the ready replicas serve now (kept while a new model rolls out)."
    )
    rolling_out: ServedModel | None = Field(
        None, description="The model being rolled out, until every replica serves it (then unset)."
    )
    endpoint: str | None = Field(None, description="In-cluster base URL of the OpenAI-compatible API.")
    message: str | None = Field(None, description="Human-readable state.")
    candidate: CandidateStatus | None = Field(
        None, description="The revision being verified, or the last one refused, and why."
    )
    last_good_model: ServedModel | None = Field(
        None,
        description="The last model that passed verification and its watch window (the rollback target).",
    )
    rollout: RolloutState | None = Field(
        None, description="Rollout bookkeeping, so a restarted operator resumes."
    )


class ModelServe(ObjectModel):
    """Serve a model with vLLM behind an OpenAI-compatible API, rolled out only when ready."""

    api_version: Literal["tradetune.dev/v1alpha1"] = Field(API_VERSION, description="tradetune.dev/v1alpha1")
    kind: Literal["ModelServe"] = Field("ModelServe", description="ModelServe")
    metadata: ObjectMeta = Field(default_factory=ObjectMeta, description="Standard object metadata.")
    spec: ModelServeSpec = Field(description="Desired state: model, engine, replicas, resources.")
    status: ModelServeStatus | None = Field(None, description="Observed state, written by the operator.")
