"""The whole FineTuneJob → ModelServe lifecycle against the emulated API server."""

from __future__ import annotations

import pytest

from tests.integration.operator.conftest import (
    CONFIGMAPS,
    DEPLOYMENTS,
    FTJ,
    JOBS,
    MSERVE,
    NS,
    SERVICES,
    Cluster,
    OperatorHarness,
    finetunejob,
    train_result,
    wait_for,
)
from tests.integration.operator.rollout_roles import live_result, model_revision, verified
from tests.integration.operator.running_emulator import RunningEmulator
from tradetune.operator.builders.verify import revision_deployment_name

pytestmark = pytest.mark.timeout(120)


def test_create_train_gate_promote_serve(
    emulator: RunningEmulator, operator: OperatorHarness, cluster: Cluster
) -> None:
    with operator.running():
        emulator.create(
            FTJ,
            finetunejob(
                "pine",
                promote={"modelServe": "pine-llm", "create": True, "apiKeySecretRef": {"name": "llm-key"}},
            ),
        )

        # The Job appears with the pod contract of docs/contracts.md.
        job = cluster.job("pine")
        ftj = emulator.get(FTJ, NS, "pine")
        assert ftj is not None
        assert job["metadata"]["ownerReferences"][0]["uid"] == ftj["metadata"]["uid"]
        assert job["metadata"]["labels"]["tradetune.dev/finetunejob"] == "pine"
        assert job["spec"]["backoffLimit"] == 2
        pod_spec = job["spec"]["template"]["spec"]
        container = pod_spec["containers"][0]
        assert container["image"] == "registry.test/tradetune/trainer:test"
        assert container["command"] == [
            "tradetune", "train", "--config", "/etc/tradetune/job.yaml", "--output", "/output",
        ]  # fmt: skip
        assert container["terminationMessagePolicy"] == "FallbackToLogsOnError"
        assert container["securityContext"]["capabilities"] == {"drop": ["ALL"]}
        assert {"name": "HF_HOME", "value": "/cache"} in container["env"]
        mounts = {m["mountPath"]: m for m in container["volumeMounts"]}
        assert mounts["/output"]["subPath"] == "runs/pine"
        config = emulator.get(CONFIGMAPS, NS, "pine-config")
        assert config is not None and "job.yaml" in config["data"]
        assert cluster.wait_phase("pine", "Pending")["jobName"] == "pine-train"

        # The kubelet starts the pod → Running.
        pod = cluster.start_pod("pine")
        status = cluster.wait_phase("pine", "Running")
        assert status["attempts"] == 1 and status["startTime"]

        # The pod succeeds with a real TrainResult → metrics, gate, promotion.
        cluster.finish_pod("pine", pod, message=train_result())
        status = cluster.wait_phase("pine", "Succeeded")
        assert status["metrics"]["perplexity"] == 8.5
        assert status["metrics"]["taskAccuracy"] == 0.8
        assert status["artifacts"]["merged"] == "/output/merged"
        assert status["gate"]["passed"] is True
        assert [v["metric"] for v in status["gate"]["verdicts"]] == ["perplexity", "taskAccuracy"]
        conditions = {c["type"]: c for c in status["conditions"]}
        assert conditions["Trained"]["status"] == "True"
        assert conditions["Evaluated"]["status"] == "True"
        assert conditions["GatePassed"]["status"] == "True"
        assert conditions["Promoted"]["status"] == "True"
        assert conditions["Ready"]["status"] == "True"
        assert status["observedGeneration"] == 1
        assert status["completionTime"]

        # The ModelServe was created pointing at the job, traceably.
        mserve = wait_for("ModelServe pine-llm", lambda: emulator.get(MSERVE, NS, "pine-llm"))
        assert mserve["spec"]["model"] == {"fromFineTuneJob": "pine"}
        assert (
            f"uid={ftj['metadata']['uid']}"
            in mserve["metadata"]["annotations"]["tradetune.dev/promoted-from"]
        )

        # ModelServe → the revision's Deployment running `tradetune serve` on the merged model.
        revision = model_revision(emulator, "pine")
        name = revision_deployment_name("pine-llm", revision)
        deployment = wait_for("Deployment", lambda: emulator.get(DEPLOYMENTS, NS, name))
        server = deployment["spec"]["template"]["spec"]["containers"][0]
        assert server["args"][:3] == ["serve", "--model", "/output/merged"]
        assert "--served-model-name" in server["args"]
        assert deployment["spec"]["strategy"]["rollingUpdate"] == {"maxUnavailable": 0, "maxSurge": 1}
        assert server["readinessProbe"]["httpGet"]["path"] == "/health"
        volumes = {v["name"]: v for v in deployment["spec"]["template"]["spec"]["volumes"]}
        assert volumes["artifacts"]["persistentVolumeClaim"] == {"claimName": "artifacts", "readOnly": True}
        ms_status = wait_for(
            "ModelServe Progressing",
            lambda: (s := (emulator.get(MSERVE, NS, "pine-llm") or {}).get("status")) and s,
        )
        assert ms_status["endpoint"] == "http://pine-llm-vllm.tt.svc:8000/v1"

        # Available, then verified live (docs/serving.md) → the Service selects it → Ready.
        verified(cluster, "pine-llm", revision)
        assert wait_for("Service", lambda: emulator.get(SERVICES, NS, "pine-llm-vllm"))

        def ready() -> dict[str, object] | None:
            status = (emulator.get(MSERVE, NS, "pine-llm") or {}).get("status") or {}
            conds = {c["type"]: c for c in status.get("conditions") or []}
            return status if conds.get("Ready", {}).get("status") == "True" else None

        ms_status = wait_for("ModelServe Ready", ready)
        assert ms_status["readyReplicas"] == 1
        assert ms_status["servedModel"]["fineTuneJob"] == "pine"
        assert ms_status["servedModel"]["path"] == "/output/merged"

        # Events on the transitions, and the metrics.
        expected = {"JobCreated", "Training", "Evaluating", "ThresholdsMet", "Promoted", "Succeeded"}
        wait_for(f"events {expected}", lambda: expected <= set(cluster.reasons("pine")))
        operator.wait_metrics(
            'tradetune_finetunejob_phase{name="pine",namespace="tt",phase="Succeeded"} 1.0',
            'tradetune_finetunejob_eval_metric{metric="perplexity",name="pine",namespace="tt"} 8.5',
            'tradetune_gate_evaluations_total{namespace="tt",result="passed"} 1.0',
            'tradetune_promotions_total{namespace="tt"} 1.0',
            'tradetune_modelserve_ready_replicas{name="pine-llm",namespace="tt"} 1.0',
            "tradetune_training_duration_seconds_count",
        )
        wait_for("the verification Job gone", lambda: len(emulator.list(JOBS, NS)) == 1)


def _ms_conditions(emulator: RunningEmulator, name: str) -> dict[str, dict[str, str]]:
    status = (emulator.get(MSERVE, NS, name) or {}).get("status") or {}
    return {c["type"]: c for c in status.get("conditions") or []}


def test_model_serve_waits_rolls_and_keeps_serving(
    emulator: RunningEmulator, operator: OperatorHarness, cluster: Cluster
) -> None:
    with operator.running():
        emulator.create(
            MSERVE,
            {
                "apiVersion": "tradetune.dev/v1alpha1",
                "kind": "ModelServe",
                "metadata": {
                    "name": "desk",
                    "namespace": NS,
                    # Later jobs may promote themselves into it (docs/api.md, "Promotion").
                    "annotations": {"tradetune.dev/accept-promotion-from": "*"},
                },
                "spec": {"model": {"fromFineTuneJob": "first"}, "replicas": 2, "auth": "none"},
            },
        )
        emulator.create(FTJ, finetunejob("first"))
        waiting = wait_for("waiting", lambda: _ms_conditions(emulator, "desk").get("Ready"))
        assert waiting["reason"] == "FineTuneJobNotSucceeded"
        assert emulator.list(DEPLOYMENTS, NS, "app.kubernetes.io/instance=desk") == []

        pod = cluster.start_pod("first")
        cluster.finish_pod("first", pod, message=train_result())
        cluster.wait_phase("first", "Succeeded")
        first = model_revision(emulator, "first")
        verified(cluster, "desk", first)
        wait_for("Ready", lambda: _ms_conditions(emulator, "desk")["Ready"]["status"] == "True")

        # A better job promotes itself into the same ModelServe: its revision gets a Deployment
        # of its own while the first keeps answering, and takes the traffic once verified live.
        emulator.create(FTJ, finetunejob("second", promote={"modelServe": "desk"}))
        pod = cluster.start_pod("second")
        cluster.finish_pod("second", pod, message=train_result(perplexity=6.0))
        cluster.wait_phase("second", "Succeeded")
        second = model_revision(emulator, "second")
        deployment = wait_for(
            "the second revision's Deployment",
            lambda: emulator.get(DEPLOYMENTS, NS, revision_deployment_name("desk", second)),
        )
        mounts = deployment["spec"]["template"]["spec"]["containers"][0]["volumeMounts"]
        assert any(m.get("subPath") == "runs/second" for m in mounts)
        assert deployment["spec"]["replicas"] == 2
        progressing = wait_for(
            "verifying",
            lambda: (c := _ms_conditions(emulator, "desk")["Progressing"])["status"] == "True" and c,
        )
        assert progressing["reason"] == "Verifying"
        assert _ms_conditions(emulator, "desk")["Ready"]["status"] == "True"  # the first still answers
        verified(cluster, "desk", second, live_result(perplexity=6.1))
        wait_for(
            "the second serves",
            lambda: (
                (emulator.get(MSERVE, NS, "desk") or {})["status"]["servedModel"]["fineTuneJob"] == "second"
            ),
        )
        wait_for("Ready again", lambda: _ms_conditions(emulator, "desk")["Ready"]["status"] == "True")
        status = (emulator.get(MSERVE, NS, "desk") or {})["status"]
        assert status["readyReplicas"] == 2

        # The job disappears: the running model stays, the ModelServe says why it is Degraded.
        emulator.delete(FTJ, NS, "second")
        degraded = wait_for(
            "Degraded", lambda: (c := _ms_conditions(emulator, "desk")["Degraded"])["status"] == "True" and c
        )
        assert degraded["reason"] == "FineTuneJobNotFound"
        assert emulator.get(DEPLOYMENTS, NS, revision_deployment_name("desk", second)) is not None
