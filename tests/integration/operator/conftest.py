"""Fixtures: the emulated API server, the operator under KopfRunner, and the test's controller roles.

The test plays the Job controller (creating trainer pods, setting Job conditions), the kubelet
(moving pods through Running/Succeeded/Failed with real termination messages) and the
Deployment controller (reporting replicas available), all through the emulator's HTTP API.
"""

from __future__ import annotations

import os

# Read by tradetune.operator.handlers at import; long enough that the tests prove the
# event-driven path (a periodic resync would hide missed events).
os.environ.setdefault("TRADETUNE_RESYNC_SECONDS", "30")
# The progress loop reads a running trainer pod's log at most once per this many seconds.
os.environ.setdefault("TRADETUNE_PROGRESS_SECONDS", "1")

import contextlib
import copy
import json
import secrets
import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.integration.operator.running_emulator import RunningEmulator
from tradetune.api import Artifacts, EvalMetrics, TrainResult
from tradetune.operator.__main__ import kopf_args
from tradetune.operator.settings import load_settings

NS = "tt"
FTJ = "tradetune.dev/v1alpha1/finetunejobs"
MSERVE = "tradetune.dev/v1alpha1/modelserves"
JOBS = "batch/v1/jobs"
PODS = "v1/pods"
CONFIGMAPS = "v1/configmaps"
DEPLOYMENTS = "apps/v1/deployments"
SERVICES = "v1/services"
NETWORKPOLICIES = "networking.k8s.io/v1/networkpolicies"
EVENTS = "v1/events"
NOW = "2026-01-01T00:00:00Z"
TRAINER_IMAGE = "registry.test/tradetune/trainer:test"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def wait_for(what: str, fn: Callable[[], Any], timeout: float = 15.0, interval: float = 0.05) -> Any:
    """Poll `fn` until it returns something truthy; fail with `what` and the last value."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        with contextlib.suppress(AssertionError, KeyError, TypeError, IndexError):
            last = fn()
            if last:
                return last
        time.sleep(interval)
    raise AssertionError(f"timed out waiting for {what}; last seen: {json.dumps(last, default=str)[:2000]}")


@pytest.fixture
def emulator() -> Iterator[RunningEmulator]:
    with RunningEmulator() as emu:
        emu.request("POST", "/api/v1/namespaces", {"metadata": {"name": NS}})
        yield emu


class OperatorHarness:
    """Starts and stops the operator (kopf's KopfRunner) against the emulator."""

    def __init__(self, emu: RunningEmulator, tmp: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        self.emu = emu
        self.kubeconfig = kubeconfig = tmp / "kubeconfig.yaml"
        kubeconfig.write_text(yaml.safe_dump(emu.kubeconfig()))
        self.metrics_port = free_port()
        monkeypatch.setenv("KUBECONFIG", str(kubeconfig))
        monkeypatch.setenv("TRADETUNE_NAMESPACES", NS)
        monkeypatch.setenv("TRADETUNE_METRICS_PORT", str(self.metrics_port))
        monkeypatch.setenv("TRADETUNE_LIVENESS_PORT", "0")
        monkeypatch.setenv("TRADETUNE_TRAINER_IMAGE", TRAINER_IMAGE)
        monkeypatch.setenv("TRADETUNE_SERVER_IMAGE", "registry.test/tradetune/server:test")
        monkeypatch.setenv("TRADETUNE_WATCH_SERVER_TIMEOUT", "20")
        self.runner: Any = None

    @contextlib.contextmanager
    def running(self) -> Iterator[Any]:
        from kopf.testing import KopfRunner

        args = [*kopf_args(load_settings(), liveness=False), "--verbose"]
        before = self.emu.call(lambda e: e.watch_connects)
        with KopfRunner(args, timeout=30) as runner:
            self.runner = runner
            # Ready when kopf has listed our resources (its first watch requests arrived).
            wait_for(
                "the operator's watches",
                lambda: self.emu.call(lambda e: e.watch_connects >= before + 5),
                timeout=20,
            )
            yield runner
        assert runner.exception is None, runner.output[-3000:]

    def metrics(self) -> str:
        import urllib.request

        with urllib.request.urlopen(f"http://127.0.0.1:{self.metrics_port}/metrics", timeout=5) as resp:
            text: str = resp.read().decode()
            return text

    def wait_metrics(self, *expected: str) -> str:
        """Wait until every line fragment in `expected` is exposed; return the whole exposition.

        The operator records metrics after the status patch it just sent returns, so a test that
        has seen the status may read the endpoint a moment before the metrics change.
        """
        text: str = wait_for(
            f"metrics {expected}", lambda: (t := self.metrics()) and all(e in t for e in expected) and t
        )
        return text


@pytest.fixture
def operator(emulator: RunningEmulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> OperatorHarness:
    return OperatorHarness(emulator, tmp_path, monkeypatch)


# -- objects -----------------------------------------------------------------------------


def finetunejob(name: str, **spec: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "baseModel": {"path": "/cache/models/tiny-llama"},
        "dataset": {"generate": {"train": 200, "validation": 20, "test": 20, "seed": 7}},
        "training": {"maxSteps": 20, "precision": "fp32"},
        "evaluation": {"thresholds": {"perplexity": {"max": 20}, "taskAccuracy": {"min": 0.5}}},
        "resources": {"gpus": 0, "cpu": "2", "memory": "4Gi"},
        "output": {"claimName": "artifacts", "subPath": f"runs/{name}"},
        "cache": {"claimName": "model-cache"},
        "backoffLimit": 2,
    }
    body.update(copy.deepcopy(spec))
    return {
        "apiVersion": "tradetune.dev/v1alpha1",
        "kind": "FineTuneJob",
        "metadata": {"name": name, "namespace": NS},
        "spec": body,
    }


def modelserve(name: str, **spec: Any) -> dict[str, Any]:
    """A ModelServe body in the test namespace with exactly the given spec."""
    return {
        "apiVersion": "tradetune.dev/v1alpha1",
        "kind": "ModelServe",
        "metadata": {"name": name, "namespace": NS},
        "spec": copy.deepcopy(spec),
    }


def train_result(perplexity: float = 8.5, task_accuracy: float = 0.8) -> str:
    return TrainResult(
        outcome="Succeeded",
        reason="Completed",
        message="trained 20 steps",
        metrics=EvalMetrics(
            perplexity=perplexity,
            eval_loss=2.14,
            train_loss=1.9,
            pine_syntax_score=0.9,
            pine_parse_rate=0.85,
            task_accuracy=task_accuracy,
            task_accuracy_by_task={"indicator_math": task_accuracy},
        ),
        artifacts=Artifacts(
            adapter="/output/adapter",
            merged="/output/merged",
            dataset_fingerprint="ab" * 32,
            samples="/output/samples.jsonl",
            metrics_file="/output/metrics.json",
        ),
        timings={"train": 12.5, "evaluate": 3.0},
    ).to_termination_message()


# -- the controllers the test plays --------------------------------------------------------


class Cluster:
    """Job controller, kubelet and Deployment controller, acting through the emulator's API."""

    def __init__(self, emu: RunningEmulator) -> None:
        self.emu = emu

    def job(self, ftj: str) -> dict[str, Any]:
        return wait_for(f"Job {ftj}-train", lambda: self.emu.get(JOBS, NS, f"{ftj}-train"))  # type: ignore[no-any-return]

    def status(self, ftj: str) -> dict[str, Any]:
        return (self.emu.get(FTJ, NS, ftj) or {}).get("status") or {}

    def wait_phase(self, ftj: str, phase: str, timeout: float = 15.0) -> dict[str, Any]:
        return wait_for(  # type: ignore[no-any-return]
            f"{ftj} phase {phase}", lambda: (s := self.status(ftj)).get("phase") == phase and s, timeout
        )

    def condition(self, ftj: str, type_: str) -> dict[str, Any] | None:
        for cond in self.status(ftj).get("conditions") or []:
            if cond["type"] == type_:
                return dict(cond)
        return None

    def start_pod(self, ftj: str, *, running: bool = True) -> dict[str, Any]:
        """The Job controller creates a pod from the template; the kubelet starts it."""
        job = self.job(ftj)
        template = job["spec"]["template"]
        name = f"{job['metadata']['name']}-{secrets.token_hex(3)[:5]}"
        labels = {
            **template["metadata"]["labels"],
            "batch.kubernetes.io/job-name": job["metadata"]["name"],
            "batch.kubernetes.io/controller-uid": job["metadata"]["uid"],
        }
        pod = self.emu.create(
            PODS,
            {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {
                    "name": name,
                    "namespace": NS,
                    "labels": labels,
                    "ownerReferences": [
                        {
                            "apiVersion": "batch/v1",
                            "kind": "Job",
                            "name": job["metadata"]["name"],
                            "uid": job["metadata"]["uid"],
                            "controller": True,
                        }
                    ],
                },
                "spec": template["spec"],
            },
        )
        active = int((job.get("status") or {}).get("active") or 0) + 1
        self.emu.patch(
            JOBS, NS, job["metadata"]["name"], {"status": {"active": active, "startTime": NOW}}, status=True
        )
        if running:
            self.emu.patch(
                PODS,
                NS,
                name,
                {
                    "status": {
                        "phase": "Running",
                        "startTime": NOW,
                        "containerStatuses": [
                            {"name": "trainer", "ready": True, "state": {"running": {"startedAt": NOW}}}
                        ],
                    }
                },
                status=True,
            )
        else:
            self.emu.patch(PODS, NS, name, {"status": {"phase": "Pending"}}, status=True)
        return pod

    def image_pull_backoff(self, pod: dict[str, Any]) -> None:
        self.emu.patch(
            PODS,
            NS,
            pod["metadata"]["name"],
            {
                "status": {
                    "phase": "Pending",
                    "containerStatuses": [
                        {
                            "name": "trainer",
                            "ready": False,
                            "state": {
                                "waiting": {
                                    "reason": "ImagePullBackOff",
                                    "message": f'Back-off pulling image "{TRAINER_IMAGE}"',
                                }
                            },
                        }
                    ],
                }
            },
            status=True,
        )

    def finish_pod(
        self, ftj: str, pod: dict[str, Any], *, message: str, exit_code: int = 0, reason: str = "Completed"
    ) -> None:
        """The kubelet records the container's end; the Job controller updates the Job."""
        phase = "Succeeded" if exit_code == 0 else "Failed"
        self.emu.patch(
            PODS,
            NS,
            pod["metadata"]["name"],
            {
                "status": {
                    "phase": phase,
                    "containerStatuses": [
                        {
                            "name": "trainer",
                            "ready": False,
                            "state": {
                                "terminated": {
                                    "exitCode": exit_code,
                                    "reason": reason,
                                    "message": message,
                                    "startedAt": NOW,
                                    "finishedAt": "2026-01-01T00:10:00Z",
                                }
                            },
                        }
                    ],
                }
            },
            status=True,
        )
        job = self.job(ftj)
        status = dict(job.get("status") or {})
        status["active"] = max(0, int(status.get("active") or 0) - 1)
        key = "succeeded" if exit_code == 0 else "failed"
        status[key] = int(status.get(key) or 0) + 1
        if exit_code == 0:
            status["completionTime"] = "2026-01-01T00:10:00Z"
            status["conditions"] = [
                {"type": "SuccessCriteriaMet", "status": "True", "reason": "CompletionsReached"},
                {"type": "Complete", "status": "True", "reason": "CompletionsReached"},
            ]
        self.emu.patch(JOBS, NS, job["metadata"]["name"], {"status": status}, status=True)

    def fail_job(self, ftj: str, reason: str, message: str = "") -> None:
        job = self.job(ftj)
        status = dict(job.get("status") or {})
        status["active"] = 0
        status["conditions"] = [
            {"type": "FailureTarget", "status": "True", "reason": reason, "message": message},
            {"type": "Failed", "status": "True", "reason": reason, "message": message},
        ]
        self.emu.patch(JOBS, NS, job["metadata"]["name"], {"status": status}, status=True)

    def deployment_available(self, name: str) -> None:
        deployment = wait_for(f"Deployment {name}", lambda: self.emu.get(DEPLOYMENTS, NS, name))
        replicas = deployment["spec"]["replicas"]
        self.emu.patch(
            DEPLOYMENTS,
            NS,
            name,
            {
                "status": {
                    "observedGeneration": deployment["metadata"]["generation"],
                    "replicas": replicas,
                    "updatedReplicas": replicas,
                    "readyReplicas": replicas,
                    "availableReplicas": replicas,
                    "conditions": [
                        {"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable"},
                        {"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable"},
                    ],
                }
            },
            status=True,
        )

    def events(self, name: str) -> list[tuple[str, str, str]]:
        return [
            (e["type"], e["reason"], e.get("message", ""))
            for e in self.emu.list(EVENTS, NS)
            if e.get("involvedObject", {}).get("name") == name
        ]

    def reasons(self, name: str) -> list[str]:
        return [reason for _, reason, _ in self.events(name)]

    def wait_events(self, name: str, *wanted: tuple[str, str]) -> list[tuple[str, str, str]]:
        """Wait until every (type, reason) in `wanted` was posted for `name`; return all its events.

        kopf posts events from a background queue after the handler's status patch, so a test
        that has just seen a condition must wait for the event that accompanies it.
        """

        def posted() -> list[tuple[str, str, str]] | None:
            events = self.events(name)
            return events if set(wanted) <= {(t, r) for t, r, _ in events} else None

        result: list[tuple[str, str, str]] = wait_for(f"events {wanted} for {name}", posted)
        return result


@pytest.fixture
def cluster(emulator: RunningEmulator) -> Cluster:
    return Cluster(emulator)
