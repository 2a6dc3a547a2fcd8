"""The house's import rules, read from the source with ``ast`` (lazy imports inside functions
count too): layers only import downwards, no package cycle inside ``gamepipe``, click only in
the CLI, and no import guard for modules that always exist.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CLICK_ALLOWED = ("gamepipe.cli", "gamepipe.commands")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def sources(*packages: str) -> dict[str, ast.Module]:
    """Module name -> parsed source, for every .py file under ``packages``."""
    out = {}
    for package in packages:
        base = ROOT / package
        for path in [base] if base.suffix == ".py" else sorted(base.rglob("*.py")):
            out[module_name(path)] = ast.parse(path.read_text(), str(path))
    return out


def imported(tree: ast.Module, known: set[str]) -> Iterator[str]:
    """Every module ``tree`` imports anywhere; ``from pkg import sub`` counts as ``pkg.sub``."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                sub = f"{node.module}.{alias.name}"
                yield sub if sub in known else node.module


def graph(trees: dict[str, ast.Module], node_of: dict[str, str]) -> dict[str, set[str]]:
    """Edges between nodes (``node_of`` maps a module to its node) of the modules in trees."""
    edges: dict[str, set[str]] = {node: set() for node in node_of.values()}
    for name, tree in trees.items():
        for target in imported(tree, set(trees)):
            if target in node_of and node_of[target] != node_of[name]:
                edges[node_of[name]].add(node_of[target])
    return edges


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one node (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in edges[node]:
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in edges:
        if node not in index:
            visit(node)
    return found


def test_cycle_finder_finds_a_cycle() -> None:
    # GIVEN a -> b -> c -> a and d alone THEN the one cycle is found
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_cycle_between_gamepipe_packages_or_modules() -> None:
    # GIVEN every gamepipe module, grouped by subpackage (gamepipe.stack, gamepipe.runtime, ...)
    trees = sources("gamepipe")
    package_of = {name: ".".join(name.split(".")[:2]) for name in trees}
    # THEN no two packages import each other, directly or round a loop
    assert cycles(graph(trees, package_of)) == []
    # AND no two modules do either
    assert cycles(graph(trees, {name: name for name in trees})) == []


def test_layers_only_import_downwards() -> None:
    # GIVEN bench -> gamepipe -> app -> chalicelib
    layers = {"chalicelib": 0, "app": 1, "gamepipe": 2, "bench": 3}
    trees = sources("chalicelib", "app.py", "gamepipe", "bench")
    # THEN no module imports a layer above its own
    upward = [
        (name, target)
        for name, tree in trees.items()
        for target in imported(tree, set(trees))
        if target.split(".")[0] in layers
        and layers[target.split(".")[0]] > layers[name.split(".")[0]]
    ]
    assert upward == []


def test_click_only_in_the_cli() -> None:
    # GIVEN every gamepipe module THEN only the CLI modules import click
    trees = sources("gamepipe")
    users = {
        name
        for name, tree in trees.items()
        if any(t == "click" or t.startswith("click.") for t in imported(tree, set(trees)))
    }
    assert {name for name in users if not name.startswith(CLICK_ALLOWED)} == set()


def test_no_import_guards_in_gamepipe() -> None:
    # GIVEN every gamepipe module THEN none catches ImportError (that would hide a real error)
    guarded = [
        name
        for name, tree in sources("gamepipe").items()
        for node in ast.walk(tree)
        if isinstance(node, ast.ExceptHandler)
        and node.type is not None
        and {"ImportError", "ModuleNotFoundError"}
        & {n.id for n in ast.walk(node.type) if isinstance(n, ast.Name)}
    ]
    assert guarded == []
