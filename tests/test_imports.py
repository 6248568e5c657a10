"""The import structure of the package: no import cycles, and the layers point one way.

The import graph is read from the source with :mod:`ast` (nothing is imported): an edge for each
``import promptwork...`` or ``from promptwork... import`` at module level, those under
``if TYPE_CHECKING:`` included (they are still a dependency of the design). Imports inside
functions (lazy loading of optional or heavy modules) are edges of the "any level" graph.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

import promptwork

SRC = Path(promptwork.__file__).parent
#: Above the core: the command line, reports, the optimizer, and the public API facades
#: (``promptwork`` itself; ``promptwork.evaluation``, whose EvalRun summarizes through report).
UPPER = ("promptwork.cli", "promptwork.report", "promptwork.optimizer", "promptwork.views",
         "promptwork.web", "promptwork.templating", "promptwork.library", "promptwork.probes",
         "promptwork.serve", "promptwork.hooks", "promptwork.client")
FACADES = ("promptwork", "promptwork.evaluation")


def _name(path: Path) -> str:
    parts = list(path.relative_to(SRC.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_name(p): p for p in SRC.rglob("*.py")}


def _imports(name: str, path: Path, any_level: bool) -> set[str]:
    """The promptwork modules ``name`` imports (a ``from pkg import mod`` names ``pkg.mod``)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()

    def visit(nodes: list[ast.stmt]) -> None:
        for node in nodes:
            if isinstance(node, ast.Import):
                found.update(a.name for a in node.names if a.name.startswith("promptwork"))
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    parts = package.split(".")
                    parts = parts[: len(parts) - node.level + 1]
                    base = ".".join([*parts, base] if base else parts)
                if base.split(".")[0] == "promptwork":
                    for alias in node.names:
                        full = f"{base}.{alias.name}"
                        found.add(full if full in MODULES else base)
            elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                if any_level:
                    visit(node.body)
            else:  # if / try / with / for at module level: their bodies run on import
                for attr in ("body", "orelse", "finalbody", "handlers"):
                    children = getattr(node, attr, None) or []
                    visit([c for c in children if isinstance(c, ast.stmt)])
                for handler in getattr(node, "handlers", None) or []:
                    visit(handler.body)

    visit(ast.parse(path.read_text(encoding="utf-8")).body)
    return {m for m in found if m in MODULES and m != name}


def graph(any_level: bool = False) -> dict[str, set[str]]:
    return {name: _imports(name, path, any_level) for name, path in MODULES.items()}


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    for root in sorted(edges):
        if root in index:
            continue
        work: list[tuple[str, Iterator[str]]] = [(root, iter(sorted(edges[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_the_cycle_finder_finds_cycles() -> None:
    edges = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": set()}
    assert cycles(edges) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_the_graph_is_read() -> None:
    edges = graph()
    assert "promptwork.runner" in edges["promptwork.evaluation"]
    assert "promptwork.optimizer.result" in edges["promptwork.optimizer.html"]
    assert len(MODULES) > 50


def test_no_import_cycles_among_promptwork_modules() -> None:
    assert cycles(graph()) == []


@pytest.mark.parametrize(("module", "forbidden"), [
    ("promptwork.optimizer.result", "promptwork.optimizer.api"),
    ("promptwork.optimizer.html", "promptwork.optimizer.api"),
    ("promptwork.optimizer.report", "promptwork.optimizer.api"),
    ("promptwork.checks.base", "promptwork.checks.registry"),  # the registry parses specs
])
def test_named_cycles_stay_broken_at_any_level(module: str, forbidden: str) -> None:
    assert forbidden not in graph(any_level=True)[module]


def _upper(name: str) -> bool:
    return name in FACADES or any(name == u or name.startswith(u + ".") for u in UPPER)


def test_nothing_imports_the_command_line() -> None:
    offenders = sorted(
        f"{m} -> {t}" for m, targets in graph(any_level=True).items()
        if not m.startswith("promptwork.cli") for t in targets if t.startswith("promptwork.cli"))
    assert offenders == []


def test_the_core_imports_neither_reports_nor_the_optimizer() -> None:
    offenders = sorted(
        f"{m} -> {t}" for m, targets in graph(any_level=True).items() if not _upper(m)
        for t in targets
        if t.startswith(("promptwork.report", "promptwork.optimizer")) or t == "promptwork")
    assert offenders == []
