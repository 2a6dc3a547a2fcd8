"""The reports Lambda on Athena, locally: ``daily_report`` (the app's handler, in-process,
as the local runtime invokes it) with GAMEPIPE_QUERY_ENGINE=athena against the embedded
stack publishes the same CSVs (reports and KPIs) as with the local engine, and its manifest
names the Athena executions that produced them."""

from __future__ import annotations

import dataclasses
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest

from chalicelib import aws, query
from chalicelib.query.kpi import KPI_NAMES
from chalicelib.settings import Settings
from gamepipe.runtime.lambda_host import invoker, load_app
from gamepipe.runtime.schedule import scheduled_event
from gamepipe.stack.targets import make_target
from tests.helpers_sql import load_report_lake

pytestmark = pytest.mark.e2e
REPORTS = ("player_standings", "player_purchases", "guild_membership")
KPI_FILES = tuple(f"kpi_{key}" for key in KPI_NAMES)


def _published(settings: Settings, prefix: str) -> dict[str, Any]:
    s3 = boto3.client("s3")
    files = {
        name: s3.get_object(Bucket=settings.reports_bucket, Key=f"{prefix}{name}.csv")["Body"]
        .read()
        .decode()
        for name in REPORTS + KPI_FILES
    }
    manifest = s3.get_object(Bucket=settings.reports_bucket, Key=f"{prefix}manifest.json")
    return {"csv": files, "manifest": json.loads(manifest["Body"].read())}


def test_daily_report_on_athena_publishes_the_local_engines_csvs(
    tmp_path: Path, e2e_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN the embedded stack (our moto server with its Athena) and a consumed seeded run
    target = make_target("embedded", tmp_path / "stack")
    try:
        for key, value in target.start().items():
            monkeypatch.setenv(key, value)
        aws.reset()
        app = load_app(stage="local")  # the handlers as the local runtime loads them
        for key, value in dict(target.env).items():  # the stack's endpoints win
            monkeypatch.setenv(key, value)
        aws.reset()
        local = Settings(
            glue_database="report_on_athena",
            data_bucket="athena-e2e-data",
            reports_bucket="athena-e2e-reports",
            report_top_n=10,
            query_engine="local",
        )
        load_report_lake(local)
        athena = dataclasses.replace(
            local,
            query_engine="athena",
            athena_output=f"s3://{local.reports_bucket}/athena-results/",
        )
        event = scheduled_event("daily_report", datetime(2026, 11, 27, 0, 15, tzinfo=UTC))
        daily_report = invoker(app, "daily_report")

        # WHEN daily_report runs with the local engine, then with Athena
        app_module = sys.modules["app"]
        monkeypatch.setattr(app_module, "SETTINGS", local)
        on_local = daily_report(event)
        by_local = _published(local, on_local["prefix"])
        monkeypatch.setattr(app_module, "SETTINGS", athena)
        on_athena = daily_report(event)
        by_athena = _published(athena, on_athena["prefix"])
    finally:
        query.reset()
        target.stop()
        aws.reset()

    # THEN both published the same CSVs, row for row: the three reports (non-empty) and the
    # seven KPIs of the dashboard
    assert on_athena["prefix"] == on_local["prefix"]
    assert on_athena["row_counts"] == on_local["row_counts"]
    assert all(on_local["row_counts"][name] > 0 for name in REPORTS)
    assert by_athena["csv"] == by_local["csv"]
    assert all(
        len(by_local["csv"][name].splitlines()) > 1 for name in ("kpi_daily", "kpi_retention")
    )
    # AND the Athena run says so and names the query execution of each report and KPI
    assert (by_local["manifest"]["engine"], by_athena["manifest"]["engine"]) == ("local", "athena")
    assert by_local["manifest"]["query_ids"] == {}
    assert set(by_athena["manifest"]["query_ids"]) == set(REPORTS + KPI_FILES)
