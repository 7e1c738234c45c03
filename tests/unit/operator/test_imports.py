"""The operator image installs only `tradetune[operator]`: importing the operator must not pull
in the training or serving stack (it would fail there, or bloat the image)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def test_operator_imports_no_training_or_serving_library() -> None:
    code = (
        "import sys, tradetune.operator.builders, tradetune.operator.handlers\n"
        "heavy = {'torch', 'transformers', 'vllm', 'trl', 'peft', 'datasets', 'fastapi', 'openai'}\n"
        "print(sorted(heavy & {m.split('.')[0] for m in sys.modules}))"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
