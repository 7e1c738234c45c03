"""Objects as the API server would return them, for the operator's unit tests."""

from __future__ import annotations

import copy
from typing import Any

from tradetune.api import Artifacts, EvalMetrics, TrainResult
from tradetune.operator.settings import OperatorSettings, ResourceProfile

NS = "ml"
UID = "0f0e0d0c-0000-4000-8000-000000000001"
SETTINGS = OperatorSettings(
    trainer_image="registry.test/trainer:1",
    server_image="registry.test/server:1",
    profiles={
        "a100": ResourceProfile(
            gpus=2,
            gpu_resource_name="nvidia.com/gpu",
            cpu="16",
            memory="120Gi",
            node_selector={"gpu": "a100"},
            tolerations=[{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}],
        )
    },
)


def ftj_body(
    name: str = "pine", generation: int = 1, status: dict[str, Any] | None = None, **spec: Any
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "baseModel": {"name": "mistralai/Mistral-7B-v0.1", "tokenSecretRef": {"name": "hf", "key": "token"}},
        "dataset": {"generate": {"train": 1000, "validation": 100, "test": 100}},
        "evaluation": {"thresholds": {"perplexity": {"max": 20}, "taskAccuracy": {"min": 0.5}}},
        "output": {"claimName": "artifacts", "subPath": f"runs/{name}"},
        "cache": {"claimName": "hf-cache"},
    }
    body.update(copy.deepcopy(spec))
    obj: dict[str, Any] = {
        "apiVersion": "tradetune.dev/v1alpha1",
        "kind": "FineTuneJob",
        "metadata": {
            "name": name,
            "namespace": NS,
            "uid": UID,
            "generation": generation,
            "resourceVersion": "17",
            "creationTimestamp": "2026-01-01T00:00:00Z",
            "annotations": {"tradetune.dev/last-handled-configuration": "{}"},
            "finalizers": ["tradetune.dev/finalizer"],
        },
        "spec": body,
    }
    if status is not None:
        obj["status"] = status
    return obj


def result_message(perplexity: float = 8.0, accuracy: float = 0.8, outcome: str = "Succeeded") -> str:
    return TrainResult(
        outcome=outcome,  # type: ignore[arg-type]
        reason="Completed" if outcome == "Succeeded" else "Diverged",
        message="done" if outcome == "Succeeded" else "loss is NaN",
        metrics=EvalMetrics(perplexity=perplexity, eval_loss=2.0, task_accuracy=accuracy),
        artifacts=Artifacts(adapter="/output/adapter", merged="/output/merged", dataset_fingerprint="f" * 64),
    ).to_termination_message()


def job(
    name: str = "pine",
    *,
    suspend: bool = False,
    conditions: list[dict[str, Any]] | None = None,
    owner: str = UID,
    **status: Any,
) -> dict[str, Any]:
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {
            "name": f"{name}-train",
            "namespace": NS,
            "uid": "job-uid",
            "ownerReferences": [{"uid": owner, "kind": "FineTuneJob", "name": name}],
        },
        "spec": {"suspend": suspend},
        "status": {**status, **({"conditions": conditions} if conditions else {})},
    }


def pod(
    name: str,
    phase: str,
    *,
    created: str = "2026-01-01T00:01:00Z",
    running: bool = False,
    waiting: str | None = None,
    terminated: dict[str, Any] | None = None,
    reason: str | None = None,
) -> dict[str, Any]:
    state: dict[str, Any] = {}
    if running:
        state = {"running": {"startedAt": "2026-01-01T00:02:00Z"}}
    elif waiting:
        state = {"waiting": {"reason": waiting, "message": f"{waiting} for image x"}}
    elif terminated is not None:
        state = {
            "terminated": {
                "startedAt": "2026-01-01T00:02:00Z",
                "finishedAt": "2026-01-01T00:12:00Z",
                **terminated,
            }
        }
    status: dict[str, Any] = {"phase": phase, "containerStatuses": [{"name": "trainer", "state": state}]}
    if reason:
        status["reason"] = reason
    return {"metadata": {"name": name, "creationTimestamp": created}, "status": status}


COMPLETE = [{"type": "Complete", "status": "True", "reason": "CompletionsReached"}]
