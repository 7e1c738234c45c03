"""Manifests validate against the Kubernetes schemas (strict) and honour the pod contracts."""

from __future__ import annotations

from typing import Any

import kubernetes_validate
import pytest
import yaml

from tests.unit.operator.fixtures import NS, SETTINGS, UID, ftj_body
from tradetune.api import FineTuneJob, ModelServe, parse_finetunejob, parse_modelserve
from tradetune.errors import SpecError
from tradetune.operator import builders

VERSIONS = ("1.30.0", "1.37.0")
ZONE_A = {"key": "zone", "operator": "In", "values": ["a"]}


def _ftj(**spec: Any) -> FineTuneJob:
    body = ftj_body(**spec)
    body["metadata"] = {k: body["metadata"][k] for k in ("name", "namespace", "uid", "generation")}
    return parse_finetunejob(body)


def _succeeded(ftj: FineTuneJob) -> FineTuneJob:
    status = {
        "phase": "Succeeded",
        "artifacts": {"adapter": "/output/adapter", "merged": "/output/merged"},
    }
    from tradetune.api import FineTuneJobStatus

    return ftj.model_copy(update={"status": FineTuneJobStatus.model_validate(status)})


def _mserve(**spec: Any) -> ModelServe:
    body: dict[str, Any] = {"model": {"fromFineTuneJob": "pine"}}
    if spec.get("auth") != "none":
        body["apiKeySecretRef"] = {"name": "llm-key"}
    body.update(spec)
    return parse_modelserve(
        {
            "apiVersion": "tradetune.dev/v1alpha1",
            "kind": "ModelServe",
            "metadata": {"name": "pine-llm", "namespace": NS, "uid": "ms-uid", "generation": 3},
            "spec": body,
        }
    )


def _valid(manifest: dict[str, Any]) -> None:
    for version in VERSIONS:
        kubernetes_validate.validate(manifest, version, strict=True)


def _restricted(pod_spec: dict[str, Any]) -> None:
    assert pod_spec["securityContext"]["runAsNonRoot"] is True
    assert pod_spec["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert pod_spec["automountServiceAccountToken"] is False
    for container in pod_spec["containers"]:
        ctx = container["securityContext"]
        assert ctx["allowPrivilegeEscalation"] is False
        assert ctx["readOnlyRootFilesystem"] is True
        assert ctx["capabilities"] == {"drop": ["ALL"]}


def test_config_map_holds_the_job_without_status() -> None:
    ftj = _ftj()
    cm = builders.config_map(ftj)
    _valid(cm)
    assert cm["metadata"]["name"] == "pine-config"
    doc = yaml.safe_load(cm["data"]["job.yaml"])
    assert doc["kind"] == "FineTuneJob" and "status" not in doc
    assert parse_finetunejob(doc).spec == ftj.spec  # the trainer reads back exactly this spec


@pytest.mark.parametrize(
    "spec",
    [
        {},
        {"resources": {"gpus": 0, "cpu": "2", "memory": "4Gi"}, "output": None, "cache": None},
        {
            "resources": {
                "profile": "a100",
                "affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
                    "nodeSelectorTerms": [{"matchExpressions": [ZONE_A]}]
                }}},
                "priorityClassName": "training",
            },
            "activeDeadlineSeconds": 7200,
            "suspend": True,
            "image": "registry.test/custom:2",
        },
    ],
)  # fmt: skip
def test_training_job_validates_and_keeps_the_contract(spec: dict[str, Any]) -> None:
    ftj = _ftj(**spec)
    job = builders.training_job(ftj, SETTINGS)
    _valid(job)
    meta = job["metadata"]
    assert meta["name"] == "pine-train"
    assert meta["ownerReferences"] == [
        {
            "apiVersion": "tradetune.dev/v1alpha1",
            "kind": "FineTuneJob",
            "name": "pine",
            "uid": UID,
            "controller": True,
            "blockOwnerDeletion": True,
        }
    ]
    labels = job["spec"]["template"]["metadata"]["labels"]
    assert labels["tradetune.dev/finetunejob"] == "pine"
    assert labels["app.kubernetes.io/managed-by"] == "tradetune-operator"
    assert labels["app.kubernetes.io/component"] == "trainer"
    pod_spec = job["spec"]["template"]["spec"]
    _restricted(pod_spec)
    assert pod_spec["restartPolicy"] == "Never"
    container = pod_spec["containers"][0]
    assert container["command"] == [
        "tradetune",
        "train",
        "--config",
        "/etc/tradetune/job.yaml",
        "--output",
        "/output",
    ]
    assert container["terminationMessagePolicy"] == "FallbackToLogsOnError"
    assert job["spec"]["backoffLimit"] == 2
    env = {e["name"]: e for e in container["env"]}
    assert env["HF_HOME"]["value"] == "/cache"
    mounts = {m["mountPath"]: m for m in container["volumeMounts"]}
    assert mounts["/etc/tradetune"]["readOnly"] is True
    assert {"/output", "/cache", "/tmp", "/dev/shm"} <= set(mounts)
    if not spec:
        assert env["HF_TOKEN"]["valueFrom"] == {"secretKeyRef": {"name": "hf", "key": "token"}}
        assert container["resources"] == {
            "requests": {"nvidia.com/gpu": "1"},
            "limits": {"nvidia.com/gpu": "1"},
        }
        assert container["image"] == "registry.test/trainer:1"
        assert mounts["/output"]["subPath"] == "runs/pine"
        assert job["spec"]["suspend"] is False and "activeDeadlineSeconds" not in job["spec"]
    elif "profile" in spec.get("resources", {}):
        assert container["image"] == "registry.test/custom:2"
        assert container["resources"]["limits"] == {"cpu": "16", "memory": "120Gi", "nvidia.com/gpu": "2"}
        assert pod_spec["nodeSelector"] == {"gpu": "a100"}
        assert pod_spec["tolerations"][0]["key"] == "nvidia.com/gpu"
        assert pod_spec["priorityClassName"] == "training"
        assert "nodeAffinity" in pod_spec["affinity"]
        assert job["spec"]["activeDeadlineSeconds"] == 7200 and job["spec"]["suspend"] is True
    else:
        assert "nvidia.com/gpu" not in container["resources"]["limits"]
        volumes = {v["name"]: v for v in pod_spec["volumes"]}
        assert volumes["output"] == {"name": "output", "emptyDir": {"sizeLimit": "64Gi"}}


def test_no_secret_value_reaches_a_manifest() -> None:
    job = builders.training_job(_ftj(), SETTINGS)
    text = yaml.safe_dump(job)
    assert "secretKeyRef" in text and "value: hf" not in text


def test_profile_fields_set_in_the_spec_win() -> None:
    ftj = _ftj(resources={"profile": "a100", "gpus": 1, "memory": "64Gi"})
    resources = builders.resolve_resources(ftj.spec.resources, SETTINGS)
    assert (resources.gpus, resources.memory, resources.cpu) == (1, "64Gi", "16")


def test_unknown_profile_is_a_spec_error() -> None:
    with pytest.raises(SpecError) as info:
        builders.resolve_resources(_ftj(resources={"profile": "h100"}).spec.resources, SETTINGS)
    assert info.value.problems == [("spec.resources.profile", "unknown profile 'h100' (known: a100)")]


def test_deployment_and_service_for_a_merged_model() -> None:
    ms = _mserve(
        servedModelName="pine-7b",
        apiKeySecretRef={"name": "llm-key", "key": "key"},
        engine={"maxModelLen": 4096, "extraArgs": ["--enforce-eager"]},
        replicas=2,
    )
    model = builders.resolve_model(ms, _succeeded(_ftj()))
    deployment = builders.deployment(ms, model, SETTINGS)
    service = builders.service(ms)
    _valid(deployment)
    _valid(service)
    spec = deployment["spec"]
    assert deployment["metadata"]["name"] == service["metadata"]["name"] == "pine-llm-vllm"
    assert spec["strategy"] == {
        "type": "RollingUpdate",
        "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1},
    }
    assert spec["replicas"] == 2
    pod_spec = spec["template"]["spec"]
    _restricted(pod_spec)
    container = pod_spec["containers"][0]
    assert container["command"] == ["tradetune"]
    assert container["args"] == [
        "serve", "--model", "/output/merged", "--served-model-name", "pine-7b", "--host", "0.0.0.0",
        "--port", "8000", "--max-model-len", "4096", "--gpu-memory-utilization", "0.9",
        "--tensor-parallel-size", "1", "--dtype", "auto", "--ready-timeout", "1800", "--", "--enforce-eager",
    ]  # fmt: skip
    # One start-up budget: the startup probe allows exactly what `tradetune serve` waits.
    startup = container["startupProbe"]
    assert startup["periodSeconds"] * startup["failureThreshold"] == builders.SERVER_STARTUP_SECONDS == 1800
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert container[probe]["httpGet"] == {"path": "/health", "port": "http"}
    env = {e["name"]: e for e in container["env"]}
    assert env["VLLM_API_KEY"]["valueFrom"] == {"secretKeyRef": {"name": "llm-key", "key": "key"}}
    volumes = {v["name"]: v for v in pod_spec["volumes"]}
    assert volumes["artifacts"]["persistentVolumeClaim"] == {"claimName": "artifacts", "readOnly": True}
    mounts = {m["name"]: m for m in container["volumeMounts"]}
    assert mounts["artifacts"] == {
        "name": "artifacts",
        "mountPath": "/output",
        "subPath": "runs/pine",
        "readOnly": True,
    }
    assert container["resources"]["limits"]["nvidia.com/gpu"] == "1"
    assert spec["selector"]["matchLabels"] == service["spec"]["selector"]
    assert spec["template"]["metadata"]["annotations"]["tradetune.dev/model-revision"] == f"{UID}/1"
    assert builders.endpoint(ms) == "http://pine-llm-vllm.ml.svc:8000/v1"


def test_adapter_mode_serves_base_plus_adapter() -> None:
    ms = _mserve(mode="adapter")
    model = builders.resolve_model(ms, _succeeded(_ftj()))
    deployment = builders.deployment(ms, model, SETTINGS)
    _valid(deployment)
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    args = container["args"]
    # The hub id and its revision: `tradetune serve` finds the snapshot in the cache volume.
    assert args[:7] == [
        "serve", "--model", "mistralai/Mistral-7B-v0.1", "--adapter", "/output/adapter", "--revision", "main",
    ]  # fmt: skip
    env = {e["name"]: e for e in container["env"]}
    assert "HF_TOKEN" in env
    assert env["HF_HOME"]["value"] == "/cache"
    assert "HF_HUB_OFFLINE" not in env  # the server reads the cache the trainer filled, offline
    # The trainer fills the cache; the server only reads it.
    volumes = {v["name"]: v for v in deployment["spec"]["template"]["spec"]["volumes"]}
    mounts = {m["name"]: m for m in container["volumeMounts"]}
    assert volumes["cache"]["persistentVolumeClaim"] == {"claimName": "hf-cache", "readOnly": True}
    assert mounts["cache"] == {"name": "cache", "mountPath": "/cache", "readOnly": True}


def test_adapter_mode_without_a_cache_volume_lets_the_server_download() -> None:
    ftj = _ftj()
    ftj = ftj.model_copy(update={"spec": ftj.spec.model_copy(update={"cache": None})})
    deployment = builders.deployment(
        _mserve(mode="adapter"), builders.resolve_model(_mserve(mode="adapter"), _succeeded(ftj)), SETTINGS
    )
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert env["HF_HUB_OFFLINE"] == "0"
    assert env["HF_HOME"] == "/tmp/hf"
    assert "cache" not in {m["name"] for m in container["volumeMounts"]}


def test_adapter_mode_with_a_base_path_reads_it_in_the_cache_volume() -> None:
    ftj = _ftj(baseModel={"path": "models/tiny"})
    model = builders.resolve_model(_mserve(mode="adapter"), _succeeded(ftj))
    assert (model.model, model.hub_revision) == ("/cache/models/tiny", None)


def test_every_empty_dir_has_a_size_limit() -> None:
    deployment = builders.deployment(
        _mserve(), builders.resolve_model(_mserve(), _succeeded(_ftj())), SETTINGS
    )
    job = builders.training_job(_ftj(output=None, cache=None), SETTINGS)
    for pod_spec in (deployment["spec"]["template"]["spec"], job["spec"]["template"]["spec"]):
        empty = [v for v in pod_spec["volumes"] if "emptyDir" in v]
        assert empty and all(v["emptyDir"].get("sizeLimit") for v in empty), empty
    shm = next(v for v in deployment["spec"]["template"]["spec"]["volumes"] if v["name"] == "dshm")
    assert shm["emptyDir"] == {"medium": "Memory", "sizeLimit": "2Gi"}


def test_auth_and_request_limits_reach_the_server() -> None:
    open_ms = _mserve(auth="none", publicMetrics=False, maxRequestBytes=65536)
    deployment = builders.deployment(open_ms, builders.resolve_model(open_ms, _succeeded(_ftj())), SETTINGS)
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert "VLLM_API_KEY" not in {e["name"] for e in container["env"]}
    args = container["args"]
    assert args[args.index("--max-body-bytes") + 1] == "65536"
    assert "--private-metrics" in args


def test_network_policy_admits_the_namespace_by_default_and_named_peers_only() -> None:
    default = builders.network_policy(_mserve())
    _valid(default)
    assert default["metadata"]["name"] == "pine-llm-vllm"
    assert default["metadata"]["ownerReferences"][0]["uid"] == "ms-uid"
    spec = default["spec"]
    assert spec["podSelector"]["matchLabels"]["tradetune.dev/modelserve"] == "pine-llm"
    assert spec["policyTypes"] == ["Ingress"]
    assert spec["ingress"] == [{"from": [{"podSelector": {}}], "ports": [{"protocol": "TCP", "port": 8000}]}]
    named = builders.network_policy(
        _mserve(
            network={
                "allowFrom": [
                    {
                        "namespaceSelector": {"kubernetes.io/metadata.name": "apps"},
                        "podSelector": {"app": "bot"},
                    },
                    {"podSelector": {"role": "client"}},
                ]
            }
        )
    )
    _valid(named)
    assert named["spec"]["ingress"][0]["from"] == [
        {
            "podSelector": {"matchLabels": {"app": "bot"}},
            "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "apps"}},
        },
        {"podSelector": {"matchLabels": {"role": "client"}}},
    ]


def test_model_path_on_a_volume() -> None:
    ms = _mserve(
        model={"path": "base", "adapterPath": "/models/adapters/v2"},
        mode="adapter",
        volume={"claimName": "models"},
    )
    model = builders.resolve_model(ms, None)
    assert (model.model, model.adapter, model.mount_path) == (
        "/models/base",
        "/models/adapters/v2",
        "/models",
    )
    _valid(builders.deployment(ms, model, SETTINGS))


@pytest.mark.parametrize(
    ("ftj", "reason"),
    [
        (None, "FineTuneJobNotFound"),
        ("pending", "FineTuneJobNotSucceeded"),
    ],
)
def test_unresolvable_models(ftj: str | None, reason: str) -> None:
    with pytest.raises(builders.UnresolvedModelError) as info:
        builders.resolve_model(_mserve(), None if ftj is None else _ftj())
    assert info.value.reason == reason


def test_promotion_bodies() -> None:
    ftj = _ftj(promote={"modelServe": "pine-llm", "create": True, "apiKeySecretRef": {"name": "k"}})
    created = builders.model_serve_for_promotion(ftj, existing=None)
    assert created is not None
    # No template: the trainer's scheduling (here the defaults: one GPU) is reused.
    assert created["spec"] == {
        "model": {"fromFineTuneJob": "pine"},
        "resources": {"gpus": 1, "gpuResourceName": "nvidia.com/gpu"},
        "auth": "apiKey",
        "apiKeySecretRef": {"name": "k", "key": "token"},
    }
    open_ftj = _ftj(promote={"modelServe": "pine-llm", "create": True, "auth": "none"})
    opened = builders.model_serve_for_promotion(open_ftj, existing=None)
    assert opened is not None and opened["spec"]["auth"] == "none"
    assert "apiKeySecretRef" not in opened["spec"]
    assert (
        created["metadata"]["annotations"]["tradetune.dev/promoted-from"] == f"ml/pine uid={UID} generation=1"
    )
    patch = builders.model_serve_for_promotion(ftj, existing={"spec": {"model": {"path": "/old"}}})
    assert patch is not None
    assert patch["spec"]["model"] == {"fromFineTuneJob": "pine", "path": None, "adapterPath": None}


def test_spec_hash_changes_with_the_spec() -> None:
    a = builders.with_spec_hash(builders.service(_mserve()))
    b = builders.with_spec_hash(builders.service(_mserve()))
    assert a == b
    b["spec"]["ports"][0]["port"] = 9000
    assert builders.spec_hash({"spec": b["spec"]}) != a["metadata"]["annotations"]["tradetune.dev/spec-hash"]


def test_relative_artifact_paths_are_under_the_output_mount() -> None:
    from tradetune.api import FineTuneJobStatus

    ftj = _ftj().model_copy(
        update={
            "status": FineTuneJobStatus.model_validate(
                {"phase": "Succeeded", "artifacts": {"merged": "merged"}}
            )
        }
    )
    model = builders.resolve_model(_mserve(), ftj)
    assert model.model == "/output/merged"


TAINTED = {
    "gpus": 1,
    "memory": "48Gi",
    "nodeSelector": {"nvidia.com/gpu.product": "NVIDIA-A100-SXM4-40GB"},
    "tolerations": [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}],
}


def _served_deployment(created: dict[str, Any]) -> dict[str, Any]:
    from tradetune.api import parse_modelserve

    body = {**created, "metadata": {**created["metadata"], "uid": "ms-uid"}}
    mserve = parse_modelserve(body)
    model = builders.resolve_model(mserve, _succeeded(_ftj()))
    return builders.deployment(mserve, model, SETTINGS)


def test_created_model_serve_schedules_where_the_trainer_did() -> None:
    """The example job's nodes carry a NoSchedule taint: the server must tolerate it too."""
    ftj = _ftj(promote={"modelServe": "pine-llm", "create": True, "auth": "none"}, resources=TAINTED)
    created = builders.model_serve_for_promotion(ftj, existing=None)
    assert created is not None
    assert "memory" not in created["spec"]["resources"]  # the trainer's size is not the server's
    pod = _served_deployment(created)["spec"]["template"]["spec"]
    assert pod["tolerations"] == TAINTED["tolerations"]
    assert pod["nodeSelector"] == TAINTED["nodeSelector"]


def test_model_serve_template_gives_the_serving_settings() -> None:
    template = {
        "resources": {"profile": "a100", "gpus": 2},
        "replicas": 2,
        "engine": {"maxModelLen": 4096},
    }
    promote = {"modelServe": "pine-llm", "create": True, "apiKeySecretRef": {"name": "llm-key", "key": "key"}}
    ftj = _ftj(
        promote={**promote, "modelServeTemplate": template},
        resources=TAINTED,
    )
    created = builders.model_serve_for_promotion(ftj, existing=None)
    assert created is not None
    resources = created["spec"]["resources"]
    assert (resources["profile"], resources["gpus"], resources["nodeSelector"]) == ("a100", 2, {})
    assert created["spec"]["replicas"] == 2 and created["spec"]["engine"]["maxModelLen"] == 4096
    deployment = _served_deployment(created)
    pod = deployment["spec"]["template"]["spec"]
    assert pod["nodeSelector"] == {"gpu": "a100"}  # from the operator's profile
    env = {e["name"]: e for e in pod["containers"][0]["env"]}
    assert env["VLLM_API_KEY"]["valueFrom"]["secretKeyRef"] == {"name": "llm-key", "key": "key"}
