"""Scopes and what a script declares: the bookkeeping of the semantic pass.

Pine resolves names in program order: a name is usable after its declaration, in the block
that declares it and the blocks nested inside. Functions are declared at the top level and
may be overloaded; types, enums and imported libraries are namespaces of their own.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from tradetune.evaluation.pine.builtins import Param, Signature

ScopeKind = Literal["global", "function", "block"]


@dataclass
class Scope:
    """Variables declared in one block, with the line of each declaration."""

    kind: ScopeKind
    parent: Scope | None = None
    names: dict[str, int] = field(default_factory=dict)

    def find(self, name: str) -> Scope | None:
        """The innermost scope (this one or an enclosing one) that declares `name`."""
        scope: Scope | None = self
        while scope is not None:
            if name in scope.names:
                return scope
            scope = scope.parent
        return None

    def child(self, kind: ScopeKind = "block") -> Scope:
        return Scope(kind, self)

    def visible(self) -> set[str]:
        out: set[str] = set()
        scope: Scope | None = self
        while scope is not None:
            out |= scope.names.keys()
            scope = scope.parent
        return out


@dataclass
class Declared:
    """Script-level declarations other than variables."""

    functions: dict[str, list[Signature]] = field(default_factory=dict)
    methods: dict[str, list[Signature]] = field(default_factory=dict)
    types: dict[str, list[str]] = field(default_factory=dict)  # type name -> field names
    enums: dict[str, set[str]] = field(default_factory=dict)  # enum name -> members
    libraries: set[str] = field(default_factory=set)  # import aliases

    def add_function(self, name: str, params: list[tuple[str, bool]], *, method: bool) -> None:
        sig = Signature(tuple(Param(n, required=not has_default) for n, has_default in params))
        (self.methods if method else self.functions).setdefault(name, []).append(sig)

    def is_namespace(self, name: str) -> bool:
        return name in self.types or name in self.enums or name in self.libraries
