"""`tradetune run`'s live check: the served model must answer as the offline evaluation measured.

After vLLM starts, the job's own evaluation (same items, same options) runs against the server
through `tradetune.evaluation.evaluate_endpoint`, and `tradetune.api.verify_live` compares the
live metrics with the recorded ones — the rule the operator applies before a ModelServe
switches traffic. The verdicts land in status.yaml (`verification` and a `Verified`
condition); a failure stops the run before the sample is printed.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tradetune.api import (
    FineTuneJobSpec,
    FineTuneJobStatus,
    GateResult,
    rfc3339,
    set_condition,
    verified_condition,
    verify_live,
)
from tradetune.progress import ProgressSink
from tradetune.records import Record

if TYPE_CHECKING:
    from tradetune.evaluation.suite import EvalOptions


def verify_served(
    base_url: str,
    model: str,
    spec: FineTuneJobSpec,
    status: FineTuneJobStatus,
    output: Path,
    *,
    progress: ProgressSink | None = None,
) -> GateResult:
    """Evaluate the server on the job's test split as the job was evaluated; verdicts vs status.metrics."""
    from tradetune.evaluation import Endpoint, evaluate_endpoint
    from tradetune.records import read_jsonl
    from tradetune.training.plan import evaluation_options

    if status.metrics is None:
        return GateResult(passed=False, summary="Failed: the run recorded no metrics to compare with")
    options = evaluation_options(spec)
    live_options = dataclasses.replace(options, samples=0)  # metrics only: no rating samples
    endpoint = Endpoint(url=base_url, model=model, api_key=os.environ.get("VLLM_API_KEY"), concurrency=8)
    records = read_jsonl(output / "data" / "test.jsonl")
    report = evaluate_endpoint(records, endpoint, options=live_options, progress=progress)
    return verify_live(report.metrics, status.metrics, items=rate_items(records, options))


def rate_items(records: Sequence[Record], options: EvalOptions) -> dict[str, int]:
    """How many of the evaluated items each rate metric is counted over (PineScript, computed)."""
    from tradetune.evaluation.accuracy import is_computed
    from tradetune.evaluation.pine import PINE_TASKS
    from tradetune.evaluation.suite import select_items

    chosen = select_items(records, options.max_items, options.seed)
    pine = sum(1 for r in chosen if r.get("task") in PINE_TASKS)
    computed = sum(1 for r in chosen if is_computed(r))
    return {"pineSyntaxScore": pine, "pineParseRate": pine, "pineValidRate": pine, "taskAccuracy": computed}


def with_verification(
    status: FineTuneJobStatus, result: GateResult, generation: int | None
) -> FineTuneJobStatus:
    """The status with the live verdicts and the Verified condition."""
    ok, reason, message = verified_condition(result)
    stamp = rfc3339(datetime.now(UTC))
    conditions = set_condition(status.conditions, "Verified", ok, reason, message, generation, stamp)
    return status.model_copy(update={"verification": result, "conditions": conditions})


def verdict_table(result: GateResult) -> Any:
    """A rich table of the live verdicts (metric, live, recorded, ok)."""
    from rich.table import Table

    table = Table(title=f"live verification: {result.summary}")
    for column in ("metric", "live", "recorded", "check"):
        table.add_column(column, justify="left" if column in {"metric", "check"} else "right")
    for v in result.verdicts:
        live = "-" if v.value is None else f"{v.value:.4f}"
        recorded = "-" if v.base_value is None else f"{v.base_value:.4f}"
        table.add_row(v.metric, live, recorded, "ok" if v.passed else "FAILED")
    return table
