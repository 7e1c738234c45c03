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


# Pure decision modules (observations in, decisions out) and the I/O modules they must not import.
PURE = [
    "reconcile_modelserve",
    "rollout",
    "rollout_observe",
    "rollout_status",
    "rollout_serve",
    "rollout_types",
    "server_pods",
]
IO = {"kube", "runtime", "serve_runtime", "posting", "handlers", "progress_loop", "kopf", "aiohttp"}


def _imported(path: Path) -> set[str]:
    import ast

    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def test_pure_decision_modules_do_not_import_io() -> None:
    for module in PURE:
        imported = _imported(ROOT / "tradetune" / "operator" / f"{module}.py")
        parts = {part for name in imported for part in name.split(".")}
        assert parts & IO == set(), f"tradetune/operator/{module}.py imports {sorted(parts & IO)}"
