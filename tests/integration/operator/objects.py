"""Pure helpers of the emulator: the resources it serves, label selectors, RFC 7386 merge patches."""

from __future__ import annotations

import copy
import re
from typing import Any

import kmock

from tradetune.api import crd_documents

_VERBS = frozenset({"get", "list", "watch", "create", "update", "patch", "delete"})


def _resource_info(crd: dict[str, Any]) -> tuple[str, kmock.ResourceInfo]:
    """The emulator's resource entry for one of our generated CRDs: it serves what they declare."""
    spec, names = crd["spec"], crd["spec"]["names"]
    version = next(v for v in spec["versions"] if v.get("served"))
    return f"{spec['group']}/{version['name']}/{names['plural']}", kmock.ResourceInfo(
        kind=names["kind"],
        singular=names["singular"],
        namespaced=spec["scope"] == "Namespaced",
        shortnames=set(names.get("shortNames", [])),
        categories=set(names.get("categories", [])),
        subresources=set(version.get("subresources", {})),
        verbs=set(_VERBS),
    )


TRADETUNE_RESOURCES: dict[str, kmock.ResourceInfo] = dict(
    _resource_info(crd) for documents in crd_documents().values() for crd in documents
)


def selector_matches(selector: str | None, labels: dict[str, str]) -> bool:
    """Equality-based label selectors: `a=b`, `a==b`, `a!=b`, `a`, `!a`, comma-joined."""
    if not selector:
        return True
    for term in (t.strip() for t in selector.split(",")):
        if not term:
            continue
        if "!=" in term:
            key, value = term.split("!=", 1)
            if labels.get(key.strip()) == value.strip():
                return False
        elif "=" in term:
            key, value = re.split(r"==?", term, maxsplit=1)
            if labels.get(key.strip()) != value.strip():
                return False
        elif term.startswith("!"):
            if term[1:].strip() in labels:
                return False
        elif term not in labels:
            return False
    return True


def merge(base: Any, patch: Any) -> Any:
    """RFC 7386 merge patch: dicts merge recursively, null deletes, everything else replaces."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = dict(base) if isinstance(base, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge(result.get(key), value)
    return result


def spec_part(obj: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in obj.items() if k not in ("metadata", "status")}
