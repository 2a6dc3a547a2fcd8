"""The report Lambda's run-time files are inside the ``chalice package`` output.

Chalice packages only app.py, chalicelib/ and vendor/ plus requirements.txt: the Jinja2
templates must live under chalicelib/ and Jinja2 must be in requirements.txt, or the
report Lambda fails on AWS while every local test passes.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_package_holds_templates_sql_and_jinja2(tmp_path):
    # GIVEN the project
    out = tmp_path / "pkg"
    env = {**os.environ, "AWS_DEFAULT_REGION": "us-east-1"}
    chalice = Path(sys.executable).with_name("chalice")
    # WHEN it is packaged for the dev stage
    run = subprocess.run(
        [str(chalice), "package", "--stage", "dev", str(out)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr[-2000:]
    names = set(zipfile.ZipFile(out / "deployment.zip").namelist())
    # THEN the templates, the report SQL and Jinja2 (+ MarkupSafe) are in the zip
    for name in (
        "chalicelib/reports/templates/report.html.j2",
        "chalicelib/reports/templates/bar_chart.svg.j2",
        "chalicelib/athena_sql/reports/player_standings.sql",
        "chalicelib/athena_sql/reports/player_purchases.sql",
        "chalicelib/athena_sql/reports/guild_membership.sql",
        "jinja2/__init__.py",
        "markupsafe/__init__.py",
    ):
        assert name in names, name
    # AND the template defines the daily schedule and the on-demand function
    template = json.loads((out / "sam.json").read_text())
    resources = template["Resources"]
    assert "ReportNow" in resources
    daily = resources["DailyReport"]["Properties"]["Events"]
    assert any(e["Type"] == "Schedule" for e in daily.values())
