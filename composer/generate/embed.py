"""The runtime definitions a generated file needs, copied from composer/runtime by name.

Each top-level definition (function, class, constant) of the runtime modules is read with
ast; starting from the names generated code refers to, the definitions they use are added,
and so on. What no path reaches (other data sources, optimisers, layers) is left out, so an
exported file holds no dead code. Imports come along for the names the copied code uses.
"""

from __future__ import annotations

import ast
import functools
import graphlib
from dataclasses import dataclass
from pathlib import Path

from composer.generate.sourcetext import Import

RUNTIME = Path(__file__).parent.parent / "runtime"


@dataclass(frozen=True)
class Definition:
    name: str
    module: str
    order: int
    source: str
    uses: frozenset[str]


def _names(node: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}


def _bound(stmt: ast.stmt) -> str | None:
    if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
        return stmt.name
    if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 \
            and isinstance(stmt.targets[0], ast.Name):
        return stmt.targets[0].id
    if isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name):
        return stmt.target.id
    return None


def _imports(stmt: ast.stmt) -> list[Import]:
    if isinstance(stmt, ast.Import):
        return [Import(a.name, None, a.asname) for a in stmt.names]
    if isinstance(stmt, ast.ImportFrom) and stmt.module and not stmt.module.startswith("composer"):
        return [Import(stmt.module, a.name, a.asname) for a in stmt.names]
    return []


def runtime_modules() -> list[tuple[str, ast.Module, str]]:
    """(name, syntax tree, text) of every module in composer/runtime, each after the runtime
    modules it imports: definitions are copied in this order, so whatever a module needs when
    it is loaded (a base class, a decorator) comes first. A new module needs no listing."""
    parsed = {}
    for path in sorted(RUNTIME.glob("*.py")):
        if path.stem != "__init__":
            text = path.read_text(encoding="utf-8")
            parsed[path.stem] = (ast.parse(text), text)
    prefix = "composer.runtime."
    needs = {name: sorted({s.module.removeprefix(prefix) for s in tree.body
                           if isinstance(s, ast.ImportFrom) and s.module
                           and s.module.startswith(prefix)})
             for name, (tree, _) in parsed.items()}
    order = list(graphlib.TopologicalSorter(needs).static_order())
    return [(name, *parsed[name]) for name in order]


@functools.cache
def runtime_index() -> tuple[dict[str, Definition], dict[str, Import]]:
    """Every top-level definition of the runtime by name, and every import by bound name."""
    definitions: dict[str, Definition] = {}
    imports: dict[str, Import] = {}
    for m, (module, tree, text) in enumerate(runtime_modules()):
        lines = text.splitlines()
        for i, stmt in enumerate(tree.body):
            for imp in _imports(stmt):
                imports[imp.bound] = imp
            name = _bound(stmt)
            if name is None:
                continue
            if name in definitions:
                raise RuntimeError(f"runtime name {name} is defined in both "
                                   f"{definitions[name].module} and {module}")
            first = min([stmt.lineno] + [d.lineno for d in getattr(stmt, "decorator_list", [])])
            source = "\n".join(lines[first - 1:stmt.end_lineno])
            definitions[name] = Definition(name, module, m * 10_000 + i, source,
                                           frozenset(_names(stmt) - {name}))
    return definitions, imports


def runtime_names() -> frozenset[str]:
    """Every name the runtime defines or imports: generated code must not reuse them."""
    definitions, imports = runtime_index()
    return frozenset(definitions) | frozenset(imports)


def needed_definitions(roots: set[str]) -> list[Definition]:
    """The definitions reachable from `roots`, in runtime module order."""
    definitions, _ = runtime_index()
    found: dict[str, Definition] = {}
    todo = [r for r in roots if r in definitions]
    while todo:
        name = todo.pop()
        if name in found:
            continue
        found[name] = definitions[name]
        todo.extend(u for u in definitions[name].uses if u in definitions and u not in found)
    return sorted(found.values(), key=lambda d: d.order)


def imports_for(source: str) -> set[Import]:
    """The runtime's imports (and a few generated code uses) for the names in `source`."""
    _, imports = runtime_index()
    table = dict(imports)
    table.update({imp.bound: imp for imp in EXTRA_IMPORTS})
    used = _names(ast.parse(source))
    return {table[name] for name in used if name in table}


EXTRA_IMPORTS = (
    Import("sys"), Import("functools", "partial"), Import("torch", "Tensor"),
    Import("collections.abc", "Sequence"), Import("typing", "Any"), Import("pathlib", "Path"),
    Import("torch"), Import("torch", "nn"), Import("torch.nn.functional", None, "F"),
)
