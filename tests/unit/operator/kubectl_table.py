"""`kubectl get` as the API server prints a custom resource: additionalPrinterColumns + JSONPath.

The emulated API server has no server-side printing, so this renders the Table the way the
apiextensions-apiserver does (k8s.io/apiextensions-apiserver/pkg/registry/customresource/
tableconvertor): NAME first, then each column whose priority is 0 (all of them with `-o wide`),
the JSONPath evaluated on the object (client-go's jsonpath; several matches are joined with ","),
an absent value printed as `<none>`, dates as an age; kubectl pads columns with 3 spaces.
Only the JSONPath shapes our CRDs use are supported, and an unknown one fails loudly.
"""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[3]
_FIELD = re.compile(r"^(\.[A-Za-z0-9_-]+)+$")
_FILTER = re.compile(
    r'^(?P<list>(\.[A-Za-z0-9_-]+)+)\[\?\(@\.(?P<key>\w+)=="(?P<value>[^"]*)"\)\](?P<rest>(\.[A-Za-z0-9_-]+)*)$'
)


def printer_columns(plural: str) -> list[dict[str, Any]]:
    """The columns of the generated CRD file (crds/<plural>.yaml), as the API server reads them."""
    crd = yaml.safe_load((ROOT / "crds" / f"{plural}.yaml").read_text(encoding="utf-8"))
    columns: list[dict[str, Any]] = crd["spec"]["versions"][0]["additionalPrinterColumns"]
    return columns


def _walk(obj: Any, dotted: str) -> list[Any]:
    values = [obj]
    for part in [p for p in dotted.split(".") if p]:
        values = [v.get(part) for v in values if isinstance(v, dict) and v.get(part) is not None]
    return values


def jsonpath(obj: dict[str, Any], path: str) -> list[Any]:
    """Every value `path` selects (empty: absent)."""
    if _FIELD.match(path):
        return _walk(obj, path)
    match = _FILTER.match(path)
    if match is None:
        raise ValueError(f"JSONPath shape not supported by this renderer: {path}")
    found = []
    for items in _walk(obj, match["list"]):
        for item in items if isinstance(items, list) else []:
            if isinstance(item, dict) and str(item.get(match["key"])) == match["value"]:
                found += _walk(item, match["rest"]) if match["rest"] else [item]
    return found


def _age(stamp: str, now: datetime) -> str:
    seconds = int((now - datetime.fromisoformat(stamp.replace("Z", "+00:00"))).total_seconds())
    if seconds < 120:
        return f"{seconds}s"
    if seconds < 3 * 3600:
        return f"{seconds // 60}m"
    return f"{seconds // 3600}h"


def _cell(values: list[Any], kind: str, now: datetime) -> str:
    if not values:
        return "<none>"
    if kind == "date":
        return _age(str(values[0]), now)
    return ",".join(format(v, "g") if isinstance(v, float) else str(v) for v in values)


def rows(
    objects: list[dict[str, Any]], plural: str, now: datetime, *, wide: bool = False, prefix: str = ""
) -> list[list[str]]:
    """Header and one row per object, as strings (`prefix`: kubectl's `kind.group/` when several types)."""
    columns = [c for c in printer_columns(plural) if wide or not c.get("priority")]
    out = [["NAME", *(c["name"].upper() for c in columns)]]
    for obj in objects:
        cells = [_cell(jsonpath(obj, c["jsonPath"]), c["type"], now) for c in columns]
        out.append([prefix + obj["metadata"]["name"], *cells])
    return out


def table(
    objects: list[dict[str, Any]], plural: str, now: datetime, *, wide: bool = False, prefix: str = ""
) -> str:
    """The text `kubectl get <plural>` prints."""
    grid = rows(objects, plural, now, wide=wide, prefix=prefix)
    widths = [max(len(row[i]) for row in grid) for i in range(len(grid[0]))]
    return "\n".join(
        "   ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in grid
    )


def get_ftj_mserve(ftjs: list[dict[str, Any]], mserves: list[dict[str, Any]], now: datetime) -> str:
    """`kubectl get ftj,mserve`: one table per type, names prefixed with kind.group, a blank line between."""
    parts = []
    if ftjs:
        parts.append(table(ftjs, "finetunejobs", now, prefix="finetunejob.tradetune.dev/"))
    if mserves:
        parts.append(table(mserves, "modelserves", now, prefix="modelserve.tradetune.dev/"))
    return "\n\n".join(parts)
