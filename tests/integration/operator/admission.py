"""What a real API server refuses before storing anything: the emulator's admission checks.

- UID preconditions: `DeleteOptions.preconditions.uid`, or `metadata.uid` in a patch, that
  does not match the stored object → 409 Conflict (the object was replaced meanwhile).
- Pod templates a real API server rejects with 422 Invalid (field validation of core/v1):
  a toleration with an invalid operator or effect, a resource name that is not a qualified
  name, an image name with whitespace. Only what the operator's tests need is checked.
"""

from __future__ import annotations

import math
import re
from typing import Any

# A qualified name: optional DNS-subdomain prefix and a name part of [A-Za-z0-9_.-].
_QUALIFIED = re.compile(r"^([a-z0-9]([-a-z0-9.]*[a-z0-9])?/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$")
_TOLERATION_OPERATORS = {"Exists", "Equal"}
_TOLERATION_EFFECTS = {"NoSchedule", "PreferNoSchedule", "NoExecute"}


def uid_precondition_failure(options: Any, stored_uid: str) -> str | None:
    """The API server's message when the caller's uid precondition does not hold, else None."""
    if not isinstance(options, dict):
        return None
    wanted = (options.get("preconditions") or {}).get("uid") or (options.get("metadata") or {}).get("uid")
    if wanted and wanted != stored_uid:
        return f"Precondition failed: UID in precondition: {wanted}, UID in object meta: {stored_uid}"
    return None


def _pod_spec(obj: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
    kind = obj.get("kind")
    spec = obj.get("spec") or {}
    if kind == "Pod":
        return "spec", spec
    if kind == "Job":
        return "spec.template.spec", (spec.get("template") or {}).get("spec") or {}
    if kind == "Deployment":
        return "spec.template.spec", (spec.get("template") or {}).get("spec") or {}
    return None


def invalid_pod_spec(obj: dict[str, Any]) -> str | None:
    """A 422 message for a pod template a real API server refuses; None when it would accept it."""
    found = _pod_spec(obj)
    if found is None:
        return None
    where, spec = found
    problems: list[str] = []
    for i, toleration in enumerate(spec.get("tolerations") or []):
        operator = toleration.get("operator", "Equal")
        if operator not in _TOLERATION_OPERATORS:
            problems.append(
                f'{where}.tolerations[{i}].operator: Unsupported value: "{operator}": '
                'supported values: "Equal", "Exists"'
            )
        effect = toleration.get("effect")
        if effect and effect not in _TOLERATION_EFFECTS:
            problems.append(
                f'{where}.tolerations[{i}].effect: Unsupported value: "{effect}": '
                'supported values: "NoExecute", "NoSchedule", "PreferNoSchedule"'
            )
    for kind in ("containers", "initContainers"):
        for i, container in enumerate(spec.get(kind) or []):
            image = str(container.get("image") or "")
            if image != image.strip() or " " in image:
                problems.append(f'{where}.{kind}[{i}].image: Invalid value: "{image}": must not have spaces')
            for section in ("limits", "requests"):
                for name in (container.get("resources") or {}).get(section) or {}:
                    if not _QUALIFIED.match(str(name)):
                        problems.append(
                            f"{where}.{kind}[{i}].resources.{section}[{name}]: Invalid value: "
                            f'"{name}": must be a standard resource type or fully qualified'
                        )
    if not problems:
        return None
    name = (obj.get("metadata") or {}).get("name", "")
    return f'{obj.get("kind")}.{_group(obj)} "{name}" is invalid: ' + ", ".join(problems)


def _group(obj: dict[str, Any]) -> str:
    api_version = str(obj.get("apiVersion") or "v1")
    return api_version.split("/", maxsplit=1)[0] if "/" in api_version else ""


def non_finite_number(data: Any, where: str = "") -> str | None:
    """The API server decodes strict JSON: NaN and Infinity are no numbers → 400 BadRequest."""
    if isinstance(data, float) and not math.isfinite(data):
        return f"unable to decode the body: {where or '(root)'}: {data} is not valid JSON"
    items = data.items() if isinstance(data, dict) else enumerate(data) if isinstance(data, list) else ()
    for key, value in items:
        found = non_finite_number(value, f"{where}.{key}" if where else str(key))
        if found is not None:
            return found
    return None
