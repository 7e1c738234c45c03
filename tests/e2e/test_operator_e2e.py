"""The operator against a real cluster (the one in $KUBECONFIG); skipped when none is configured.

Recipe for a local cluster: docs/operator.md ("Running it on a kind cluster"). The test applies
the CRDs from crds/, runs the operator from this checkout (KopfRunner) in a fresh namespace and
checks what the API server accepted: the ConfigMap and Job with the contract's pod spec (the
real server validates the manifests and admission), and a status that fits the CRD schema.
With TRADETUNE_E2E_TRAINER_IMAGE naming a trainer image the cluster can pull, it also builds the
tiny model on a volume and waits for the tiny CPU job to reach Succeeded.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
TRAINER_IMAGE = os.environ.get("TRADETUNE_E2E_TRAINER_IMAGE", "")

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(not os.environ.get("KUBECONFIG"), reason="needs a cluster: set KUBECONFIG"),
    pytest.mark.skipif(shutil.which("kubectl") is None, reason="needs kubectl on PATH"),
    pytest.mark.timeout(3600),
]


def kubectl(*args: str, stdin: str | None = None) -> str:
    result = subprocess.run(
        ["kubectl", *args], input=stdin, capture_output=True, text=True, timeout=300, check=False
    )
    if result.returncode != 0:
        raise AssertionError(f"kubectl {' '.join(args)}: {result.stderr.strip()}")
    return result.stdout


def get(kind: str, ns: str, name: str) -> dict[str, Any] | None:
    try:
        return json.loads(kubectl("get", kind, name, "-n", ns, "-o", "json"))  # type: ignore[no-any-return]
    except AssertionError:
        return None


def wait(what: str, fn: Any, timeout: float) -> Any:
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = fn()
        if last:
            return last
        time.sleep(2)
    raise AssertionError(f"timed out waiting for {what}; last: {last}")


@pytest.fixture(scope="module")
def namespace() -> Iterator[str]:
    kubectl("apply", "-f", str(ROOT / "crds"))
    ns = f"tradetune-e2e-{secrets.token_hex(3)}"
    kubectl("create", "namespace", ns)
    try:
        yield ns
    finally:
        kubectl("delete", "namespace", ns, "--wait=false")


@pytest.fixture(scope="module")
def operator(namespace: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    from kopf.testing import KopfRunner

    from tradetune.operator.__main__ import kopf_args
    from tradetune.operator.settings import load_settings

    env = {
        "TRADETUNE_NAMESPACES": namespace,
        "TRADETUNE_METRICS_PORT": "0",
        "TRADETUNE_LIVENESS_PORT": "0",
        "TRADETUNE_RESYNC_SECONDS": "20",
    }
    if TRAINER_IMAGE:
        env["TRADETUNE_TRAINER_IMAGE"] = TRAINER_IMAGE
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        with KopfRunner([*kopf_args(load_settings(), liveness=False)], timeout=60):
            yield
    finally:
        for key, value in old.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def ftj(name: str, ns: str, **spec: Any) -> str:
    body = {
        "apiVersion": "tradetune.dev/v1alpha1",
        "kind": "FineTuneJob",
        "metadata": {"name": name, "namespace": ns},
        "spec": {
            "baseModel": {"path": "/cache/tiny-base"},
            "dataset": {"generate": {"train": 300, "validation": 30, "test": 30}},
            "training": {
                "maxSteps": 30,
                "precision": "fp32",
                "gradientCheckpointing": False,
                "evalSteps": 10,
            },
            "evaluation": {"thresholds": {"perplexity": {"max": 10000}}, "samples": 5, "maxItems": 30},
            "resources": {"gpus": 0, "cpu": "1", "memory": "3Gi"},
            **spec,
        },
    }
    return yaml.safe_dump(body)


def test_job_and_status_are_accepted_by_a_real_api_server(namespace: str, operator: None) -> None:
    kubectl("apply", "-f", "-", stdin=ftj("contract", namespace, suspend=True))
    job = wait("the Job", lambda: get("job", namespace, "contract-train"), 120)
    container = job["spec"]["template"]["spec"]["containers"][0]
    assert container["command"][:2] == ["tradetune", "train"]
    assert job["spec"]["suspend"] is True
    assert get("configmap", namespace, "contract-config") is not None
    status = wait(
        "status", lambda: ((get("ftj", namespace, "contract") or {}).get("status") or {}).get("phase"), 120
    )
    assert status == "Suspended"
    kubectl("delete", "ftj", "contract", "-n", namespace)
    wait("children deleted", lambda: get("job", namespace, "contract-train") is None, 120)


@pytest.mark.skipif(not TRAINER_IMAGE, reason="set TRADETUNE_E2E_TRAINER_IMAGE to run the tiny job")
def test_tiny_job_succeeds_on_cpu(namespace: str, operator: None) -> None:
    volumes = [
        {
            "apiVersion": "v1",
            "kind": "PersistentVolumeClaim",
            "metadata": {"name": name, "namespace": namespace},
            "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}},
        }
        for name in ("artifacts", "model-cache")
    ]
    kubectl("apply", "-f", "-", stdin=yaml.safe_dump_all(volumes))
    builder = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "tiny-model", "namespace": namespace},
        "spec": {
            "restartPolicy": "Never",
            "securityContext": {"runAsUser": 1000, "runAsGroup": 1000, "fsGroup": 1000},
            "containers": [
                {
                    "name": "tiny-model",
                    "image": TRAINER_IMAGE,
                    "command": ["tradetune", "tiny-model", "--output", "/cache/tiny-base"],
                    "volumeMounts": [{"name": "cache", "mountPath": "/cache"}],
                }
            ],
            "volumes": [{"name": "cache", "persistentVolumeClaim": {"claimName": "model-cache"}}],
        },
    }
    kubectl("apply", "-f", "-", stdin=yaml.safe_dump(builder))
    wait(
        "the tiny model",
        lambda: ((get("pod", namespace, "tiny-model") or {}).get("status") or {}).get("phase") == "Succeeded",
        900,
    )
    spec = {"output": {"claimName": "artifacts", "subPath": "tiny"}, "cache": {"claimName": "model-cache"}}
    kubectl("apply", "-f", "-", stdin=ftj("tiny", namespace, **spec))
    phase = wait(
        "a final phase",
        lambda: (
            (p := ((get("ftj", namespace, "tiny") or {}).get("status") or {}).get("phase"))
            in ("Succeeded", "Failed")
            and p
        ),
        2400,
    )
    status = (get("ftj", namespace, "tiny") or {})["status"]
    assert phase == "Succeeded", json.dumps(status, indent=1)
    assert status["metrics"]["perplexity"] > 0
    assert status["gate"]["passed"] is True
