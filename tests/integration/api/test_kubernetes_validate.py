"""The generated CRDs pass kubernetes-validate --strict (the real tool, as a user would run it)."""

from __future__ import annotations

import copy
import subprocess
import sys
from pathlib import Path

import kubernetes_validate
import pytest
import yaml

from tradetune.api._crd import crd_documents

ROOT = Path(__file__).resolve().parents[3]
CLI = Path(sys.executable).with_name("kubernetes-validate")


def test_committed_crds_pass_strict_validation_cli() -> None:
    files = sorted(str(p) for p in (ROOT / "crds").glob("*.yaml"))
    assert len(files) == 3
    out = subprocess.run([str(CLI), "--strict", *files], capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stdout + out.stderr
    assert out.stdout.count("passed") == 4  # finetunejobs, modelserves, two peering CRDs


@pytest.mark.parametrize("name", ["finetunejobs.yaml", "modelserves.yaml", "peering.yaml"])
def test_generated_crds_pass_strict_validation(name: str) -> None:
    for doc in crd_documents()[name]:
        kubernetes_validate.validate(doc, kubernetes_validate.latest_version(), strict=True)


def test_strict_validation_would_catch_a_misspelt_crd_field() -> None:
    """The check has teeth: an unknown field in a CRD is rejected."""
    doc = copy.deepcopy(yaml.safe_load((ROOT / "crds/modelserves.yaml").read_text().split("---\n", 1)[1]))
    doc["spec"]["versions"][0]["additionalPrinterColumn"] = doc["spec"]["versions"][0].pop(
        "additionalPrinterColumns"
    )
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(doc, kubernetes_validate.latest_version(), strict=True)
