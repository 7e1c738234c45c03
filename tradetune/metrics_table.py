"""The one metrics table: each metric of the tuned (and base) model, and the gate's verdict on it.

`tradetune train`, `tradetune evaluate` and `tradetune run` print it; the rows come from the
metrics and the gate's structured verdicts (`MetricVerdict.checks`), never from its message text.
`metric_rows` is pure, so the table is tested without a terminal.
"""

from __future__ import annotations

from typing import Any

from tradetune.api import EvalMetrics, FineTuneJobStatus, GateCheck, GateResult, MetricVerdict

# Shown even when no threshold names them, so the user sees everything that was measured.
SHOWN = (
    "perplexity",
    "fullTextPerplexity",
    "evalLoss",
    "trainLoss",
    "taskAccuracy",
    "pineSyntaxScore",
    "pineParseRate",
    "pineValidRate",
)


def _fmt(value: float | None) -> str:
    return "-" if value is None else format(value, ".4g")


def threshold_text(verdict: MetricVerdict | None) -> str:
    """`<= 50`, `>= 0.1`, `0.1 .. 0.9`, plus `vs base` when the base comparison applied."""
    if verdict is None:
        return ""
    parts = []
    if verdict.min is not None and verdict.max is not None:
        parts.append(f"{_fmt(verdict.min)} .. {_fmt(verdict.max)}")
    elif verdict.min is not None:
        parts.append(f">= {_fmt(verdict.min)}")
    elif verdict.max is not None:
        parts.append(f"<= {_fmt(verdict.max)}")
    if any(check.kind == "base" for check in verdict.checks):
        parts.append("vs base")
    return ", ".join(parts)


def _why(value: float | None, check: GateCheck) -> str:
    """`80 > max 50`, `80 >= base 30 (not better than base)`, `not measured`: one failed check."""
    if value is None or check.limit is None:
        return check.outcome
    text = f"{_fmt(value)} {check.relation} {check.kind} {_fmt(check.limit)}"
    return text if check.outcome == "failed" else f"{text} ({check.outcome})"


def verdict_text(verdict: MetricVerdict | None, note: str | None = None) -> str:
    """`pass`, `FAIL: <each failed check>`, the note of a comparison left out, or `-`."""
    if verdict is None:
        return note or "-"
    if verdict.passed:
        return "pass"
    return "FAIL: " + "; ".join(_why(verdict.value, c) for c in verdict.checks if not c.passed)


def metric_rows(
    metrics: EvalMetrics, base: EvalMetrics | None = None, gate: GateResult | None = None
) -> list[tuple[str, str, str, str, str]]:
    """(metric, base, tuned, threshold, verdict) rows, then one row per task's accuracy."""
    verdicts = {v.metric: v for v in (gate.verdicts if gate else [])}
    notes = {n.split(" ", 1)[0]: n.split(" ", 1)[1] for n in (gate.notes if gate else [])}
    rows = []
    for metric in SHOWN:
        value = metrics.value(metric)
        base_value = base.value(metric) if base is not None else None
        verdict = verdicts.get(metric)
        if value is None and base_value is None and verdict is None:
            continue
        judged = verdict_text(verdict, notes.get(metric))
        rows.append((metric, _fmt(base_value), _fmt(value), threshold_text(verdict), judged))
    by_task = base.task_accuracy_by_task if base is not None else {}
    for task in sorted(set(metrics.task_accuracy_by_task) | set(by_task)):
        rows.append(
            (
                f"  accuracy {task}",
                _fmt(by_task.get(task)),
                _fmt(metrics.task_accuracy_by_task.get(task)),
                "",
                "-",
            )
        )
    return rows


def status_rows(status: FineTuneJobStatus) -> list[tuple[str, str, str, str, str]]:
    """`metric_rows` of a FineTuneJob status (tuned and base metrics, gate)."""
    return metric_rows(status.metrics or EvalMetrics(), status.base_metrics, status.gate)


def metrics_table(
    metrics: EvalMetrics, base: EvalMetrics | None = None, gate: GateResult | None = None, title: str = ""
) -> Any:
    """A rich Table of `metric_rows`; base/threshold/verdict columns only when there is something in them."""
    from rich.table import Table

    if gate is not None:
        title = f"{title}: gate {gate.summary}" if title else f"Gate: {gate.summary}"
    style = None if gate is None else "bold green" if gate.passed else "bold red"
    table = Table(title=title or None, title_style=style)
    columns = [(0, "metric", "left")]
    if base is not None:
        columns.append((1, "base", "right"))
    columns.append((2, "model" if base is None and gate is None else "tuned", "right"))
    if gate is not None:
        columns += [(3, "threshold", "left"), (4, "verdict", "left")]
    for index, name, justify in columns:
        table.add_column(name, justify=justify, overflow="fold" if index == 4 else "ellipsis")  # type: ignore[arg-type]
    for row in metric_rows(metrics, base, gate):
        verdict = row[4]
        row_style = "green" if verdict == "pass" else "red" if verdict.startswith("FAIL") else None
        table.add_row(*(row[i] for i, _, _ in columns), style=row_style if gate is not None else None)
    return table


def status_table(status: FineTuneJobStatus) -> Any:
    """The table `tradetune run` prints at the end of a run."""
    return metrics_table(
        status.metrics or EvalMetrics(),
        status.base_metrics,
        status.gate or GateResult(passed=False, summary="not evaluated"),
    )
