"""What ships to Lambda imports no local tooling: no module under chalicelib/ imports
duckdb, sqlglot or anything from gamepipe (checked on the source's AST)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers_package import forbidden_imports

CHALICELIB = Path(__file__).resolve().parents[2] / "chalicelib"


def test_no_chalicelib_module_imports_local_tooling() -> None:
    # GIVEN every Python module of the Lambda package
    modules = sorted(CHALICELIB.rglob("*.py"))
    assert len(modules) > 20
    # WHEN their imports are read
    offenders = {
        str(path.relative_to(CHALICELIB.parent)): hits
        for path in modules
        if (hits := forbidden_imports(path.read_text(encoding="utf-8")))
    }
    # THEN none names duckdb, sqlglot or gamepipe
    assert offenders == {}


@pytest.mark.parametrize(
    "source",
    [
        "import duckdb",
        "import sqlglot.optimizer as o",
        "from sqlglot import exp",
        "def f():\n    from gamepipe.athena.engine import LocalEngine",
        "import importlib\nimportlib.import_module('duckdb')",
        "__import__('gamepipe.cli')",
    ],
)
def test_the_check_catches_each_kind_of_import(source: str) -> None:
    # GIVEN a module importing local tooling in one of the ways Python allows
    # THEN the check reports it
    assert forbidden_imports(source)


def test_the_check_lets_lambda_imports_through() -> None:
    # GIVEN imports the Lambda package may use (relative ones included)
    source = "import pyarrow\nfrom chalicelib.query import params\nfrom . import gamepipe_x\n"
    # THEN nothing is reported
    assert forbidden_imports(source) == []
