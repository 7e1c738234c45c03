"""Prometheus metrics of the operator, on their own port (`TRADETUNE_METRICS_PORT`, `/metrics`).

The series names and labels are a contract (docs/contracts.md): the Helm chart's alert rules
and dashboards are written against them. Each operator run gets its own registry, so several
runs in one process (tests) never share counters.
"""

from __future__ import annotations

import contextlib
import threading
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

from tradetune.api import PHASES, EvalMetrics

# Seconds: 1 min .. 1 day; training runs span that range.
TRAINING_BUCKETS = (60.0, 300.0, 600.0, 1800.0, 3600.0, 7200.0, 14400.0, 28800.0, 86400.0)
EVAL_METRICS = (
    "perplexity",
    "fullTextPerplexity",
    "evalLoss",
    "trainLoss",
    "pineSyntaxScore",
    "pineParseRate",
    "pineValidRate",
    "taskAccuracy",
)

# status.progress → gauges `tradetune_finetunejob_progress_<suffix>{namespace, name}`.
PROGRESS_GAUGES = {
    "progressPercentage": ("percent", "Training steps done, percent (status.progress.progressPercentage)."),
    "trainLoss": ("train_loss", "Training loss of the latest logging step."),
    "evalLoss": ("eval_loss", "Validation loss of the latest evaluation during training."),
    "tokensPerSecond": ("tokens_per_second", "Training throughput in tokens per second."),
    "estimatedRemainingSeconds": ("eta_seconds", "Estimated seconds until training ends."),
    "step": ("step", "Optimizer steps done."),
}


class OperatorMetrics:
    """The operator's series, fed by the handlers after each successful reconcile."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.finetunejobs = Gauge(
            "tradetune_finetunejobs", "FineTuneJobs by phase.", ["namespace", "phase"], registry=r
        )
        self.phase = Gauge(
            "tradetune_finetunejob_phase",
            "1 for the current phase of a FineTuneJob, 0 for the others.",
            ["namespace", "name", "phase"],
            registry=r,
        )
        self.phase_since = Gauge(
            "tradetune_finetunejob_phase_since_timestamp_seconds",
            "Unix time the FineTuneJob entered its current phase.",
            ["namespace", "name"],
            registry=r,
        )
        self.training_duration = Histogram(
            "tradetune_training_duration_seconds",
            "Wall-clock time from the trainer pod's start to the end of training.",
            ["namespace"],
            buckets=TRAINING_BUCKETS,
            registry=r,
        )
        self.eval_metric = Gauge(
            "tradetune_finetunejob_eval_metric",
            "Evaluation metrics of the tuned model (camelCase metric names as in status.metrics).",
            ["namespace", "name", "metric"],
            registry=r,
        )
        self.gate_passed = Gauge(
            "tradetune_finetunejob_gate_passed",
            "1 when the FineTuneJob passed its promotion gate, 0 when it failed it.",
            ["namespace", "name"],
            registry=r,
        )
        self.gate_evaluations = Counter(
            "tradetune_gate_evaluations", "Gate evaluations by result.", ["namespace", "result"], registry=r
        )
        self.promotions = Counter(
            "tradetune_promotions", "Models promoted to a ModelServe.", ["namespace"], registry=r
        )
        self.reconcile_errors = Counter(
            "tradetune_reconcile_errors",
            "Reconciliations that failed and will be retried.",
            ["kind"],
            registry=r,
        )
        self.ms_ready = Gauge(
            "tradetune_modelserve_ready_replicas",
            "Ready vLLM server pods.",
            ["namespace", "name"],
            registry=r,
        )
        self.ms_desired = Gauge(
            "tradetune_modelserve_desired_replicas",
            "Desired vLLM server pods.",
            ["namespace", "name"],
            registry=r,
        )
        self.ms_degraded = Gauge(
            "tradetune_modelserve_degraded",
            "1 when the ModelServe is Degraded.",
            ["namespace", "name"],
            registry=r,
        )
        self.progress = {
            key: Gauge(f"tradetune_finetunejob_progress_{suffix}", text, ["namespace", "name"], registry=r)
            for key, (suffix, text) in PROGRESS_GAUGES.items()
        }
        self.progress_advanced = Gauge(
            "tradetune_finetunejob_progress_advanced_timestamp_seconds",
            "Unix time the trainer's stage or step last moved (as the operator saw it).",
            ["namespace", "name"],
            registry=r,
        )
        self.ms_rollbacks = Counter(
            "tradetune_modelserve_rollbacks",
            "Rollouts that moved traffic back to the last good model (crash loop or failed re-verification).",
            ["namespace", "name"],
            registry=r,
        )
        self.active = Gauge(
            "tradetune_operator_active",
            "1 when this replica is the active one (kopf peering); 0 on a standby.",
            registry=r,
        )
        self.active.set(1.0)
        self._phases: dict[tuple[str, str], str] = {}
        self._lock = threading.Lock()
        self._server: Any = None
        for kind in ("FineTuneJob", "ModelServe"):
            self.reconcile_errors.labels(kind=kind)

    # -- FineTuneJob ----------------------------------------------------------------------

    def observe_finetunejob(
        self,
        namespace: str,
        name: str,
        *,
        phase: str,
        phase_since: float | None,
        metrics: EvalMetrics | None,
        gate_passed: bool | None,
    ) -> None:
        with self._lock:
            self._phases[(namespace, name)] = phase
            self._recount(namespace)
        for candidate in PHASES:
            self.phase.labels(namespace, name, candidate).set(1.0 if candidate == phase else 0.0)
        if phase_since is not None:
            self.phase_since.labels(namespace, name).set(phase_since)
        if metrics is not None:
            for metric in EVAL_METRICS:
                value = metrics.value(metric)
                if value is not None:
                    self.eval_metric.labels(namespace, name, metric).set(value)
        if gate_passed is not None:
            self.gate_passed.labels(namespace, name).set(1.0 if gate_passed else 0.0)

    def forget_finetunejob(self, namespace: str, name: str) -> None:
        """Drop a deleted job's series, so dashboards do not show ghosts."""
        with self._lock:
            self._phases.pop((namespace, name), None)
            self._recount(namespace)
        for candidate in PHASES:
            _remove(self.phase, namespace, name, candidate)
        _remove(self.phase_since, namespace, name)
        for metric in EVAL_METRICS:
            _remove(self.eval_metric, namespace, name, metric)
        _remove(self.gate_passed, namespace, name)
        for gauge in self.progress.values():
            _remove(gauge, namespace, name)
        _remove(self.progress_advanced, namespace, name)

    def observe_progress(
        self, namespace: str, name: str, values: dict[str, float | None], advanced_at: float | None
    ) -> None:
        """Set the progress gauges (`values` keyed as PROGRESS_GAUGES; None drops that series)."""
        for key, gauge in self.progress.items():
            value = values.get(key)
            if value is None:
                _remove(gauge, namespace, name)
            else:
                gauge.labels(namespace, name).set(value)
        if advanced_at is not None:
            self.progress_advanced.labels(namespace, name).set(advanced_at)

    def _recount(self, namespace: str) -> None:
        counts = dict.fromkeys(PHASES, 0)
        for (ns, _), phase in self._phases.items():
            if ns == namespace and phase in counts:
                counts[phase] += 1
        for phase, count in counts.items():
            self.finetunejobs.labels(namespace, phase).set(count)

    def training_finished(self, namespace: str, seconds: float) -> None:
        self.training_duration.labels(namespace).observe(max(seconds, 0.0))

    def gate_evaluated(self, namespace: str, passed: bool) -> None:
        self.gate_evaluations.labels(namespace, "passed" if passed else "failed").inc()

    def promoted(self, namespace: str) -> None:
        self.promotions.labels(namespace).inc()

    def rolled_back(self, namespace: str, name: str) -> None:
        self.ms_rollbacks.labels(namespace, name).inc()

    def reconcile_error(self, kind: str) -> None:
        self.reconcile_errors.labels(kind).inc()

    # -- ModelServe -----------------------------------------------------------------------

    def observe_modelserve(
        self, namespace: str, name: str, *, ready: int, desired: int, degraded: bool
    ) -> None:
        self.ms_ready.labels(namespace, name).set(ready)
        self.ms_desired.labels(namespace, name).set(desired)
        self.ms_degraded.labels(namespace, name).set(1.0 if degraded else 0.0)

    def forget_modelserve(self, namespace: str, name: str) -> None:
        for gauge in (self.ms_ready, self.ms_desired, self.ms_degraded):
            _remove(gauge, namespace, name)

    # -- HTTP -----------------------------------------------------------------------------

    def serve(self, port: int, addr: str = "0.0.0.0") -> None:
        """Expose /metrics on `port` in a background thread (0: not exposed)."""
        if port > 0 and self._server is None:
            self._server, _ = start_http_server(port, addr=addr, registry=self.registry)

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


def _remove(metric: Any, *labels: str) -> None:
    with contextlib.suppress(KeyError):
        metric.remove(*labels)
