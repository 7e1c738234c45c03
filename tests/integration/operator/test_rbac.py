"""The RBAC rules in docs/operator.md are exactly the API calls the operator makes.

A scenario that exercises every code path that talks to the API server (suspend, promotion
by create and by patch, rollout of a new model, drift repair, deletion) runs against the
emulator, which records each request. The Helm chart's RBAC is written from the same doc.
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.integration.operator.conftest import (
    DEPLOYMENTS,
    FTJ,
    MSERVE,
    NETWORKPOLICIES,
    NS,
    SERVICES,
    Cluster,
    OperatorHarness,
    finetunejob,
    modelserve,
    train_result,
    wait_for,
)
from tests.integration.operator.emulator import TEST_CLIENT_HEADER, TradeTuneEmulator
from tests.integration.operator.rollout_roles import NAME, Rollout, live_result, model_revision, verified
from tests.integration.operator.running_emulator import RunningEmulator
from tradetune.api import ProgressRecord
from tradetune.operator.builders.verify import revision_deployment_name
from tradetune.operator.rollout import verify_job_name

pytestmark = pytest.mark.timeout(120)
DOC = Path(__file__).resolve().parents[3] / "docs" / "operator.md"
VERBS = {
    "watch": "watch",
    "list": "list",
    "fetch": "get",
    "create": "create",
    "update": "patch",
    "delete": "delete",
}


def documented_rules(heading: str) -> set[tuple[str, str, str]]:
    text = DOC.read_text()
    section = text[text.index(heading) :]
    block = re.search(r"```yaml\n(.*?)```", section, re.S)
    assert block is not None, f"no yaml block under {heading!r}"
    rules: list[dict[str, Any]] = yaml.safe_load(block.group(1))
    return {
        (group, resource, verb)
        for rule in rules
        for group in rule["apiGroups"]
        for resource in rule["resources"]
        for verb in rule["verbs"]
    }


def used_rules(emu: TradeTuneEmulator) -> set[tuple[str, str, str]]:
    used = set()
    for request in emu._requests:
        if request.resource is None or request.action is None or request.resource.plural is None:
            continue
        if any(k.lower() == TEST_CLIENT_HEADER.lower() for k in request.headers):
            continue
        resource = request.resource.plural + (f"/{request.subresource}" if request.subresource else "")
        used.add((request.resource.group or "", resource, VERBS[request.action.value.lower()]))
    return used


def test_the_documented_rbac_is_what_the_operator_uses(
    emulator: RunningEmulator, operator: OperatorHarness, cluster: Cluster
) -> None:
    with operator.running():
        emulator.create(
            FTJ,
            finetunejob(
                "rb1",
                suspend=True,
                promote={"modelServe": "rb-llm", "create": True, "apiKeySecretRef": {"name": "llm-key"}},
            ),
        )
        cluster.wait_phase("rb1", "Suspended")
        emulator.patch(FTJ, NS, "rb1", {"spec": {"suspend": False}})
        wait_for("resumed", lambda: not cluster.job("rb1")["spec"]["suspend"])
        pod = cluster.start_pod("rb1")
        cluster.wait_phase("rb1", "Running")
        # The progress loop lists the trainer pods (pods list), reads the trainer's log
        # (pods/log get) and patches the status.
        emulator.append_log(
            NS, pod["metadata"]["name"], ProgressRecord(ts=time.time(), stage="loading").line()
        )
        wait_for("progress", lambda: cluster.status("rb1").get("progress", {}).get("stage") == "loading")
        cluster.finish_pod("rb1", pod, message=train_result())
        cluster.wait_phase("rb1", "Succeeded")
        revision = model_revision(emulator, "rb1")
        verified(cluster, "rb-llm", revision)  # the revision's Deployment, verified live, then the Service
        wait_for("the Service", lambda: emulator.get(SERVICES, NS, "rb-llm-vllm"))

        # A second job promotes into the same ModelServe: patch, then a rollout.
        # (The ModelServe opts in to promotions from it: docs/api.md, "Promotion".)
        emulator.patch(
            MSERVE,
            NS,
            "rb-llm",
            {"metadata": {"annotations": {"tradetune.dev/accept-promotion-from": "rb2"}}},
        )
        emulator.create(FTJ, finetunejob("rb2", promote={"modelServe": "rb-llm"}))
        pod = cluster.start_pod("rb2")
        cluster.finish_pod("rb2", pod, message=train_result(perplexity=7.0))
        cluster.wait_phase("rb2", "Succeeded")
        wait_for(
            "rollout of rb2",
            lambda: (
                "rb2"
                in (emulator.get(MSERVE, NS, "rb-llm") or {})["metadata"]["annotations"][
                    "tradetune.dev/promoted-from"
                ]
            ),
        )

        second = model_revision(emulator, "rb2")
        verified(cluster, "rb-llm", second, live_result(perplexity=7.0))
        wait_for(
            "rb2 serves",
            lambda: (
                (emulator.get(MSERVE, NS, "rb-llm") or {})["status"]["servedModel"]["fineTuneJob"] == "rb2"
            ),
        )
        # A spec change patches the served revision's Deployment.
        emulator.patch(MSERVE, NS, "rb-llm", {"spec": {"replicas": 2}})
        wait_for(
            "scaled",
            lambda: (
                (emulator.get(DEPLOYMENTS, NS, revision_deployment_name("rb-llm", second)) or {})["spec"][
                    "replicas"
                ]
                == 2
            ),
        )

        # Someone edits the Service and the NetworkPolicy: the next reconcile puts them back.
        for kind in (SERVICES, NETWORKPOLICIES):
            emulator.patch(
                kind, NS, "rb-llm-vllm", {"metadata": {"annotations": {"tradetune.dev/spec-hash": "x"}}}
            )
        cluster.deployment_available(revision_deployment_name("rb-llm", second))
        for kind in (SERVICES, NETWORKPOLICIES):
            wait_for(
                f"{kind} repaired",
                lambda kind=kind: (  # type: ignore[misc]
                    (emulator.get(kind, NS, "rb-llm-vllm") or {})["metadata"]["annotations"][
                        "tradetune.dev/spec-hash"
                    ]
                    != "x"
                ),
            )

        # A rollout whose candidate fails its live verification: the candidate's Deployment,
        # Service and verification Job are deleted (rollouts: docs/serving.md).
        rollout = Rollout(emulator, cluster)
        emulator.create(MSERVE, modelserve(NAME, model={"fromFineTuneJob": "rb1"}, auth="none", rollout={}))
        rollout.available(revision)
        rollout.finish_job(verify_job_name(NAME, revision, "verify"), live_result(perplexity=50.0))
        wait_for(
            "the candidate removed",
            lambda: emulator.list(DEPLOYMENTS, NS, f"app.kubernetes.io/instance={NAME}") == [],
        )

        emulator.delete(FTJ, NS, "rb1")
        emulator.delete(MSERVE, NS, "rb-llm")
        wait_for(
            "deleted",
            lambda: emulator.get(FTJ, NS, "rb1") is None and emulator.get(MSERVE, NS, "rb-llm") is None,
        )
        used = emulator.call(used_rules)

    documented = documented_rules("## RBAC the operator needs")
    assert used - documented == set(), "calls the doc does not grant"
    assert documented - used == set(), "grants the operator never uses"
