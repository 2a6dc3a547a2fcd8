"""``gamepipe report`` on moto's in-process S3 with the report queries injected.

moto runs no SQL, so ``chalicelib.query.run_query`` is monkeypatched to return fixed
tables; the real engine is exercised by tests/e2e/test_report_e2e.py.
"""

from __future__ import annotations

from datetime import date

import boto3
import pytest
from click.testing import CliRunner
from moto import mock_aws

from chalicelib import aws, query
from gamepipe.commands.report import report
from tests.helpers_kpi import KPI_FILES, sample_kpis
from tests.helpers_reports import sample_tables

AS_OF = date(2026, 11, 27)


@pytest.fixture
def env(monkeypatch):
    for name in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("GAMEPIPE_REPORTS_BUCKET", "cli-reports")
    tables = {
        **sample_tables(),
        **{f"kpi/{n}": t for n, t in sample_kpis(AS_OF, 20, users=100, events=3000).items()},
    }
    monkeypatch.setattr(query, "run_query", lambda n, p=None, **kw: tables[n], raising=False)
    aws.reset()
    with mock_aws():
        boto3.client("s3", region_name="us-east-1").create_bucket(Bucket="cli-reports")
        yield
    aws.reset()


def test_report_cli_publishes_and_writes_locally(env, tmp_path):
    # GIVEN a reports bucket and an output folder
    # WHEN `gamepipe report --date 2026-11-27 --out DIR` runs
    result = CliRunner().invoke(report, ["--date", "2026-11-27", "--out", str(tmp_path)])
    # THEN it prints both locations, and both hold the five files
    assert result.exit_code == 0, result.output
    assert "published s3://cli-reports/reports/dt=2026-11-27/index.html" in result.output
    folder = tmp_path / "dt=2026-11-27"
    assert sorted(p.name for p in folder.iterdir()) == sorted([
        "guild_membership.csv", "index.html", "manifest.json",
        "player_purchases.csv", "player_standings.csv", *KPI_FILES,
    ])  # fmt: skip
    listing = boto3.client("s3").list_objects_v2(Bucket="cli-reports")["Contents"]
    assert len(listing) == 5 + len(KPI_FILES)
    assert "November 27, 2026" in (folder / "index.html").read_text()


def test_report_cli_no_publish_touches_no_bucket(env, tmp_path):
    # WHEN run with --no-publish
    result = CliRunner().invoke(
        report, ["--date", "2026-11-27", "--out", str(tmp_path), "--no-publish"]
    )
    # THEN the files are local only
    assert result.exit_code == 0, result.output
    assert "published" not in result.output
    assert "Contents" not in boto3.client("s3").list_objects_v2(Bucket="cli-reports")


def test_report_cli_rejects_a_bad_date(env):
    # WHEN the date is not YYYY-MM-DD
    result = CliRunner().invoke(report, ["--date", "28/11/2026"])
    # THEN click refuses it before running anything
    assert result.exit_code == 2
    assert "Invalid value for '--date'" in result.output
