"""Reading FineTuneJob/ModelServe YAML into models, with every problem named by its field path.

Users see `spec.training.learningRate: must be > 0 (line 23)`, never a pydantic dump or a
traceback. Validation is strict (a string is not an integer), as the API server is, so a
file that passes `tradetune validate` is accepted by `kubectl apply` and the other way round.
"""

from __future__ import annotations

import difflib
import json
import re
import types
import typing
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from tradetune.api._common import (
    API_VERSION,
    DNS_LABEL,
    DNS_SUBDOMAIN,
    MAX_NAME_LENGTH,
    QUANTITY,
    is_dns_label,
)
from tradetune.api._finetunejob import FineTuneJob
from tradetune.api._kubeyaml import KubeDumper, KubeLoader
from tradetune.api._modelserve import ModelServe
from tradetune.errors import InvalidInput, SpecError

KINDS: dict[str, type[FineTuneJob] | type[ModelServe]] = {
    "FineTuneJob": FineTuneJob,
    "ModelServe": ModelServe,
}
Document = FineTuneJob | ModelServe
Loc = tuple[str | int, ...]
_PLAIN_KEY = re.compile(r"[A-Za-z0-9_]+([./-][A-Za-z0-9_]+)*")

_PATTERN_WORDS = {
    DNS_LABEL: "must be a lowercase DNS label (a-z, 0-9 and '-', starting with a letter)",
    DNS_SUBDOMAIN: "must be a lowercase DNS name (a-z, 0-9, '-' and '.')",
    QUANTITY: "must be a Kubernetes quantity such as 4, 500m or 16Gi",
}


class _StrictLoader(KubeLoader):
    """Scalars as kubectl reads them; duplicate keys rejected (PyYAML keeps the last one silently)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if not isinstance(key, typing.Hashable):
                raise yaml.constructor.ConstructorError(
                    None,
                    None,
                    "a mapping key must be a plain value, not a list or mapping",
                    key_node.start_mark,
                )
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r}", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def _yaml_error(exc: yaml.YAMLError, text: str) -> tuple[str, str]:
    """(where, what) of a YAML error, on one line."""
    if isinstance(exc, yaml.reader.ReaderError):
        line = text[: exc.position].count("\n") + 1
        return f"line {line}", f"invalid YAML: unacceptable character #x{exc.character:04x} ({exc.reason})"
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc)
    context = getattr(exc, "context", None)
    what = f"{problem} ({context})" if context and context not in problem else str(problem)
    where = f"line {mark.line + 1}, column {mark.column + 1}" if mark is not None else "(file)"
    return where, "invalid YAML: " + " ".join(what.split())


def read_yaml_documents(text: str, source: str | None = None) -> list[tuple[Any, yaml.Node | None]]:
    """Every non-empty document of a YAML stream with its node tree (for line numbers).

    Raises SpecError naming the line of a syntax error or a duplicate key.
    """
    docs: list[tuple[Any, yaml.Node | None]] = []
    loader: _StrictLoader | None = None
    try:
        loader = _StrictLoader(text)
        while loader.check_node():
            node = loader.get_node()
            data = loader.construct_document(node)
            if data is not None:
                docs.append((data, node))
    except yaml.YAMLError as exc:
        raise SpecError([_yaml_error(exc, text)], source=source) from None
    except RecursionError:
        raise SpecError([("(file)", "invalid YAML: nested too deeply")], source=source) from None
    finally:
        if loader is not None:
            loader.dispose()
    return docs


def _line_of(node: yaml.Node | None, loc: Loc) -> int | None:
    """1-based line of the deepest node on `loc` that exists in the YAML tree."""
    if node is None:
        return None
    line = node.start_mark.line + 1
    for part in loc:
        if isinstance(node, yaml.MappingNode) and isinstance(part, str):
            match = next(((k, v) for k, v in node.value if getattr(k, "value", None) == part), None)
            if match is None:
                return line
            line = match[0].start_mark.line + 1
            node = match[1]
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and 0 <= part < len(node.value):
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            return line
    return line


def format_loc(loc: Loc) -> str:
    """('spec', 'resources', 'tolerations', 0, 'key') -> 'spec.resources.tolerations[0].key'."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif not _PLAIN_KEY.fullmatch(str(part)):
            out += f"[{json.dumps(str(part))}]"  # a key with spaces or odd characters, quoted
        else:
            out += f".{part}" if out else str(part)
    return out or "(document)"


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _model_of(annotation: Any) -> type[BaseModel] | None:
    """The pydantic model inside Optional[...] / list[...] / dict[..., ...], if any."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if typing.get_origin(annotation) in (typing.Union, types.UnionType, list, dict):
        for arg in typing.get_args(annotation):
            found = _model_of(arg)
            if found is not None:
                return found
    return None


def _known_fields(root: type[BaseModel], loc: Loc) -> list[str]:
    """The camelCase field names allowed at the mapping `loc` points into."""
    model: type[BaseModel] | None = root
    for part in loc:
        if model is None:
            return []
        if isinstance(part, int):
            continue
        field = next((f for n, f in model.model_fields.items() if part in (f.alias, n)), None)
        if field is None:
            return []
        model = _model_of(field.annotation)
    if model is None:
        return []
    return [f.alias or n for n, f in model.model_fields.items()]


def describe_error(error: ErrorDetails, root: type[BaseModel] | None = None) -> str:
    """One short sentence for a pydantic error, in the words the API server would use."""
    kind = error["type"]
    ctx = error.get("ctx", {})
    value = error.get("input")
    if kind == "missing":
        return "required"
    if kind == "extra_forbidden":
        known = _known_fields(root, error["loc"][:-1]) if root is not None else []
        close = difflib.get_close_matches(str(error["loc"][-1]), known, n=1)
        return "unknown field" + (f" (did you mean {close[0]}?)" if close else "")
    bounds = {
        "greater_than": ("gt", ">"),
        "greater_than_equal": ("ge", ">="),
        "less_than": ("lt", "<"),
        "less_than_equal": ("le", "<="),
    }
    if kind in bounds:
        key, sign = bounds[kind]
        limit = ctx.get(key)
        if isinstance(limit, float) and limit.is_integer():
            limit = int(limit)
        return f"must be {sign} {limit} (got {_show(value)})"
    if kind == "literal_error":
        expected = str(ctx.get("expected", ""))
        choices = re.findall(r"'([^']*)'", expected)
        if len(choices) == 1:
            return f"must be {choices[0]} (got {_show(value)})"
        return f"must be one of {', '.join(choices)} (got {_show(value)})"
    if kind in ("int_type", "int_parsing", "int_from_float"):
        return f"must be an integer (got {_show(value)})"
    if kind == "finite_number":
        return f"must be a finite number (got {_show(value)})"
    if kind in ("float_type", "float_parsing"):
        return f"must be a number (got {_show(value)})"
    if kind in ("bool_type", "bool_parsing"):
        return f"must be true or false (got {_show(value)})"
    if kind in ("string_type", "string_sub_type"):
        return f"must be a string (got {_show(value)})"
    if kind == "string_too_short":
        n = ctx.get("min_length", 1)
        return "must not be empty" if n == 1 else f"must be at least {n} characters"
    if kind == "string_too_long":
        return f"must be at most {ctx.get('max_length')} characters"
    if kind == "string_pattern_mismatch":
        pattern = str(ctx.get("pattern", ""))
        return f"{_PATTERN_WORDS.get(pattern, f'must match {pattern}')} (got {_show(value)})"
    if kind == "too_short":
        return f"must have at least {ctx.get('min_length')} item(s)"
    if kind == "too_long":
        return f"must have at most {ctx.get('max_length')} items"
    if kind in ("list_type", "tuple_type", "set_type"):
        return f"must be a list (got {_show(value)})"
    if kind in ("dict_type", "model_type", "model_attributes_type", "mapping_type"):
        return f"must be a mapping (got {_show(value)})"
    if kind == "value_error":
        return str(error["msg"]).removeprefix("Value error, ")
    return str(error["msg"])


Problem = tuple[Loc, str]


def _validate(cls: type[Document], obj: dict[str, Any]) -> tuple[Document | None, list[Problem]]:
    try:
        return cls.model_validate(obj, strict=True), []
    except ValidationError as exc:
        return None, [(tuple(e["loc"]), describe_error(e, cls)) for e in exc.errors()]


def _check_document(obj: Any) -> tuple[Document | None, list[Problem]]:
    """Validate one parsed YAML document as a TradeTune object; never raises."""
    if not isinstance(obj, dict):
        return None, [
            ((), f"must be a mapping with apiVersion, kind, metadata and spec (got {type(obj).__name__})")
        ]
    kind = obj.get("kind")
    if kind is None:
        return None, [(("kind",), "required (FineTuneJob or ModelServe)")]
    if not isinstance(kind, str) or kind not in KINDS:
        problems: list[Problem] = [(("kind",), f"must be FineTuneJob or ModelServe (got {_show(kind)})")]
        version = obj.get("apiVersion")
        if version is None:
            problems.insert(0, (("apiVersion",), f"required ({API_VERSION})"))
        elif version != API_VERSION:
            problems.insert(0, (("apiVersion",), f"must be {API_VERSION} (got {_show(version)})"))
        return None, problems
    found, problems = _validate(KINDS[kind], obj)
    problems.extend(_check_name(obj))
    return (found if not problems else None), problems


def _check_name(obj: dict[str, Any]) -> list[Problem]:
    meta = obj.get("metadata")
    if not isinstance(meta, dict):
        return [] if meta is not None else [(("metadata", "name"), "required")]
    name = meta.get("name")
    if name is None:
        return [] if meta.get("generateName") else [(("metadata", "name"), "required")]
    if not isinstance(name, str) or not is_dns_label(name):
        return [
            (
                ("metadata", "name"),
                f"must be a lowercase DNS label of at most {MAX_NAME_LENGTH} characters (got {_show(name)})",
            )
        ]
    return []


def _render(problems: list[Problem], node: yaml.Node | None, prefix: str = "") -> list[tuple[str, str]]:
    out = []
    for loc, message in problems:
        line = _line_of(node, loc)
        suffix = f" (line {line})" if line is not None else ""
        out.append((f"{prefix}{format_loc(loc)}", f"{message}{suffix}"))
    return out


def parse_documents(text: str, source: str | None = None) -> list[Document]:
    """Every FineTuneJob/ModelServe in a YAML stream; SpecError lists all problems of all documents."""
    docs = read_yaml_documents(text, source)
    if not docs:
        raise SpecError([("(file)", "no FineTuneJob or ModelServe documents")], source=source)
    found: list[Document] = []
    rendered: list[tuple[str, str]] = []
    for index, (obj, node) in enumerate(docs, start=1):
        item, problems = _check_document(obj)
        prefix = f"document {index}: " if len(docs) > 1 else ""
        rendered.extend(_render(problems, node, prefix))
        if item is not None:
            found.append(item)
    if rendered:
        raise SpecError(rendered, source=source)
    return found


def load_documents(path: str | Path) -> list[Document]:
    """Read a (multi-document) YAML file of FineTuneJobs and ModelServes."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"{path}: cannot read: {exc}") from None
    return parse_documents(text, source=str(path))


def _bare_name(source: str | None) -> str:
    stem = Path(source).stem if source else ""
    name = re.sub(r"[^a-z0-9-]+", "-", stem.lower()).strip("-")[:MAX_NAME_LENGTH].strip("-")
    return name if name and is_dns_label(name) else "finetunejob"


def _is_whole_object(obj: dict[str, Any]) -> bool:
    return any(key in obj for key in ("apiVersion", "kind", "spec", "metadata"))


def _as_finetunejob(obj: Any, source: str | None) -> tuple[FineTuneJob | None, list[Problem], bool]:
    """(job, problems, was_bare_spec): the shared core of parse_finetunejob and load_finetunejob."""
    bare = isinstance(obj, dict) and not _is_whole_object(obj)
    if bare:
        obj = {
            "apiVersion": API_VERSION,
            "kind": "FineTuneJob",
            "metadata": {"name": _bare_name(source)},
            "spec": obj,
        }
    if isinstance(obj, dict):
        if obj.get("kind", "FineTuneJob") != "FineTuneJob":
            return None, [(("kind",), f"must be FineTuneJob (got {_show(obj.get('kind'))})")], bare
        obj = {"kind": "FineTuneJob", **obj}
    item, problems = _check_document(obj)
    return (item if isinstance(item, FineTuneJob) else None), problems, bare


def parse_finetunejob(obj: Any, source: str | None = None) -> FineTuneJob:
    """A FineTuneJob from a whole object or from a bare spec (then named after the source file).

    Raises SpecError with camelCase field paths; used by the operator (on the object it
    watches), the trainer (on its ConfigMap) and `tradetune run` (on the user's file).
    """
    item, problems, _ = _as_finetunejob(obj, source)
    if problems or item is None:
        raise SpecError([(format_loc(loc), msg) for loc, msg in problems], source=source)
    return item


def parse_modelserve(obj: Any, source: str | None = None) -> ModelServe:
    """A ModelServe from a whole object; SpecError with field paths otherwise."""
    if isinstance(obj, dict) and obj.get("kind", "ModelServe") != "ModelServe":
        raise SpecError([("kind", f"must be ModelServe (got {_show(obj.get('kind'))})")], source=source)
    if isinstance(obj, dict):
        obj = {"kind": "ModelServe", **obj}
    item, problems = _check_document(obj)
    if problems or not isinstance(item, ModelServe):
        raise SpecError([(format_loc(loc), msg) for loc, msg in problems], source=source)
    return item


def load_finetunejob(path: str | Path) -> FineTuneJob:
    """The one FineTuneJob of a YAML file (a whole object or a bare spec); other kinds are an error.

    This is what `tradetune run` and the trainer read; problems carry their line numbers.
    """
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"{path}: cannot read: {exc}") from None
    docs = read_yaml_documents(text, str(path))
    jobs = [
        (obj, node)
        for obj, node in docs
        if not isinstance(obj, dict) or obj.get("kind", "FineTuneJob") == "FineTuneJob"
    ]
    if len(jobs) != 1:
        raise SpecError([("(file)", f"expected one FineTuneJob, found {len(jobs)}")], source=str(path))
    obj, node = jobs[0]
    item, problems, bare = _as_finetunejob(obj, str(path))
    if problems or item is None:
        rendered = []
        for loc, message in problems:
            # A bare spec is the YAML root: its "spec.x" is the file's "x".
            line = _line_of(node, loc[1:] if bare and loc[:1] == ("spec",) else loc)
            rendered.append((format_loc(loc), f"{message} (line {line})" if line is not None else message))
        raise SpecError(rendered, source=str(path))
    return item


def dump_yaml(*objects: Document) -> str:
    """Objects as a YAML stream (camelCase, unset fields left out), ready for kubectl apply."""
    return yaml.dump_all(
        [o.model_dump(by_alias=True, exclude_none=True, mode="json") for o in objects],
        Dumper=KubeDumper,
        sort_keys=False,
    )
