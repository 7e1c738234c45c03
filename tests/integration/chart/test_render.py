"""Render the chart with the real helm for every values set and check what comes out.

`helm lint --strict`, `helm template` validated by `kubernetes-validate --strict` (built-in
kinds, against the newest and the oldest Kubernetes the chart supports), the prometheus-operator
and kopf kinds against schemas of their own, and the behaviour each value promises.
"""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.integration.chart._custom_kinds import CUSTOM_KINDS, validate_custom
from tests.integration.chart._support import (
    CHART,
    CI_VALUES,
    ROOT,
    VALUES_SETS,
    Helm,
    by_kind,
    load_yaml,
    one,
)

# The Kubernetes versions the chart is validated against: Chart.yaml's kubeVersion floor and the
# newest schema kubernetes-validate ships.
KUBE_VERSIONS = ["1.25", "1.37"]


@pytest.mark.parametrize("values", list(VALUES_SETS.values()), ids=list(VALUES_SETS))
def test_lint_strict(helm: Helm, values: list[str]) -> None:
    proc = helm.run("lint", "--strict", str(CHART), *values)
    assert "0 chart(s) failed" in proc.stdout, proc.stdout
    assert "[WARNING]" not in proc.stdout and "[ERROR]" not in proc.stdout, proc.stdout


def test_ci_values_sets_exist() -> None:
    """The chart-testing convention: one file per scenario the issue names."""
    names = {p.name for p in CI_VALUES}
    assert {"namespace-scoped-values.yaml", "multi-replica-values.yaml", "monitoring-values.yaml"} <= names


@pytest.mark.parametrize("values", list(VALUES_SETS.values()), ids=list(VALUES_SETS))
def test_renders_valid_manifests(
    helm: Helm, kubernetes_validate: str, values: list[str], tmp_path: Path
) -> None:
    objs = helm.render("--include-crds", *values)
    builtin = [o for o in objs if (o["apiVersion"], o["kind"]) not in CUSTOM_KINDS]
    custom = [o for o in objs if (o["apiVersion"], o["kind"]) in CUSTOM_KINDS]
    for obj in custom:
        validate_custom(obj)
    manifest = tmp_path / "rendered.yaml"
    manifest.write_text(yaml.safe_dump_all(builtin, sort_keys=False), encoding="utf-8")
    for version in KUBE_VERSIONS:
        proc = subprocess.run(
            [kubernetes_validate, "--strict", "-k", version, str(manifest)],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        out = proc.stdout + proc.stderr
        assert proc.returncode == 0, out
        assert "WARN" not in out and "ERROR" not in out, out
        assert out.count(" passed for resource ") == len(builtin), out
    # Every object a chart user could be surprised by is accounted for.
    assert one(objs, "Deployment")["metadata"]["name"] == "tt-tradetune"


def test_strict_validation_catches_a_typo(helm: Helm, kubernetes_validate: str, tmp_path: Path) -> None:
    """The validator above really rejects unknown fields (so its passing means something)."""
    deployment = one(helm.render(), "Deployment")
    deployment["spec"]["template"]["spec"]["containers"][0]["imagePulPolicy"] = "Always"
    manifest = tmp_path / "typo.yaml"
    manifest.write_text(yaml.safe_dump(deployment), encoding="utf-8")
    proc = subprocess.run(
        [kubernetes_validate, "--strict", str(manifest)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode != 0
    assert "imagePulPolicy" in proc.stdout + proc.stderr


def _env(deployment: dict[str, Any]) -> dict[str, str]:
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    return {e["name"]: e["value"] for e in container["env"] if "value" in e}


def test_single_replica_recreates_without_peering(helm: Helm) -> None:
    objs = helm.render()
    deployment = one(objs, "Deployment")
    assert deployment["spec"]["replicas"] == 1
    assert deployment["spec"]["strategy"] == {"type": "Recreate"}
    assert "TRADETUNE_PEERING" not in _env(deployment)
    assert "TRADETUNE_CLUSTER_PEERING" not in _env(deployment)
    assert not by_kind(objs, "ClusterKopfPeering") and not by_kind(objs, "KopfPeering")
    assert not by_kind(objs, "PodDisruptionBudget")


def test_multi_replica_rolls_with_peering(helm: Helm) -> None:
    objs = helm.render("-f", str(CHART / "ci" / "multi-replica-values.yaml"))
    deployment = one(objs, "Deployment")
    assert deployment["spec"]["replicas"] == 2
    assert deployment["spec"]["strategy"]["type"] == "RollingUpdate"
    peering = one(objs, "ClusterKopfPeering")
    assert _env(deployment)["TRADETUNE_PEERING"] == peering["metadata"]["name"] == "tt-tradetune"
    assert _env(deployment)["TRADETUNE_CLUSTER_PEERING"] == "true"
    pdb = one(objs, "PodDisruptionBudget")
    assert pdb["spec"]["minAvailable"] == 1
    assert pdb["spec"]["selector"]["matchLabels"] == deployment["spec"]["selector"]["matchLabels"]


def test_namespaced_peering_lives_in_each_watched_namespace(helm: Helm) -> None:
    objs = helm.render(*VALUES_SETS["namespace-scoped+multi-replica"])
    peerings = by_kind(objs, "KopfPeering")
    assert sorted(p["metadata"]["namespace"] for p in peerings) == ["ml-team-a", "ml-team-b"]
    env = _env(one(objs, "Deployment"))
    assert {p["metadata"]["name"] for p in peerings} == {env["TRADETUNE_PEERING"]}
    assert env["TRADETUNE_CLUSTER_PEERING"] == "false"
    assert not by_kind(objs, "ClusterKopfPeering")


def test_operator_environment(helm: Helm) -> None:
    env = _env(one(helm.render(), "Deployment"))
    assert env["TRADETUNE_NAMESPACES"] == ""
    assert env["TRADETUNE_TRAINER_IMAGE"] == "ghcr.io/tradetune/trainer:0.1.0"
    assert env["TRADETUNE_SERVER_IMAGE"] == "ghcr.io/tradetune/server:0.1.0"
    assert env["TRADETUNE_PROFILES_FILE"] == "/etc/tradetune/profiles.yaml"
    assert env["TRADETUNE_METRICS_PORT"] == "8080"
    assert env["TRADETUNE_WATCH_SERVER_TIMEOUT"] == "300"
    assert env["TRADETUNE_RESYNC_SECONDS"] == "60"
    assert env["TRADETUNE_PROGRESS_SECONDS"] == "15"
    assert env["TRADETUNE_LIVENESS_PORT"] == "8081"

    env = _env(
        one(
            helm.render(
                "-f",
                str(CHART / "ci" / "namespace-scoped-values.yaml"),
                "--set",
                "trainerImage.tag=9.9.9,serverImage.repository=registry.example/vllm,operator.watchServerTimeout=120",
            ),
            "Deployment",
        )
    )
    assert env["TRADETUNE_NAMESPACES"] == "ml-team-a,ml-team-b"
    assert env["TRADETUNE_TRAINER_IMAGE"] == "ghcr.io/tradetune/trainer:9.9.9"
    assert env["TRADETUNE_SERVER_IMAGE"] == "registry.example/vllm:0.1.0"
    assert env["TRADETUNE_WATCH_SERVER_TIMEOUT"] == "120"


def test_operator_image_digest_and_entrypoint(helm: Helm) -> None:
    digest = "sha256:" + "ab" * 32
    container = one(helm.render("--set", f"image.digest={digest}"), "Deployment")["spec"]["template"]["spec"][
        "containers"
    ][0]
    assert container["image"] == f"ghcr.io/tradetune/operator@{digest}"
    assert container["command"] == ["python", "-m", "tradetune.operator"]


def test_probes_and_ports(helm: Helm) -> None:
    container = one(helm.render(), "Deployment")["spec"]["template"]["spec"]["containers"][0]
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert ports == {"metrics": 8080, "health": 8081}
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "health"}


@pytest.mark.parametrize("values", list(VALUES_SETS.values()), ids=list(VALUES_SETS))
def test_pods_meet_restricted_pod_security(helm: Helm, values: list[str]) -> None:
    """The checks of the "restricted" Pod Security Standard, for every pod the chart makes."""
    for workload in by_kind(helm.render(*values), "Deployment"):
        pod = workload["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
        assert not pod.get("hostNetwork") and not pod.get("hostPID") and not pod.get("hostIPC")
        assert all("hostPath" not in v for v in pod.get("volumes", []))
        for container in pod["containers"] + pod.get("initContainers", []):
            sc = container["securityContext"]
            assert sc["allowPrivilegeEscalation"] is False
            assert sc["runAsNonRoot"] is True
            assert sc["readOnlyRootFilesystem"] is True
            assert sc["capabilities"] == {"drop": ["ALL"]}
            assert sc["seccompProfile"] == {"type": "RuntimeDefault"}
            assert not sc.get("privileged")
            assert "limits" in container["resources"] and "requests" in container["resources"]


def test_profiles_config_map(helm: Helm) -> None:
    objs = helm.render()
    cm = one(objs, "ConfigMap")
    profiles = yaml.safe_load(cm["data"]["profiles.yaml"])
    assert profiles == load_yaml(CHART / "values.yaml")["profiles"]
    assert profiles["a100-80gb"]["gpus"] == 1
    assert profiles["a100-80gb"]["nodeSelector"] == {"nvidia.com/gpu.product": "NVIDIA-A100-SXM4-80GB"}
    assert profiles["l4-24gb"]["nodeSelector"] == {"nvidia.com/gpu.product": "NVIDIA-L4"}
    pod = one(objs, "Deployment")["spec"]["template"]["spec"]
    volume = next(v for v in pod["volumes"] if v["name"] == "profiles")
    assert volume["configMap"]["name"] == cm["metadata"]["name"]
    mount = next(m for m in pod["containers"][0]["volumeMounts"] if m["name"] == "profiles")
    assert mount["mountPath"] == "/etc/tradetune"


def test_profile_change_rolls_the_operator(helm: Helm) -> None:
    """The checksum annotation follows the profiles, so a new profile restarts the operator."""

    def checksum(*args: str) -> str:
        objs = helm.render(*args)
        annotation = one(objs, "Deployment")["spec"]["template"]["metadata"]["annotations"][
            "checksum/profiles"
        ]
        return str(annotation)

    extra = ["--set", "profiles.h100-80gb.gpus=1,profiles.h100-80gb.memory=96Gi"]
    assert checksum() != checksum(*extra)
    profiles = yaml.safe_load(one(helm.render(*extra), "ConfigMap")["data"]["profiles.yaml"])
    assert profiles["h100-80gb"] == {"gpus": 1, "memory": "96Gi"}
    assert len(checksum()) == len(hashlib.sha256().hexdigest())


def test_metrics_service_and_service_monitor(helm: Helm) -> None:
    objs = helm.render("-f", str(CHART / "ci" / "monitoring-values.yaml"))
    service = one(objs, "Service")
    deployment = one(objs, "Deployment")
    pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= pod_labels.items()
    assert service["spec"]["ports"] == [
        {"name": "metrics", "port": 8080, "targetPort": "metrics", "protocol": "TCP"}
    ]
    monitor = one(objs, "ServiceMonitor")
    assert monitor["metadata"]["labels"]["release"] == "kube-prometheus-stack"
    assert monitor["spec"]["selector"]["matchLabels"].items() <= service["metadata"]["labels"].items()
    assert monitor["spec"]["endpoints"][0]["port"] == "metrics"
    assert monitor["spec"]["endpoints"][0]["path"] == "/metrics"
    # The scrape job is "tradetune-operator": the OperatorDown alert depends on it.
    assert service["metadata"]["labels"][monitor["spec"]["jobLabel"]] == "tradetune-operator"
    alerts = (CHART / "files" / "alerts.yaml").read_text(encoding="utf-8")
    assert 'up{job="tradetune-operator"}' in alerts


def test_monitoring_objects_are_optional(helm: Helm) -> None:
    objs = helm.render()
    for kind in ("ServiceMonitor", "PrometheusRule", "NetworkPolicy"):
        assert not by_kind(objs, kind), kind
    assert one(objs, "Service")  # the metrics Service is always there


def test_network_policy(helm: Helm) -> None:
    objs = helm.render("-f", str(CHART / "ci" / "monitoring-values.yaml"))
    policy = one(objs, "NetworkPolicy")["spec"]
    assert (
        policy["podSelector"]["matchLabels"].items()
        <= one(objs, "Deployment")["spec"]["template"]["metadata"]["labels"].items()
    )
    assert policy["policyTypes"] == ["Ingress", "Egress"]
    metrics_rule, health_rule = policy["ingress"]
    assert metrics_rule["ports"] == [{"port": "metrics", "protocol": "TCP"}]
    assert (
        metrics_rule["from"]
        == load_yaml(CHART / "ci" / "monitoring-values.yaml")["networkPolicy"]["metricsFrom"]
    )
    assert health_rule == {"ports": [{"port": "health", "protocol": "TCP"}]}
    egress_ports = sorted((p["port"], p["protocol"]) for rule in policy["egress"] for p in rule["ports"])
    assert egress_ports == [(53, "TCP"), (53, "UDP"), (443, "TCP"), (6443, "TCP")]

    cidr = one(
        helm.render("--set", "networkPolicy.enabled=true,networkPolicy.apiServer.cidrs={10.0.0.1/32}"),
        "NetworkPolicy",
    )
    assert cidr["spec"]["egress"][1]["to"] == [{"ipBlock": {"cidr": "10.0.0.1/32"}}]


def test_notes_tell_how_to_start_and_watch_a_job(helm: Helm) -> None:
    proc = helm.run(
        "install", "tt", str(CHART), "--dry-run=client", "--namespace", "tradetune-system",
        "-f", str(CHART / "ci" / "namespace-scoped-values.yaml"),
    )  # fmt: skip
    notes = proc.stdout.split("NOTES:", 1)[1]
    assert "kubectl -n ml-team-a apply -f examples/finetunejob.yaml" in notes
    assert "kubectl -n ml-team-a get ftj -w" in notes
    assert "--for=condition=Ready" in notes
    assert "a100-80gb" in notes and "l4-24gb" in notes
    assert "only in: ml-team-a, ml-team-b" in notes
    # What the notes say matches the example they point at.
    example = load_yaml(ROOT / "examples" / "finetunejob.yaml")
    assert example["kind"] == "FineTuneJob"
    assert f"create secret generic {example['spec']['baseModel']['tokenSecretRef']['name']} " in notes
    assert f'creates "{example["spec"]["promote"]["modelServe"]}"' in notes
    assert (ROOT / "examples" / "modelserve.yaml").exists()


def test_refuses_clusters_older_than_the_schemas_it_was_validated_against(helm: Helm) -> None:
    proc = helm.run("template", "tt", str(CHART), "--kube-version", "1.24.0", check=False)
    assert proc.returncode != 0
    assert ">=1.25.0-0" in proc.stderr
    assert helm.run("template", "tt", str(CHART), "--kube-version", "1.25.0").stdout


def test_packaged_chart_carries_crds_alerts_and_schema(helm: Helm, tmp_path: Path) -> None:
    """`helm package` keeps what the chart reads at render time (nothing is .helmignored away)."""
    helm.run("package", str(CHART), "--destination", str(tmp_path))
    package = tmp_path / "tradetune-0.1.0.tgz"
    assert package.exists()
    objs = [
        doc
        for doc in yaml.safe_load_all(
            helm.run(
                "template",
                "tt",
                str(package),
                "--include-crds",
                "-f",
                str(CHART / "ci" / "monitoring-values.yaml"),
            ).stdout
        )
        if doc
    ]
    assert len(by_kind(objs, "CustomResourceDefinition")) == 4
    assert one(objs, "PrometheusRule")["spec"]["groups"]
    proc = helm.run("template", "tt", str(package), "--set", "replicaCount=two", check=False)
    assert "got string, want integer" in proc.stderr


def test_platform_assigned_ids(helm: Helm, tmp_path: Path) -> None:
    """Platforms that assign UIDs themselves (OpenShift) drop the fixed IDs with null."""
    values = tmp_path / "openshift-values.yaml"
    values.write_text(
        "podSecurityContext:\n  runAsUser: null\n  runAsGroup: null\n  fsGroup: null\n", encoding="utf-8"
    )
    pod = one(helm.render("-f", str(values)), "Deployment")["spec"]["template"]["spec"]
    assert pod["securityContext"] == {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}}
