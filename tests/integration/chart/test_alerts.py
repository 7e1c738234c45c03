"""The alert rules: valid for promtool, unit-tested on synthetic series, written against the
operator's real metric names, and shipped unchanged in the chart's PrometheusRule."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import yaml

from tests.integration.chart._support import CHART, ROOT, Helm, load_yaml, one

ALERTS = CHART / "files" / "alerts.yaml"
UNIT_TESTS = Path(__file__).with_name("alerts_test.yaml")
REQUIRED = {
    "FineTuneJobFailed",
    "FineTuneJobGateFailed",
    "FineTuneJobStuck",
    "ModelServeNotReady",
    "ModelServeDegraded",
    "ModelServeRolledBack",
    "OperatorDown",
    "OperatorNoActiveReplica",
    "OperatorReconcileErrors",
}
PROMQL_WORDS = {
    "max", "min", "sum", "by", "on", "unless", "and", "or", "time", "absent", "rate", "increase",
    "group_left", "group_right", "without", "ignoring", "bool",
}  # fmt: skip


def _promtool(promtool: str, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [promtool, *args], capture_output=True, text=True, timeout=120, check=False, cwd=cwd
    )


def _rules(doc: dict[str, Any]) -> list[dict[str, Any]]:
    return [rule for group in doc["groups"] for rule in group["rules"]]


def test_promtool_check_rules(promtool: str) -> None:
    proc = _promtool(promtool, "check", "rules", str(ALERTS))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"SUCCESS: {len(_rules(load_yaml(ALERTS)))} rules found" in proc.stdout


def test_promtool_unit_tests(promtool: str) -> None:
    proc = _promtool(promtool, "test", "rules", UNIT_TESTS.name, cwd=UNIT_TESTS.parent)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "SUCCESS" in proc.stdout


def test_unit_tests_fire_and_stay_silent_for_every_alert() -> None:
    tests = load_yaml(UNIT_TESTS)["tests"]
    cases = [case for test in tests for case in test["alert_rule_test"]]
    fired = {c["alertname"] for c in cases if c.get("exp_alerts")}
    silent = {c["alertname"] for c in cases if not c.get("exp_alerts")}
    assert fired == REQUIRED
    assert silent == REQUIRED


def test_unit_tests_catch_a_broken_rule(promtool: str, tmp_path: Path) -> None:
    """The unit tests bite: without its `unless` clause FineTuneJobFailed also fires for a job that
    failed its gate, and promtool reports it."""
    text = ALERTS.read_text(encoding="utf-8")
    broken = re.sub(
        r"\n *unless on \(namespace, name\)"
        r"\n *max by \(namespace, name\) \(tradetune_finetunejob_gate_passed\) == 0",
        "",
        text,
        count=1,
    )
    assert broken != text
    (tmp_path / "charts" / "tradetune" / "files").mkdir(parents=True)
    (tmp_path / "charts" / "tradetune" / "files" / "alerts.yaml").write_text(broken, encoding="utf-8")
    unit = tmp_path / "tests" / "integration" / "chart"
    unit.mkdir(parents=True)
    (unit / UNIT_TESTS.name).write_text(UNIT_TESTS.read_text(encoding="utf-8"), encoding="utf-8")
    proc = _promtool(promtool, "test", "rules", UNIT_TESTS.name, cwd=unit)
    assert proc.returncode != 0
    assert "alertname: FineTuneJobFailed" in proc.stdout + proc.stderr


def _contract_metrics() -> set[str]:
    """Series names from the metrics table of docs/contracts.md."""
    text = (ROOT / "docs" / "contracts.md").read_text(encoding="utf-8")
    return set(re.findall(r"^\| `(tradetune_[a-z_]+)` \|", text, flags=re.MULTILINE))


def test_alerts_use_only_the_operators_metric_names() -> None:
    contract = _contract_metrics()
    assert "tradetune_finetunejob_phase" in contract and len(contract) >= 10
    used: set[str] = set()
    for rule in _rules(load_yaml(ALERTS)):
        expr = re.sub(r'\{[^}]*\}|"[^"]*"|\[[^]]*\]', "", rule["expr"])
        names = (
            set(re.findall(r"[a-zA-Z_:][a-zA-Z0-9_:]*", expr))
            - PROMQL_WORDS
            - {"namespace", "name", "phase", "kind"}
        )
        used |= names
    # `up` is Prometheus' own scrape health series.
    assert used - {"up"} <= contract, sorted(used - {"up"} - contract)
    assert {
        "tradetune_finetunejob_phase",
        "tradetune_finetunejob_gate_passed",
        "tradetune_finetunejob_phase_since_timestamp_seconds",
        "tradetune_modelserve_ready_replicas",
        "tradetune_modelserve_desired_replicas",
        "tradetune_modelserve_degraded",
        "tradetune_reconcile_errors_total",
    } <= used


def test_every_alert_has_severity_and_text() -> None:
    rules = _rules(load_yaml(ALERTS))
    assert {r["alert"] for r in rules} == REQUIRED
    for rule in rules:
        assert rule["labels"]["severity"] in {"warning", "critical"}, rule["alert"]
        assert rule["annotations"]["summary"] and rule["annotations"]["description"], rule["alert"]


def test_prometheus_rule_carries_the_same_rules(helm: Helm, promtool: str, tmp_path: Path) -> None:
    objs = helm.render("-f", str(CHART / "ci" / "monitoring-values.yaml"))
    spec = one(objs, "PrometheusRule")["spec"]
    source = load_yaml(ALERTS)
    extra = load_yaml(CHART / "ci" / "monitoring-values.yaml")["prometheusRule"]["additionalAlertLabels"]
    for rule in _rules(source):
        rule["labels"] = {**extra, **rule["labels"]}
    assert spec == source
    # And the rendered copy is itself a valid rules file.
    rendered = tmp_path / "rendered-rules.yaml"
    rendered.write_text(yaml.safe_dump(spec), encoding="utf-8")
    proc = _promtool(promtool, "check", "rules", str(rendered))
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_alert_labels_cannot_override_severity(helm: Helm) -> None:
    objs = helm.render(
        "--set", "prometheusRule.enabled=true,prometheusRule.additionalAlertLabels.severity=info"
    )
    for rule in _rules(one(objs, "PrometheusRule")["spec"]):
        assert rule["labels"]["severity"] in {"warning", "critical"}


def test_alerts_fire_on_the_real_operator_metrics(promtool: str, tmp_path: Path) -> None:
    """End to end: the operator's own metrics code (tradetune.operator.metrics) is driven through a
    scenario minute by minute, its /metrics exposition becomes promtool's input series, and exactly
    the expected alerts fire. The annotations are dropped here (alerts_test.yaml checks them)."""
    from prometheus_client import generate_latest
    from prometheus_client.parser import text_string_to_metric_families

    from tradetune.operator.metrics import OperatorMetrics

    metrics = OperatorMetrics()
    series: dict[str, list[str]] = {}
    minutes = 80
    for minute in range(minutes + 1):
        metrics.observe_finetunejob(
            "ml", "broken", phase="Failed", phase_since=0.0, metrics=None, gate_passed=None
        )
        metrics.observe_finetunejob(
            "ml", "weak", phase="Failed", phase_since=0.0, metrics=None, gate_passed=False
        )
        metrics.observe_finetunejob(
            "ml", "waiting", phase="Pending", phase_since=0.0, metrics=None, gate_passed=None
        )
        metrics.observe_finetunejob(
            "ml", "good", phase="Succeeded", phase_since=0.0, metrics=None, gate_passed=True
        )
        metrics.observe_finetunejob(
            "ml", "young", phase="Running", phase_since=0.0, metrics=None, gate_passed=None
        )
        # Training, but its step last moved at minute 5; "steady" moves every minute.
        for name, advanced in (("frozen", 300.0), ("steady", minute * 60.0)):
            metrics.observe_finetunejob(
                "ml", name, phase="Running", phase_since=0.0, metrics=None, gate_passed=None
            )
            metrics.observe_progress("ml", name, {"step": float(min(minute, 5))}, advanced_at=advanced)
        metrics.observe_modelserve("ml", "down", ready=0, desired=1, degraded=True)
        metrics.observe_modelserve("ml", "fine", ready=2, desired=2, degraded=False)
        metrics.reconcile_error("FineTuneJob")
        exposition = generate_latest(metrics.registry).decode()
        samples = [s for family in text_string_to_metric_families(exposition) for s in family.samples]
        samples.append(type(samples[0])("up", {}, 1.0, None, None))
        for sample in samples:
            labels = {**sample.labels, "job": "tradetune-operator", "instance": "operator:8080"}
            key = sample.name + "{" + ",".join(f'{k}="{v}"' for k, v in sorted(labels.items())) + "}"
            series.setdefault(key, ["stale"] * minute).append(repr(float(sample.value)))
    rules = load_yaml(ALERTS)
    for rule in _rules(rules):
        rule.pop("annotations")
    (tmp_path / "rules.yaml").write_text(yaml.safe_dump(rules), encoding="utf-8")
    expected = {
        "FineTuneJobFailed": [{"name": "broken", "namespace": "ml"}],
        "FineTuneJobGateFailed": [{"name": "weak", "namespace": "ml"}],
        "FineTuneJobStuck": [
            {"name": "waiting", "namespace": "ml", "phase": "Pending"},
            {"name": "frozen", "namespace": "ml", "phase": "Running"},
        ],
        "ModelServeNotReady": [{"name": "down", "namespace": "ml"}],
        "ModelServeDegraded": [{"name": "down", "namespace": "ml"}],
        "OperatorDown": [],
        "OperatorNoActiveReplica": [],
        "OperatorReconcileErrors": [{"kind": "FineTuneJob"}],
    }
    severity = {r["alert"]: r["labels"]["severity"] for r in _rules(rules)}
    unit = {
        "rule_files": ["rules.yaml"],
        "evaluation_interval": "1m",
        "tests": [
            {
                "interval": "1m",
                "input_series": [{"series": k, "values": " ".join(v)} for k, v in series.items()],
                "alert_rule_test": [
                    {
                        "eval_time": f"{minutes - 5}m",
                        "alertname": alert,
                        "exp_alerts": [
                            {"exp_labels": {**labels, "severity": severity[alert]}} for labels in fired
                        ],
                    }
                    for alert, fired in expected.items()
                ],
            }
        ],
    }
    (tmp_path / "unit.yaml").write_text(yaml.safe_dump(unit), encoding="utf-8")
    assert any(k.startswith("tradetune_finetunejob_phase{") for k in series)
    proc = _promtool(promtool, "test", "rules", "unit.yaml", cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
