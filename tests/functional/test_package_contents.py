"""What ships is what runs: the Lambda zip holds only tracked run-time files."""

from __future__ import annotations

import subprocess
import zipfile
from pathlib import Path

import pytest

from gamepipe.infra import checks
from gamepipe.infra.package import Package, package, tracked_files


@pytest.fixture(scope="module")
def prod(tmp_path_factory: pytest.TempPathFactory) -> Package:
    return package("prod", tmp_path_factory.mktemp("pkg") / "prod", region="us-east-1")


def test_zip_has_no_native_source_or_build(prod: Package) -> None:
    # THEN no C source and no .so built in the work tree is in the zip
    assert checks.forbidden_in_zip(prod.zip_path)["native"] == []


def test_zip_has_no_module_importing_local_only_libraries(prod: Package) -> None:
    # THEN no shipped module imports DuckDB, sqlglot or the local tooling (gamepipe)
    assert checks.forbidden_in_zip(prod.zip_path)["local_only"] == []


def test_zip_holds_the_run_time_files(prod: Package) -> None:
    names = set(zipfile.ZipFile(prod.zip_path).namelist())
    for name in (
        "app.py",
        "chalicelib/names.py",
        "chalicelib/contract/event_schema.json",
        "chalicelib/athena_sql/reports/player_standings.sql",
        "chalicelib/reports/templates/report.html.j2",
        "msgspec/__init__.py",
        "jinja2/__init__.py",
    ):
        assert name in names, name


def test_untracked_build_outputs_are_not_packaged(tmp_path: Path) -> None:
    # GIVEN a repository with a tracked module, a native source and an untracked .so and .py
    repo = tmp_path / "repo"
    (repo / "chalicelib" / "native").mkdir(parents=True)
    (repo / "app.py").write_text("")
    (repo / "chalicelib" / "a.py").write_text("")
    (repo / "chalicelib" / "native" / "fast.c").write_text("")
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    subprocess.run(["git", "-C", str(repo), "add", "."], check=True)
    (repo / "chalicelib" / "native" / "_fast.so").write_bytes(b"\x7fELF")
    (repo / "chalicelib" / "scratch.py").write_text("")
    # WHEN the files that ship are listed THEN only the tracked run-time files are
    assert tracked_files(repo) == ["app.py", "chalicelib/a.py"]


def test_forbidden_in_zip_finds_local_only_imports(tmp_path: Path) -> None:
    # GIVEN a zip with a module that imports sqlglot lazily and one that is clean
    zpath = tmp_path / "d.zip"
    with zipfile.ZipFile(zpath, "w") as zf:
        zf.writestr("chalicelib/q.py", "def f():\n    import sqlglot\n")
        zf.writestr("chalicelib/ok.py", "import json\n")
        zf.writestr("chalicelib/x.c", "")
    # THEN both kinds of problem are named
    assert checks.forbidden_in_zip(zpath) == {
        "native": ["chalicelib/x.c"],
        "local_only": ["chalicelib/q.py"],
    }


def test_compose_pins_the_projects_moto_with_healthchecks() -> None:
    import re

    import yaml

    root = Path(__file__).resolve().parents[2]
    compose = yaml.safe_load((root / "localstack/docker-compose.yml").read_text())
    pinned = re.search(
        r"^moto\[server\]==(\S+)$", (root / "requirements-dev.txt").read_text(), re.M
    )
    assert pinned is not None
    assert compose["services"]["moto"]["image"] == f"motoserver/moto:{pinned.group(1)}"
    assert all("healthcheck" in svc for svc in compose["services"].values())
    assert compose["services"]["localstack"]["depends_on"]["moto"]["condition"] == "service_healthy"
