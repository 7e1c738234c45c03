"""The semantic pass over pynescript's AST: names, arity, declarations and v5 version rules.

It walks the tree in program order with a scope per block, as a Pine compiler resolves
names, and reports what a compiler would refuse (codes in findings.CODES). Nodes are
dispatched by class name, so this module does not import pynescript (only the parse does).
What it cannot know without types (methods of variables, fields of objects) it accepts:
the check must never reject a valid program.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from typing import Any

from tradetune.evaluation.pine.arity import best_misfit
from tradetune.evaluation.pine.builtins import Builtins, Signature, builtins_v5
from tradetune.evaluation.pine.findings import Finding, error
from tradetune.evaluation.pine.scopes import Declared, Scope

Node = Any  # pynescript AST nodes (untyped library)


def dotted(node: Node) -> str | None:
    """`strategy.commission.percent` for an attribute chain on a plain name, else None."""
    parts: list[str] = []
    while type(node).__name__ == "Attribute":
        parts.append(node.attr)
        node = node.value
    if type(node).__name__ != "Name":
        return None
    parts.append(node.id)
    return ".".join(reversed(parts))


def _suggest(name: str, candidates: Iterable[str]) -> str:
    close = difflib.get_close_matches(name, list(candidates), n=1, cutoff=0.75)
    return f" (did you mean {close[0]}?)" if close else ""


def _line(node: Node) -> int:
    return int(getattr(node, "lineno", 0) or 0)


class SemanticPass:
    """One walk over one script; `run` returns the findings in line order."""

    def __init__(self, script_kind: str | None, table: Builtins | None = None) -> None:
        self.b = table or builtins_v5()
        self.kind = script_kind
        self.declared = Declared()
        self.findings: list[Finding] = []
        self.in_function = False

    def report(self, node: Node | int, code: str, message: str) -> None:
        line = node if isinstance(node, int) else _line(node)
        self.findings.append(error(line, code, message))

    def run(self, script: Node) -> list[Finding]:
        self.block(script.body, Scope("global"))
        return sorted(self.findings)

    # statements ---------------------------------------------------------------------------

    def block(self, statements: Sequence[Node] | None, scope: Scope) -> None:
        for stmt in statements or []:
            self.statement(stmt, scope)

    def statement(self, node: Node, scope: Scope) -> None:
        kind = type(node).__name__
        if kind == "Assign":
            if node.value is not None:
                self.expr(node.value, scope)
            for name, line in self._targets(node.target):
                self.declare(name, line, scope)
        elif kind in ("ReAssign", "AugAssign"):
            self.expr(node.value, scope)
            self.reassign(node.target, scope)
        elif kind == "FunctionDef":
            self.function_def(node, scope)
        elif kind == "TypeDef":
            fields = [name for stmt in node.body or [] for name, _ in self._targets(stmt.target)]
            self.declared.types[node.name] = fields
        elif kind == "EnumDef":
            members = {name for stmt in node.body or [] for name, _ in self._targets(stmt.target)}
            self.declared.enums[node.name] = members
        elif kind == "Import":
            self.declared.libraries.add(node.alias or node.name)
        elif kind == "Expr":
            self.expr(node.value, scope)

    def _targets(self, target: Node) -> list[tuple[str, int]]:
        kind = type(target).__name__
        if kind == "Name":
            return [(target.id, _line(target))]
        if kind == "Tuple":
            return [pair for elt in target.elts for pair in self._targets(elt)]
        return []

    def declare(self, name: str, line: int, scope: Scope) -> None:
        if name == "_":
            return
        if name in scope.names:
            self.report(
                line,
                "PINE-E302",
                f"'{name}' is already declared in this scope (line {scope.names[name]}); "
                f"use '{name} := ...' to give it a new value",
            )
        elif scope.parent is not None and (outer := scope.parent.find(name)) is not None:
            self.report(
                line,
                "PINE-W301",
                f"'{name}' shadows the variable declared on line {outer.names[name]}; "
                f"use '{name} := ...' to change that one",
            )
        scope.names[name] = line

    def reassign(self, target: Node, scope: Scope) -> None:
        kind = type(target).__name__
        if kind != "Name":
            if kind in ("Attribute", "Subscript"):
                self.expr(target.value, scope)
            return
        owner = scope.find(target.id)
        if owner is None:
            self.report(
                target,
                "PINE-E301",
                f"'{target.id}' is assigned with := but not declared; declare it first ('{target.id} = ...')",
            )
        elif owner.kind == "global" and self.in_function:
            self.report(
                target,
                "PINE-E303",
                f"cannot modify the global variable '{target.id}' inside a function; "
                "return the new value instead",
            )

    def function_def(self, node: Node, scope: Scope) -> None:
        params = [(p.name, p.default is not None) for p in node.args or []]
        for p in node.args or []:
            if p.default is not None:
                self.expr(p.default, scope)
        self.declared.add_function(node.name, params, method=bool(node.method))
        inner = scope.child("function")
        for name, _ in params:
            inner.names[name] = _line(node)
        was, self.in_function = self.in_function, True
        self.block(node.body, inner)
        self.in_function = was

    # expressions --------------------------------------------------------------------------

    def expr(self, node: Node | None, scope: Scope) -> None:
        if node is None:
            return
        kind = type(node).__name__
        if kind == "Name":
            self.name(node, scope)
        elif kind == "Attribute":
            self.attribute(node, scope)
        elif kind == "Call":
            self.call(node, scope)
        elif kind == "BoolOp":
            for v in node.values:
                self.expr(v, scope)
        elif kind == "BinOp":
            self.expr(node.left, scope)
            self.expr(node.right, scope)
        elif kind == "UnaryOp":
            self.expr(node.operand, scope)
        elif kind == "Conditional":
            for part in (node.test, node.body, node.orelse):
                self.expr(part, scope)
        elif kind == "Compare":
            self.expr(node.left, scope)
            for c in node.comparators:
                self.expr(c, scope)
        elif kind == "Subscript":
            self.expr(node.value, scope)
            self.expr(node.slice, scope)
        elif kind == "Tuple":
            for e in node.elts:
                self.expr(e, scope)
        else:
            self.structure(kind, node, scope)

    def structure(self, kind: str, node: Node, scope: Scope) -> None:
        """Blocks that are expressions too: loops, if, switch (each body is a new scope)."""
        if kind == "ForTo":
            for part in (node.start, node.end, node.step):
                self.expr(part, scope)
            self._loop(node.target, node.body, scope)
        elif kind == "ForIn":
            self.expr(node.iter, scope)
            self._loop(node.target, node.body, scope)
        elif kind == "While":
            self.expr(node.test, scope)
            self.block(node.body, scope.child())
        elif kind == "If":
            self.expr(node.test, scope)
            self.block(node.body, scope.child())
            self.block(node.orelse, scope.child())
        elif kind == "Switch":
            self.expr(node.subject, scope)
            for case in node.cases or []:
                self.expr(case.pattern, scope)
                self.block(case.body, scope.child())
        # Constant, and Qualify/Specialize (type positions): nothing to resolve

    def _loop(self, target: Node, body: Sequence[Node], scope: Scope) -> None:
        inner = scope.child()
        for name, line in self._targets(target):
            inner.names[name] = line
        self.block(body, inner)

    def name(self, node: Node, scope: Scope) -> None:
        n = node.id
        d, b = self.declared, self.b
        if scope.find(n) or d.is_namespace(n) or n in d.functions:
            return
        if n in b.variables or n in b.types or n in b.namespaces or n in b.functions:
            return
        if n in b.v4_renamed:
            self.report(node, "PINE-E401", f"'{n}' is Pine v4; in v5 write {b.v4_renamed[n]}")
            return
        self.report(node, "PINE-E103", f"undefined variable '{n}'{_suggest(n, scope.visible())}")

    def attribute(self, node: Node, scope: Scope) -> None:
        path = dotted(node)
        if path is None:
            self.expr(node.value, scope)
            return
        root, *rest = path.split(".")
        if scope.find(root) or root in self.declared.types or root in self.declared.libraries:
            return  # a field of an object, or a library's export: not typed here
        if root in self.declared.enums:
            if rest and rest[0] not in self.declared.enums[root]:
                members = self.declared.enums[root]
                self.report(
                    node, "PINE-E102", f"enum {root} has no member '{rest[0]}'{_suggest(rest[0], members)}"
                )
            return
        if self.b.is_known(path):
            return
        if root in self.b.namespaces:
            known = [*self.b.variables, *self.b.functions]
            self.report(node, "PINE-E102", f"unknown built-in variable {path}{_suggest(path, known)}")
            return
        self.name(_RootName(root, _line(node)), scope)

    # calls --------------------------------------------------------------------------------

    def call(self, node: Node, scope: Scope) -> None:
        func = node.func
        while type(func).__name__ == "Specialize":
            func = func.value
        args = node.args or []
        for arg in args:
            self.expr(arg.value, scope)
        positional = sum(1 for a in args if not a.name)
        keywords = [a.name for a in args if a.name]
        kind = type(func).__name__
        if kind == "Name":
            self.call_name(node, func.id, positional, keywords, scope)
        elif kind == "Attribute":
            path = dotted(func)
            if path is None:
                self.expr(func.value, scope)
                self.call_method(node, func.attr, positional, keywords)
            else:
                self.call_path(node, path, positional, keywords, scope)
        else:
            self.expr(func, scope)

    def check_arity(
        self, node: Node, what: str, overloads: Sequence[Signature], positional: int, keywords: list[str]
    ) -> None:
        for code, detail in best_misfit(overloads, positional, keywords):
            self.report(node, code, f"{what}: {detail}")

    def call_name(self, node: Node, n: str, positional: int, keywords: list[str], scope: Scope) -> None:
        b = self.b
        if n in self.declared.functions:
            self.check_arity(node, n, self.declared.functions[n], positional, keywords)
        elif n in b.functions:
            self.check_arity(node, n, b.functions[n], positional, keywords)
        elif n in b.v4_renamed:
            self.report(node, "PINE-E401", f"{n}() is Pine v4; in v5 write {b.v4_renamed[n]}")
        else:
            candidates = [
                *self.declared.functions,
                *(f for f in b.functions if "." not in f),
                *b.v4_renamed.values(),
            ]
            self.report(node, "PINE-E101", f"unknown function {n}{_suggest(n, candidates)}")

    def call_method(self, node: Node, method: str, positional: int, keywords: list[str]) -> None:
        if method in self.declared.methods:
            # the receiver binds the first parameter
            self.check_arity(node, f".{method}", self.declared.methods[method], positional + 1, keywords)
        elif method not in self.b.method_names:
            known = [*self.declared.methods, *self.b.method_names]
            self.report(node, "PINE-E104", f"unknown method .{method}(){_suggest(method, known)}")

    def call_path(self, node: Node, path: str, positional: int, keywords: list[str], scope: Scope) -> None:
        root, *rest = path.split(".")
        d, b = self.declared, self.b
        if scope.find(root) or (root in b.variables and root not in b.namespaces):
            self.call_method(node, rest[-1], positional, keywords)
        elif root in d.types:
            if rest == ["new"]:
                fields = [f"{f}?" for f in d.types[root]]
                from tradetune.evaluation.pine.builtins import parse_signature

                self.check_arity(
                    node, f"{root}.new", [parse_signature(", ".join(fields))], positional, keywords
                )
            elif rest != ["copy"]:
                self.report(node, "PINE-E101", f"unknown function {path}: a type has only new() and copy()")
        elif root in d.libraries:
            return
        elif path in b.functions:
            self.check_arity(node, path, b.functions[path], positional, keywords)
            if path.startswith(b.strategy_only_prefix) and self.kind != "strategy":
                where = f"an {self.kind}()" if self.kind else "a script without strategy()"
                self.report(
                    node, "PINE-E402", f"{path} can only be called in a strategy() script, not in {where}"
                )
        elif root in b.namespaces or root in d.enums:
            self.report(node, "PINE-E101", f"unknown function {path}{_suggest(path, b.functions)}")
        else:
            self.name(_RootName(root, _line(node)), scope)


class _RootName:
    """A stand-in Name node for the root of an unresolved attribute chain (for its report)."""

    def __init__(self, ident: str, lineno: int) -> None:
        self.id = ident
        self.lineno = lineno
