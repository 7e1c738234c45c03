"""Parse and compare the `Answer: <value>` line that computed tasks end with.

The generator writes the line and the evaluation suite reads it back from model output, so
both sides use these two functions: a change in how answers are written or compared happens
in one place. Pure functions, no I/O.

An expected answer is a number, a label, or a list of labels when several are right (a
candle sequence that meets two pattern rules): the line then reads `Answer: a, b`, and a
prediction matches when it names one or more of them and nothing else.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

__all__ = [
    "ABS_TOLERANCE",
    "REL_TOLERANCE",
    "Expected",
    "answers_match",
    "extract_answer",
    "format_answer",
    "parse_number",
    "valid_answer_count",
]

REL_TOLERANCE = 1e-2
ABS_TOLERANCE = 0.01

# The last `Answer:` line wins: a model may restate its working before the final line.
_ANSWER_RE = re.compile(r"^[ \t>*_#-]*answer\s*[:=]\s*(.+?)\s*$", re.IGNORECASE | re.MULTILINE)
# A number as people write it: sign, thousands separators, decimals, exponent.
# Where a prediction that names several labels splits them ("a, b", "a and b", "a / b").
_LABEL_SPLIT_RE = re.compile(r"\s*(?:,|;|/|\band\b|\bor\b)\s*", re.IGNORECASE)

Expected = float | int | str | Sequence[str]
_NUMBER_RE = re.compile(r"[-+−]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?:[eE][-+]?\d+)?|[-+−]?\.\d+")


def extract_answer(text: str) -> str | None:
    """The value of the last `Answer: <value>` line in `text`, or None when there is none.

    Markdown decorations that models like to add (`**Answer:** 42`) are tolerated.
    """
    matches = _ANSWER_RE.findall(text)
    if not matches:
        return None
    value = matches[-1].strip().strip("*_`").strip()
    return value or None


def parse_number(text: str) -> float | None:
    """The first number in `text` (`$1,234.50`, `-3.2%`, `1.5R` all work), or None."""
    match = _NUMBER_RE.search(text)
    if match is None:
        return None
    raw = match.group(0).replace(",", "").replace("−", "-")
    try:
        value = float(raw)
    except ValueError:  # pragma: no cover - the regex only admits float syntax
        return None
    return value if math.isfinite(value) else None


def _norm_label(text: str) -> str:
    return " ".join(text.split()).lower().strip(" .")


def answers_match(predicted: str | None, expected: Expected) -> bool:
    """Whether a predicted answer equals the ground truth.

    Numbers match within a relative 1e-2 or an absolute 0.01, whichever is looser, so a
    model that rounds differently is not punished; labels match exactly, ignoring case and
    whitespace (a trailing full stop too). A list of labels means each of them is right: the
    prediction matches when every label it names is in the list (at least one, none other).
    """
    if predicted is None:
        return False
    if isinstance(expected, bool):
        return _norm_label(predicted) == str(expected).lower()
    if isinstance(expected, int | float):
        value = parse_number(predicted)
        if value is None:
            return False
        tolerance = max(REL_TOLERANCE * abs(float(expected)), ABS_TOLERANCE)
        return abs(value - float(expected)) <= tolerance + 1e-12
    if isinstance(expected, str):
        return _norm_label(predicted) == _norm_label(expected)
    valid = {_norm_label(label) for label in expected}
    if _norm_label(predicted) in valid:
        return True
    named = [part for part in (_norm_label(p) for p in _LABEL_SPLIT_RE.split(predicted)) if part]
    return bool(named) and all(part in valid for part in named)


def valid_answer_count(expected: object) -> int:
    """How many distinct answers a stored meta.answer accepts (a list of labels: its length)."""
    if isinstance(expected, list | tuple):
        return len({_norm_label(str(label)) for label in expected})
    return 0 if expected is None else 1


def format_answer(value: Expected, decimals: int = 2) -> str:
    """How the generator writes a value on the `Answer:` line (and keeps it in meta.answer)."""
    if isinstance(value, str):
        return value
    if not isinstance(value, int | float):
        return ", ".join(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return f"{value:.{decimals}f}"
