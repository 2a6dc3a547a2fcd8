"""Checks over a packaged template and zip: what the tests and ``make package`` assert."""

from __future__ import annotations

import ast
import zipfile
from pathlib import Path, PurePosixPath
from typing import Any

from chalicelib.names import ENV_BY_NAME
from gamepipe.infra.package import NATIVE_BUILDS, NATIVE_SOURCES
from gamepipe.infra.template import DATA_SERVICES

# Libraries only the local tooling has: a shipped module importing one fails on Lambda.
LOCAL_ONLY_LIBRARIES = ("duckdb", "sqlglot", "gamepipe", "moto", "localstack", "bench", "tests")
# Variables naming a resource: each must be a reference to one of the stack's resources.
RESOURCE_ENV = (*ENV_BY_NAME.values(), "GAMEPIPE_ATHENA_OUTPUT")


def functions(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The template's Lambda functions by logical id."""
    return {
        name: res
        for name, res in template["Resources"].items()
        if res["Type"] == "AWS::Serverless::Function"
    }


def _is_reference(value: Any) -> bool:
    return isinstance(value, dict) and len(value) == 1 and next(iter(value)) in (
        "Ref", "Fn::GetAtt", "Fn::Sub",
    )  # fmt: skip


def literal_resource_names(template: dict[str, Any]) -> dict[str, list[str]]:
    """Per function, the resource-name variables that are literals (or missing)."""
    found: dict[str, list[str]] = {}
    for name, fn in functions(template).items():
        variables = fn["Properties"].get("Environment", {}).get("Variables", {})
        bad = [
            var
            for var in RESOURCE_ENV
            if (var in variables and not _is_reference(variables[var]))
            or (var in ENV_BY_NAME.values() and var not in variables)
        ]
        if bad:
            found[name] = bad
    return found


def role_of(fn: dict[str, Any]) -> str | None:
    """The logical id of the stack role a function runs with (None: not one of ours)."""
    role = fn["Properties"].get("Role")
    if isinstance(role, dict) and isinstance(role.get("Fn::GetAtt"), list):
        return str(role["Fn::GetAtt"][0])
    return None


def wildcard_data_statements(template: dict[str, Any]) -> list[tuple[str, str]]:
    """(role, action) pairs where a data action is allowed on Resource "*"."""
    found = []
    for name, res in template["Resources"].items():
        if res["Type"] != "AWS::IAM::Role":
            continue
        for policy in res["Properties"].get("Policies", []):
            for st in policy["PolicyDocument"]["Statement"]:
                actions = st["Action"] if isinstance(st["Action"], list) else [st["Action"]]
                resources = st["Resource"] if isinstance(st["Resource"], list) else [st["Resource"]]
                for action in actions:
                    if action.split(":")[0] in DATA_SERVICES and (
                        "*" in resources or action.endswith("*")
                    ):
                        found.append((name, action))
    return found


def forbidden_in_zip(zip_path: Path) -> dict[str, list[str]]:
    """Native sources and builds, and modules importing local-only libraries, in the zip."""
    found: dict[str, list[str]] = {"native": [], "local_only": []}
    with zipfile.ZipFile(zip_path) as zf:
        for name in zf.namelist():
            suffix = PurePosixPath(name).suffix
            # our code only: pinned wheels may carry their own (markupsafe's _speedups.c)
            ours = name.startswith(("app.py", "chalicelib/"))
            if ours and suffix in NATIVE_SOURCES + NATIVE_BUILDS:
                found["native"].append(name)
            if suffix == ".py" and name.startswith(("app.py", "chalicelib/")):
                imported = _imports(zf.read(name).decode())
                if imported & set(LOCAL_ONLY_LIBRARIES):
                    found["local_only"].append(name)
    return found


def _imports(source: str) -> set[str]:
    """Top-level package names a module imports (anywhere in it, lazily or not)."""
    names = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names
