"""Building blocks shared by FineTuneJob and ModelServe: base classes, references, conditions.

Spec models forbid unknown fields (a typo must be an error, not a silently ignored setting);
status and result models ignore them, so an older operator never chokes on a newer trainer's
output or on the fields kopf keeps in `status`.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any, ClassVar, Final, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic.alias_generators import to_camel
from pydantic.config import JsonDict

from tradetune.api._rules import Rule, add_validations, first_broken

GROUP = "tradetune.dev"
VERSION = "v1alpha1"
API_VERSION: Final = "tradetune.dev/v1alpha1"

# Kubernetes name shapes (apimachinery validation).
DNS_SUBDOMAIN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
DNS_LABEL = r"^[a-z]([-a-z0-9]*[a-z0-9])?$"
SECRET_KEY = r"^[-._a-zA-Z0-9]+$"
# resource.Quantity, as Kubernetes spells it in its own OpenAPI.
_NUM = r"(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))"
QUANTITY = rf"^(\+|-)?{_NUM}(([KMGTPE]i)|[numkMGTPE]|([eE](\+|-)?{_NUM}))?$"
CONDITION_REASON = r"^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$"
# Longest name a TradeTune object may have: child objects add a suffix and must stay within the
# 63 characters of a label value (the same reason CronJob names stop at 52).
MAX_NAME_LENGTH = 52


def _schema_with_rules(schema: JsonDict, cls: type[Any]) -> None:
    add_validations(schema, cls.rules)


class SpecModel(BaseModel):
    """Base of every user-written model: camelCase in YAML, snake_case in Python, no unknown fields.

    A subclass lists its cross-field `rules`; they reach the CRD as CEL and are checked here, after
    the fields, with the same message.
    """

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="forbid",
        validate_assignment=False,
        allow_inf_nan=False,
        json_schema_extra=_schema_with_rules,
    )
    rules: ClassVar[tuple[Rule, ...]] = ()

    @model_validator(mode="before")
    @classmethod
    def _null_is_unset(cls, data: Any) -> Any:
        """`field: null` means "not set", as the API server prunes nulls before defaulting."""
        if isinstance(data, dict):
            return {key: value for key, value in data.items() if value is not None}
        return data

    @model_validator(mode="after")
    def _check_rules(self) -> Self:
        broken = first_broken(self, self.rules)
        if broken is not None:
            raise ValueError(broken.message)
        return self


class StatusModel(BaseModel):
    """Base of status and result models: camelCase, unknown fields ignored (forward compatible)."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="ignore")


class ObjectModel(StatusModel):
    """Base of the top-level kinds: unknown top-level keys are refused, YAML output is camelCase."""

    model_config = ConfigDict(extra="forbid")

    def to_yaml_dict(self) -> dict[str, Any]:
        """The object as Kubernetes YAML/JSON (camelCase, unset fields left out)."""
        return self.model_dump(by_alias=True, exclude_none=True, mode="json")


class ObjectMeta(BaseModel):
    """Standard object metadata (the subset TradeTune reads); other keys are kept as they are."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="allow")

    name: str | None = Field(None, description="Name of the object, unique in its namespace.")
    namespace: str | None = Field(None, description="Namespace of the object.")
    uid: str | None = Field(None, description="UID assigned by the API server.")
    generation: int | None = Field(None, description="Generation of the spec, bumped on every change.")
    labels: dict[str, str] = Field(default_factory=dict, description="Labels of the object.")
    annotations: dict[str, str] = Field(default_factory=dict, description="Annotations of the object.")


class SecretKeyRef(SpecModel):
    """A key of a Secret in the object's namespace. Secrets are passed by reference only."""

    name: str = Field(description="Name of the Secret.", min_length=1, max_length=253, pattern=DNS_SUBDOMAIN)
    key: str = Field(
        "token",
        description="Key inside the Secret holding the value.",
        min_length=1,
        max_length=253,
        pattern=SECRET_KEY,
    )


class VolumeRef(SpecModel):
    """A PersistentVolumeClaim in the object's namespace, optionally a sub-directory of it."""

    rules = (
        Rule(
            "!has(self.subPath) || (!self.subPath.startsWith('/') && !self.subPath.contains('..'))",
            "subPath must be a relative path without '..'",
            lambda m: m.sub_path is None or not (m.sub_path.startswith("/") or ".." in m.sub_path),
        ),
    )

    claim_name: str = Field(
        description="Name of the PersistentVolumeClaim.", min_length=1, max_length=253, pattern=DNS_SUBDOMAIN
    )
    sub_path: str | None = Field(
        None,
        description="Directory inside the volume (relative, no '..'); the volume root when unset.",
        min_length=1,
        max_length=1024,
    )


def _quantity(value: Any) -> Any:
    """YAML writes `cpu: 4` as an integer; Kubernetes accepts int-or-string quantities."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return str(value)
    return value


DATE_TIME: JsonDict = {"format": "date-time"}
QUANTITY_EXTRA: dict[str, Any] = {"x-kubernetes-int-or-string": True}


class ResourcesSpec(SpecModel):
    """Compute resources and scheduling of the pods TradeTune creates."""

    profile: str | None = Field(
        None,
        description=(
            "Name of a resource profile from the operator's settings; it fills in cpu, memory, "
            "nodeSelector, tolerations, affinity and priorityClassName where they are not set here."
        ),
        min_length=1,
        max_length=63,
    )
    gpus: int = Field(1, description="Number of GPUs per pod (0 runs on CPU).", ge=0, le=64)
    gpu_resource_name: str = Field(
        "nvidia.com/gpu",
        description="Extended resource name of the GPU (e.g. nvidia.com/gpu, amd.com/gpu).",
        min_length=1,
        max_length=253,
    )
    cpu: str | None = Field(
        None,
        description="CPU request and limit (a Kubernetes quantity, e.g. 4 or 3500m).",
        max_length=64,
        pattern=QUANTITY,
        json_schema_extra=QUANTITY_EXTRA,
    )
    memory: str | None = Field(
        None,
        description="Memory request and limit (a Kubernetes quantity, e.g. 32Gi).",
        max_length=64,
        pattern=QUANTITY,
        json_schema_extra=QUANTITY_EXTRA,
    )
    node_selector: dict[str, str] = Field(
        default_factory=dict, description="Node labels the pods must match (pod spec nodeSelector)."
    )
    tolerations: list[dict[str, Any]] = Field(
        default_factory=list, description="Pod tolerations, as in a pod spec.", max_length=64
    )
    affinity: dict[str, Any] | None = Field(None, description="Pod affinity rules, as in a pod spec.")
    priority_class_name: str | None = Field(
        None, description="PriorityClass of the pods.", min_length=1, max_length=253, pattern=DNS_SUBDOMAIN
    )

    @field_validator("node_selector", mode="before")
    @classmethod
    def _prune_null_labels(cls, value: Any) -> Any:
        """A null map value is pruned by the API server; do the same."""
        if isinstance(value, dict):
            return {k: v for k, v in value.items() if v is not None}
        return value

    @field_validator("cpu", "memory", mode="before")
    @classmethod
    def _coerce_quantity(cls, value: Any) -> Any:
        return _quantity(value)


ConditionStatus = Literal["True", "False", "Unknown"]


class Condition(StatusModel):
    """One observation of the object's state (Kubernetes API conventions, kstatus-compatible)."""

    type: str = Field(description="Type of the condition in CamelCase, e.g. Ready.", max_length=316)
    status: ConditionStatus = Field(description="True, False or Unknown.")
    reason: str = Field(
        description="One-word CamelCase reason for the last transition.",
        min_length=1,
        max_length=1024,
        pattern=CONDITION_REASON,
    )
    message: str = Field("", description="Human-readable details of the transition.", max_length=32768)
    last_transition_time: str = Field(
        description="When the status last changed (RFC 3339, UTC).", json_schema_extra=DATE_TIME
    )
    observed_generation: int | None = Field(
        None, description="metadata.generation the condition was computed from."
    )


def rfc3339(now: datetime | None = None) -> str:
    """Kubernetes' timestamp format: second precision, UTC, `Z` suffix."""
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def get_condition(conditions: list[Condition], type: str) -> Condition | None:
    """The condition of that type, or None."""
    return next((c for c in conditions if c.type == type), None)


def set_condition(  # noqa: PLR0917  (positional order is the documented interface)
    conditions: list[Condition],
    type: str,
    status: ConditionStatus | bool,
    reason: str,
    message: str = "",
    generation: int | None = None,
    now: datetime | str | None = None,
) -> list[Condition]:
    """A new list with the condition of `type` set; the input list is not changed.

    lastTransitionTime moves only when the status changes, as the API conventions require:
    re-asserting a condition with a new reason or message keeps the time of the transition.
    """
    value: ConditionStatus = ("True" if status else "False") if isinstance(status, bool) else status
    stamp = now if isinstance(now, str) else rfc3339(now)
    old = get_condition(conditions, type)
    new = Condition(
        type=type,
        status=value,
        reason=reason,
        message=message,
        last_transition_time=old.last_transition_time if old is not None and old.status == value else stamp,
        observed_generation=generation,
    )
    if old is None:
        return [*conditions, new]
    return [new if c.type == type else c for c in conditions]


def is_dns_label(name: str) -> bool:
    """True when `name` can name a TradeTune object and the Services/Jobs derived from it."""
    return len(name) <= MAX_NAME_LENGTH and re.fullmatch(DNS_LABEL, name) is not None
