"""The chart's crds/ is a byte-for-byte copy of the generated top-level crds/ (one source)."""

from __future__ import annotations

import yaml

from tests.integration.chart._support import CHART, ROOT, Helm

SYNC = "run `python scripts/sync_chart_assets.py` to copy crds/ into charts/tradetune/crds/"
EXPECTED = {"finetunejobs.yaml", "modelserves.yaml", "peering.yaml"}


def test_chart_crds_are_identical_to_crds() -> None:
    top = {p.name: p.read_bytes() for p in (ROOT / "crds").glob("*.yaml")}
    chart = {p.name: p.read_bytes() for p in (CHART / "crds").glob("*.yaml")}
    assert set(top) >= EXPECTED, f"crds/ lacks {sorted(EXPECTED - set(top))}: run `tradetune crds`"
    assert set(chart) == set(top), (
        f"charts/tradetune/crds/ holds {sorted(chart)}, crds/ {sorted(top)}: {SYNC}"
    )
    for name, data in top.items():
        assert chart[name] == data, f"charts/tradetune/crds/{name} differs from crds/{name}: {SYNC}"


def test_helm_ships_every_crd(helm: Helm) -> None:
    names = {
        doc["metadata"]["name"]
        for doc in yaml.safe_load_all(helm.run("show", "crds", str(CHART)).stdout)
        if doc and doc.get("kind") == "CustomResourceDefinition"
    }
    assert names == {
        "finetunejobs.tradetune.dev",
        "modelserves.tradetune.dev",
        "kopfpeerings.kopf.dev",
        "clusterkopfpeerings.kopf.dev",
    }
