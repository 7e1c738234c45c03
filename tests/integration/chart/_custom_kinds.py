"""Schemas for the kinds in the chart that kubernetes-validate does not know.

The prometheus-operator kinds get minimal schemas of their own (the fields the chart sets,
nothing unknown); the kopf peering kinds are checked against the CRDs the chart ships.
"""

from __future__ import annotations

from typing import Any

import jsonschema
import yaml

from tests.integration.chart._support import CHART

# Kinds kubernetes-validate has no schema for; each is validated below with a schema of its own.
CUSTOM_KINDS = {
    ("monitoring.coreos.com/v1", "ServiceMonitor"),
    ("monitoring.coreos.com/v1", "PrometheusRule"),
    ("kopf.dev/v1", "KopfPeering"),
    ("kopf.dev/v1", "ClusterKopfPeering"),
}
NAME = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
LABELS = {"type": "object", "additionalProperties": {"type": "string"}}
META = {
    "type": "object",
    "required": ["name", "labels"],
    "properties": {
        "name": {"type": "string", "pattern": NAME},
        "namespace": {"type": "string"},
        "labels": LABELS,
    },
}
# Minimal schemas of the prometheus-operator kinds: the fields the chart sets, nothing unknown.
SERVICE_MONITOR = {
    "type": "object",
    "required": ["apiVersion", "kind", "metadata", "spec"],
    "additionalProperties": False,
    "properties": {
        "apiVersion": {"const": "monitoring.coreos.com/v1"},
        "kind": {"const": "ServiceMonitor"},
        "metadata": META,
        "spec": {
            "type": "object",
            "additionalProperties": False,
            "required": ["selector", "endpoints"],
            "properties": {
                "jobLabel": {"type": "string"},
                "selector": {
                    "type": "object",
                    "additionalProperties": False,
                    "properties": {"matchLabels": LABELS},
                },
                "namespaceSelector": {
                    "type": "object",
                    "additionalProperties": False,
                    "properties": {"matchNames": {"type": "array", "items": {"type": "string"}}},
                },
                "endpoints": {
                    "type": "array",
                    "minItems": 1,
                    "items": {
                        "type": "object",
                        "additionalProperties": False,
                        "required": ["port"],
                        "properties": {
                            "port": {"type": "string"},
                            "path": {"type": "string"},
                            "interval": {"type": "string", "pattern": "^[0-9]+(ms|s|m|h)$"},
                            "scrapeTimeout": {"type": "string", "pattern": "^[0-9]+(ms|s|m|h)$"},
                        },
                    },
                },
            },
        },
    },
}
PROMETHEUS_RULE = {
    "type": "object",
    "required": ["apiVersion", "kind", "metadata", "spec"],
    "additionalProperties": False,
    "properties": {
        "apiVersion": {"const": "monitoring.coreos.com/v1"},
        "kind": {"const": "PrometheusRule"},
        "metadata": META,
        "spec": {
            "type": "object",
            "additionalProperties": False,
            "required": ["groups"],
            "properties": {
                "groups": {
                    "type": "array",
                    "minItems": 1,
                    "items": {
                        "type": "object",
                        "additionalProperties": False,
                        "required": ["name", "rules"],
                        "properties": {
                            "name": {"type": "string"},
                            "rules": {
                                "type": "array",
                                "items": {
                                    "type": "object",
                                    "additionalProperties": False,
                                    "required": ["alert", "expr"],
                                    "properties": {
                                        "alert": {"type": "string"},
                                        "expr": {"type": "string"},
                                        "for": {"type": "string", "pattern": "^[0-9]+(ms|s|m|h)$"},
                                        "labels": LABELS,
                                        "annotations": LABELS,
                                    },
                                },
                            },
                        },
                    },
                },
            },
        },
    },
}


def _peering_schema(kind: str) -> dict[str, Any]:
    """The openAPIV3Schema of the kopf peering CRD shipped in the chart's crds/."""
    for doc in yaml.safe_load_all((CHART / "crds" / "peering.yaml").read_text(encoding="utf-8")):
        if doc and doc["spec"]["names"]["kind"] == kind:
            version = next(v for v in doc["spec"]["versions"] if v["name"] == "v1")
            schema: dict[str, Any] = version["schema"]["openAPIV3Schema"]
            return schema
    raise AssertionError(f"charts/tradetune/crds/peering.yaml has no {kind} CRD")


def validate_custom(obj: dict[str, Any]) -> None:
    """Validate one object of a CUSTOM_KINDS kind against its schema (fails with jsonschema's error)."""
    kind = obj["kind"]
    if kind == "ServiceMonitor":
        jsonschema.validate(obj, SERVICE_MONITOR)
    elif kind == "PrometheusRule":
        jsonschema.validate(obj, PROMETHEUS_RULE)
    else:
        assert set(obj) <= {"apiVersion", "kind", "metadata", "status"}, obj
        jsonschema.validate(obj, _peering_schema(kind))
        jsonschema.validate(obj["metadata"], META)
