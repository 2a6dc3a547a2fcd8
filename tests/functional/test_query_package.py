"""The SQL files and the event schema are inside the Lambda zip that `chalice package` builds."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

from tests.helpers_package import forbidden_imports

REPO = Path(__file__).resolve().parents[2]


def test_chalice_package_contains_sql_and_schema(tmp_path: Path) -> None:
    # GIVEN the repository (only app.py, chalicelib/ and vendor/ get packaged)
    chalice = Path(sys.executable).parent / "chalice"
    env = {**os.environ, "AWS_DEFAULT_REGION": "us-east-1"}

    # WHEN packaging the dev stage
    subprocess.run(
        [str(chalice), "package", "--stage", "dev", str(tmp_path / "out")],
        cwd=REPO,
        env=env,
        check=True,
        capture_output=True,
        timeout=300,
    )

    # THEN every SQL file under chalicelib/athena_sql, the statement registry and the event
    # schema are in the zip
    with zipfile.ZipFile(tmp_path / "out" / "deployment.zip") as zf:
        names = set(zf.namelist())
        expected = {
            str(p.relative_to(REPO)) for p in (REPO / "chalicelib" / "athena_sql").rglob("*.sql")
        }
        assert len(expected) >= 22
        assert expected <= names
        assert "chalicelib/contract/event_schema.json" in names
        assert "chalicelib/athena_sql/statements.toml" in names
        q3 = zf.read("chalicelib/athena_sql/questions/q3_top_levels.sql").decode()
        # AND no module in it imports the local engine's libraries or the local tooling
        modules = [n for n in names if n.endswith(".py")]
        local_only = {n: hits for n in modules if (hits := forbidden_imports(zf.read(n).decode()))}
    assert "max(level)" in q3
    assert "app.py" in modules and len(modules) > 20
    assert local_only == {}
    assert not [n for n in names if n.startswith("gamepipe/")]
