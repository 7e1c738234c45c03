"""Settings from the environment, the kopf command line, and the metrics contract."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from prometheus_client import generate_latest

from tradetune import __version__
from tradetune.api import EvalMetrics
from tradetune.errors import InvalidInput
from tradetune.operator.__main__ import kopf_args
from tradetune.operator.metrics import OperatorMetrics
from tradetune.operator.settings import OperatorSettings, load_settings

CONTRACTS = Path(__file__).resolve().parents[3] / "docs" / "contracts.md"


def test_defaults() -> None:
    s = load_settings({})
    assert s.namespaces == () and s.clusterwide
    assert s.trainer_image == f"ghcr.io/tradetune/trainer:{__version__}"
    assert s.server_image == f"ghcr.io/tradetune/server:{__version__}"
    assert (s.metrics_port, s.liveness_port, s.watch_server_timeout) == (8080, 8081, 300)
    assert s.peering is None and s.profiles == {}


def test_environment(tmp_path: Path) -> None:
    profiles = tmp_path / "profiles.yaml"
    profiles.write_text(
        "a100:\n  gpus: 2\n  memory: 120Gi\n  nodeSelector: {gpu: a100}\n"
        "  tolerations: [{key: nvidia.com/gpu, operator: Exists}]\ncpu-small:\n  gpus: 0\n  cpu: 2\n"
    )
    s = load_settings(
        {
            "TRADETUNE_NAMESPACES": "ml, research ,",
            "TRADETUNE_TRAINER_IMAGE": "r/t:1",
            "TRADETUNE_PROFILES_FILE": str(profiles),
            "TRADETUNE_WATCH_SERVER_TIMEOUT": "120",
            "TRADETUNE_PEERING": "tradetune",
            "TRADETUNE_CLUSTER_PEERING": "true",
        }
    )
    assert s.namespaces == ("ml", "research")
    assert s.trainer_image == "r/t:1"
    assert s.profiles["a100"].gpus == 2 and s.profiles["a100"].node_selector == {"gpu": "a100"}
    assert s.profiles["cpu-small"].cpu == "2"
    assert (s.watch_server_timeout, s.watch_client_timeout) == (120, 150)
    assert s.peering == "tradetune" and s.cluster_peering is True
    assert load_settings({}).cluster_peering is None


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"TRADETUNE_METRICS_PORT": "http"}, "TRADETUNE_METRICS_PORT: expected an integer, got 'http'"),
        ({"TRADETUNE_WATCH_SERVER_TIMEOUT": "0"}, "TRADETUNE_WATCH_SERVER_TIMEOUT: must be >= 1, got 0"),
        ({"TRADETUNE_PROFILES_FILE": "/nonexistent/p.yaml"}, "TRADETUNE_PROFILES_FILE: cannot read"),
        ({"TRADETUNE_RESYNC_SECONDS": "nan"}, "TRADETUNE_RESYNC_SECONDS: must be a finite number"),
        ({"TRADETUNE_RESYNC_SECONDS": "-5"}, "TRADETUNE_RESYNC_SECONDS: must be a finite number"),
    ],
)
def test_bad_values_name_the_variable(env: dict[str, str], message: str) -> None:
    with pytest.raises(InvalidInput) as info:
        load_settings(env)
    assert info.value.message.startswith(message)


def test_bad_profile_names_the_field(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text("big:\n  gpu: 8\n")
    with pytest.raises(InvalidInput, match="profile 'big': unknown field"):
        load_settings({"TRADETUNE_PROFILES_FILE": str(path)})


def test_kopf_arguments() -> None:
    args = kopf_args(OperatorSettings(namespaces=("a", "b")))
    assert args[:3] == ["run", "--module", "tradetune.operator.handlers"]
    assert args.count("--namespace") == 2 and "--standalone" in args
    assert "http://0.0.0.0:8081/healthz" in args
    clusterwide = kopf_args(OperatorSettings(peering="tt"), liveness=False)
    assert "--all-namespaces" in clusterwide and clusterwide[clusterwide.index("--peering") + 1] == "tt"
    assert "--liveness" not in clusterwide


def _contract_series() -> dict[str, set[str]]:
    rows = re.findall(r"^\| `(tradetune_[a-z_]+)` \| [^|]+ \| ([^|]+) \|$", CONTRACTS.read_text(), re.M)
    return {name: set(re.findall(r"`(\w+)`", re.sub(r"\(.*?\)", "", labels))) for name, labels in rows}


def test_metric_names_and_labels_match_the_contract() -> None:
    m = OperatorMetrics()
    m.observe_finetunejob(
        "ml", "a", phase="Running", phase_since=1.0, metrics=EvalMetrics(perplexity=3.0), gate_passed=True
    )
    m.training_finished("ml", 12.0)
    m.gate_evaluated("ml", passed=False)
    m.promoted("ml")
    m.reconcile_error("FineTuneJob")
    m.observe_modelserve("ml", "s", ready=1, desired=2, degraded=False)
    m.observe_progress(
        "ml",
        "a",
        {
            "progressPercentage": 25,
            "trainLoss": 1.5,
            "evalLoss": 1.4,
            "tokensPerSecond": 6000.0,
            "estimatedRemainingSeconds": 90,
            "step": 10,
        },
        advanced_at=5.0,
    )
    m.rolled_back("ml", "s")
    found: dict[str, set[str]] = {}
    for family in m.registry.collect():
        for sample in family.samples:
            base = re.sub(r"_(bucket|count|sum|created)$", "", sample.name)
            if sample.name.endswith("_created"):
                continue
            found.setdefault(base, set()).update(k for k in sample.labels if k != "le")
    contract = _contract_series()
    assert len(contract) == 21
    assert {name: labels for name, labels in found.items()} == contract


def test_phase_counts_and_forgetting() -> None:
    m = OperatorMetrics()
    m.observe_finetunejob("ml", "a", phase="Running", phase_since=1.0, metrics=None, gate_passed=None)
    m.observe_finetunejob("ml", "b", phase="Running", phase_since=1.0, metrics=None, gate_passed=None)
    m.observe_finetunejob("ml", "b", phase="Succeeded", phase_since=2.0, metrics=None, gate_passed=True)
    text = generate_latest(m.registry).decode()
    assert 'tradetune_finetunejobs{namespace="ml",phase="Running"} 1.0' in text
    assert 'tradetune_finetunejobs{namespace="ml",phase="Succeeded"} 1.0' in text
    m.forget_finetunejob("ml", "b")
    text = generate_latest(m.registry).decode()
    assert 'name="b"' not in text
    assert 'tradetune_finetunejobs{namespace="ml",phase="Succeeded"} 0.0' in text


def test_the_resync_timer_uses_the_validated_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    """The timer's interval (read when handlers is imported) goes through the settings' validation."""
    from tradetune.operator.settings import resync_seconds

    assert resync_seconds({"TRADETUNE_RESYNC_SECONDS": "45"}) == 45.0
    assert resync_seconds({}) == 60.0
    with pytest.raises(InvalidInput):
        resync_seconds({"TRADETUNE_RESYNC_SECONDS": "inf"})
