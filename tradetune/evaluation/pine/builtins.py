"""The Pine v5 built-ins table (builtins_v5.toml), loaded once into lookups the checker uses.

The table is data, with its source and version in its header, so a reviewer can compare it
with the reference manual line by line; this module only parses the signature notation.
"""

from __future__ import annotations

import functools
import tomllib
from dataclasses import dataclass
from importlib import resources


@dataclass(frozen=True)
class Param:
    """One parameter of a signature."""

    name: str
    required: bool


@dataclass(frozen=True)
class Signature:
    """One overload: its parameters in order; `open_ended` accepts more arguments and any keyword."""

    params: tuple[Param, ...]
    open_ended: bool = False

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.params)


@dataclass(frozen=True)
class Builtins:
    """Every name a v5 script may use undeclared, by kind."""

    version: int
    source: str
    functions: dict[str, tuple[Signature, ...]]
    variables: frozenset[str]  # dotted: "close", "strategy.long", "strategy.commission.percent"
    namespaces: frozenset[str]  # every dotted prefix of a built-in: "ta", "strategy", "strategy.risk"
    v4_renamed: dict[str, str]
    method_names: frozenset[str]  # "push", "get", ...: callable as methods on built-in types
    types: frozenset[str]
    declarations: tuple[str, ...]
    strategy_only_prefix: str

    def is_known(self, dotted: str) -> bool:
        return dotted in self.functions or dotted in self.variables or dotted in self.namespaces


def parse_signature(text: str) -> Signature:
    """`source, length, biased?` → required source and length, optional biased; `...` opens it."""
    params: list[Param] = []
    open_ended = False
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        if part == "...":
            open_ended = True
        elif part.endswith("?"):
            params.append(Param(part[:-1], required=False))
        else:
            params.append(Param(part, required=True))
    return Signature(tuple(params), open_ended)


def _prefixes(dotted: str) -> list[str]:
    parts = dotted.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts))]


@functools.cache
def builtins_v5() -> Builtins:
    """The table, parsed once per process."""
    raw = tomllib.loads(resources.files(__package__).joinpath("builtins_v5.toml").read_text("utf-8"))
    meta = raw["meta"]
    functions: dict[str, tuple[Signature, ...]] = {}
    for name, sig in raw["functions"].items():
        overloads = sig if isinstance(sig, list) else [sig]
        functions[name] = tuple(parse_signature(s) for s in overloads)
    variables = frozenset(
        f"{ns}.{name}" if ns else name for ns, names in raw["variables"].items() for name in names
    )
    namespaces = frozenset(p for name in [*functions, *variables] for p in _prefixes(name))
    method_ns = tuple(meta["method_namespaces"])
    methods = frozenset(
        name.rsplit(".", 1)[1] for name in functions if "." in name and name.rsplit(".", 1)[0] in method_ns
    )
    return Builtins(
        version=int(meta["version"]),
        source=str(meta["source"]),
        functions=functions,
        variables=variables,
        namespaces=namespaces,
        v4_renamed=dict(raw["v4_renamed"]),
        method_names=methods,
        types=frozenset(meta["types"]),
        declarations=tuple(meta["declarations"]),
        strategy_only_prefix=str(meta["strategy_only_prefix"]),
    )
