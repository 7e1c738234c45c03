"""The closing table of a local run: each metric of base and tuned model, the threshold, the verdict."""

from __future__ import annotations

from typing import Any

from tradetune.api import EvalMetrics, FineTuneJobStatus, MetricVerdict

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
    """`<= 50`, `>= 0.1`, `0.1 .. 0.9`, plus `beats base` when the base comparison applied."""
    if verdict is None:
        return ""
    parts = []
    if verdict.min is not None and verdict.max is not None:
        parts.append(f"{_fmt(verdict.min)} .. {_fmt(verdict.max)}")
    elif verdict.min is not None:
        parts.append(f">= {_fmt(verdict.min)}")
    elif verdict.max is not None:
        parts.append(f"<= {_fmt(verdict.max)}")
    if verdict.base_value is not None or "base" in verdict.message:
        parts.append("vs base")
    return ", ".join(parts)


def _why(check: str) -> str:
    """`perplexity 399.5 > max 50: failed` -> `399.5 > max 50`; keeps the gate's own explanation."""
    text, _, outcome = check.rpartition(": ")
    text = text or check
    _, _, rest = text.partition(" ")
    try:
        float(rest.split(" ", 1)[0])
        body = rest  # drop the metric's name, the column already says it
    except ValueError:
        body = text
    return body if outcome in {"failed", ""} else f"{body} ({outcome})"


def metric_rows(status: FineTuneJobStatus) -> list[tuple[str, str, str, str, str]]:
    """(metric, base, tuned, threshold, verdict) rows; pure, so the table is tested without a terminal."""
    tuned = status.metrics or EvalMetrics()
    base = status.base_metrics
    verdicts = {v.metric: v for v in (status.gate.verdicts if status.gate else [])}
    rows = []
    for metric in SHOWN:
        value = tuned.value(metric)
        base_value = base.value(metric) if base is not None else None
        verdict = verdicts.get(metric)
        if value is None and base_value is None and verdict is None:
            continue
        if verdict is None:
            judged = "-"
        elif verdict.passed:
            judged = "pass"
        else:
            judged = "FAIL: " + "; ".join(
                _why(part) for part in verdict.message.split("; ") if not part.endswith(": ok")
            )
        rows.append((metric, _fmt(base_value), _fmt(value), threshold_text(verdict), judged))
    return rows


def metrics_table(status: FineTuneJobStatus) -> Any:
    """A rich Table of `metric_rows`, titled with the gate's summary."""
    from rich.table import Table

    summary = status.gate.summary if status.gate else "no gate"
    passed = bool(status.gate and status.gate.passed)
    table = Table(title=f"Gate: {summary}", title_style="bold green" if passed else "bold red")
    for column, justify in (("metric", "left"), ("base", "right"), ("tuned", "right"), ("threshold", "left")):
        table.add_column(column, justify=justify)  # type: ignore[arg-type]
    table.add_column("verdict", overflow="fold")
    for metric, base, tuned, threshold, verdict in metric_rows(status):
        style = "green" if verdict == "pass" else "red" if verdict.startswith("FAIL") else None
        table.add_row(metric, base, tuned, threshold, verdict, style=style)
    return table
