"""Test helper of the packaging area: which imports a module makes of local-only code."""

from __future__ import annotations

import ast

# Local-only: the embedded engine's libraries and the tooling package itself.
FORBIDDEN = ("duckdb", "duckdb_ext", "sqlglot", "gamepipe")
_DYNAMIC = {"import_module", "__import__"}


def forbidden_imports(source: str) -> list[tuple[int, str]]:
    """(line, module) of every import of a FORBIDDEN module, static or importlib's."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(source)):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        elif isinstance(node, ast.Call):
            func = node.func
            called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            arg = node.args[0] if node.args else None
            if called in _DYNAMIC and isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                names = [arg.value]
        found += [(node.lineno, name) for name in names if name.split(".")[0] in FORBIDDEN]
    return found
