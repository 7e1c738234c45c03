"""Evaluation suite: perplexity, PineScript checks, task accuracy, samples for human review.

The public face of the evaluation; the modules behind it are private to the package.
Heavy libraries (torch, transformers, pynescript) are imported inside the functions that use them.
"""

from tradetune.evaluation.accuracy import COMPUTED_TASKS, Accuracy, is_computed, task_accuracy
from tradetune.evaluation.endpoint import Endpoint, evaluate_endpoint
from tradetune.evaluation.generate import generate
from tradetune.evaluation.perplexity import NllSums, Scored, encode_records, score
from tradetune.evaluation.pine import (
    PINE_TASKS,
    CheckResult,
    Finding,
    PineMetrics,
    check_code,
    check_programs,
    extract_code,
    parses,
    pine_metrics,
    pine_report,
    syntax_checks,
    syntax_score,
)
from tradetune.evaluation.samples import RATING_GUIDE, pick_samples, sample_rows, write_samples
from tradetune.evaluation.suite import (
    EvalOptions,
    EvaluationReport,
    ModelEvaluation,
    evaluate,
    evaluate_loaded,
    evaluate_records,
    generation_indices,
    load_model,
    select_items,
)

__all__ = [
    "COMPUTED_TASKS",
    "PINE_TASKS",
    "RATING_GUIDE",
    "Accuracy",
    "CheckResult",
    "Endpoint",
    "EvalOptions",
    "EvaluationReport",
    "Finding",
    "ModelEvaluation",
    "NllSums",
    "PineMetrics",
    "Scored",
    "check_code",
    "check_programs",
    "encode_records",
    "evaluate",
    "evaluate_endpoint",
    "evaluate_loaded",
    "evaluate_records",
    "extract_code",
    "generate",
    "generation_indices",
    "is_computed",
    "load_model",
    "parses",
    "pick_samples",
    "pine_metrics",
    "pine_report",
    "sample_rows",
    "score",
    "select_items",
    "syntax_checks",
    "syntax_score",
    "task_accuracy",
    "write_samples",
]
