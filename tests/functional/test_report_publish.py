"""Functional tests of report publishing on moto's in-process S3 (``mock_aws``).

moto runs no SQL (its Athena returns no rows), so these tests inject the report tables:
``chalicelib.query.run_query`` is monkeypatched to return fixed pyarrow tables. The real
query path is covered by tests/e2e/test_report_e2e.py against a moto server.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import boto3
import pytest

from chalicelib.reports import build_report, day_prefix, publish_report
from chalicelib.settings import Settings
from chalicelib.statements import KPIS
from tests.helpers_kpi import KPI_FILES, sample_kpis
from tests.helpers_reports import empty_tables, load_event, sample_tables

AS_OF = date(2026, 11, 28)
EXPECTED_NAMES = [
    "guild_membership.csv",
    "index.html",
    "manifest.json",
    "player_purchases.csv",
    "player_standings.csv",
]


@pytest.fixture
def s3(moto_aws):
    return boto3.client("s3", region_name="us-east-1")


def _objects(s3, bucket: str) -> dict[str, dict]:
    listing = s3.list_objects_v2(Bucket=bucket).get("Contents", [])
    return {o["Key"]: o for o in listing}


def test_publish_writes_every_file_under_the_day(s3):
    # GIVEN a reports bucket and a built report
    settings = Settings(reports_bucket="reports-test")
    s3.create_bucket(Bucket=settings.reports_bucket)
    files = build_report(sample_tables(), AS_OF, 10, generated_at=datetime.now(UTC))
    # WHEN it is published
    result = publish_report(s3, settings, files, AS_OF)
    # THEN the five objects are under reports/dt=2026-11-28/ with their content types
    objects = _objects(s3, "reports-test")
    assert sorted(k.removeprefix("reports/dt=2026-11-28/") for k in objects) == EXPECTED_NAMES
    assert result.index_uri == "s3://reports-test/reports/dt=2026-11-28/index.html"
    head = s3.head_object(Bucket="reports-test", Key="reports/dt=2026-11-28/index.html")
    assert head["ContentType"].startswith("text/html")
    body = s3.get_object(Bucket="reports-test", Key=result.keys[0])["Body"].read()
    assert body == files.get("index.html")


def test_rerun_same_day_overwrites_never_duplicates(s3):
    # GIVEN a published report
    settings = Settings(reports_bucket="reports-test")
    s3.create_bucket(Bucket=settings.reports_bucket)
    first = publish_report(s3, settings, build_report(empty_tables(), AS_OF, 10), AS_OF)
    # WHEN the same day is published again with more data
    second = publish_report(s3, settings, build_report(sample_tables(), AS_OF, 10), AS_OF)
    # THEN the keys are the same, the object count unchanged, and the content is the new one
    assert first.keys == second.keys
    assert len(_objects(s3, "reports-test")) == 5
    manifest = json.loads(
        s3.get_object(Bucket="reports-test", Key=day_prefix(AS_OF) + "manifest.json")["Body"].read()
    )
    assert manifest["row_counts"]["guild_membership"] == 3


@pytest.fixture
def chalice_client(moto_aws, monkeypatch):
    """The app's test client with the report queries injected (moto runs no SQL)."""
    monkeypatch.setenv("GAMEPIPE_REPORTS_BUCKET", "gamepipe-reports")
    from chalice.test import Client

    from app import app  # environment set above, before the import
    from chalicelib import query

    calls: list[str] = []
    tables = {
        **sample_tables(),
        **{f"kpi/{n}": t for n, t in sample_kpis(AS_OF, 20, users=100, events=3000).items()},
    }

    def fake_run_query(name, params=None, *, settings, engine=None):
        calls.append(name)
        return tables[name]

    monkeypatch.setattr(query, "run_query", fake_run_query, raising=False)
    import app as app_module

    bucket = app_module.SETTINGS.reports_bucket
    boto3.client("s3", region_name="us-east-1").create_bucket(Bucket=bucket)
    with Client(app) as client:
        yield client, bucket, calls


def test_schedule_handler_writes_the_report_for_the_events_day(chalice_client):
    # GIVEN the app and an EventBridge scheduled event for 2026-11-28T00:15Z
    client, bucket, calls = chalice_client
    event = load_event("schedule/daily_report.json")
    # WHEN the daily_report handler is invoked
    response = client.lambda_.invoke("daily_report", event)
    # THEN the three report queries and the KPIs ran and the objects are under that day
    assert sorted(c for c in calls if not c.startswith("kpi/")) == [
        "guild_membership", "player_purchases", "player_standings",
    ]  # fmt: skip
    assert len([c for c in calls if c.startswith("kpi/")]) == len(KPI_FILES)
    s3 = boto3.client("s3", region_name="us-east-1")
    keys = sorted(_objects(s3, bucket))
    assert keys == [f"reports/dt=2026-11-28/{n}" for n in sorted(EXPECTED_NAMES + KPI_FILES)]
    assert response.payload["date"] == "2026-11-28"
    assert response.payload["row_counts"]["player_standings"] == 30
    html = s3.get_object(Bucket=bucket, Key="reports/dt=2026-11-28/index.html")["Body"].read()
    assert b"Player Standings Report as of November 28, 2026" in html


def test_on_demand_handler_takes_a_date_and_is_idempotent(chalice_client):
    # GIVEN the app
    client, bucket, _ = chalice_client
    s3 = boto3.client("s3", region_name="us-east-1")
    # WHEN report_now is invoked twice for the same date
    client.lambda_.invoke("report_now", {"date": "2026-01-05"})
    response = client.lambda_.invoke("report_now", {"date": "2026-01-05"})
    # THEN there is one set of objects for that day (the five reports', one CSV per KPI)
    assert response.payload["index_uri"] == f"s3://{bucket}/reports/dt=2026-01-05/index.html"
    assert len(_objects(s3, bucket)) == 5 + len(KPI_FILES)


def test_on_demand_with_no_events_publishes_a_no_events_report(chalice_client, monkeypatch):
    # GIVEN a lake with no events yet
    client, bucket, _ = chalice_client
    from chalicelib import query

    empty = {
        **empty_tables(),
        **{
            f"kpi/{n}": t.slice(0, 0)
            for n, t in sample_kpis(AS_OF, 5, users=20, events=300).items()
        },
    }
    monkeypatch.setattr(query, "run_query", lambda name, params=None, **kw: empty[name])
    # WHEN the on-demand report runs
    response = client.lambda_.invoke("report_now", {"date": "2026-01-06"})
    # THEN it succeeds and the page says there are no events yet
    assert response.payload["row_counts"] == {
        "player_standings": 0, "player_purchases": 0, "guild_membership": 0,
    }  # fmt: skip
    s3 = boto3.client("s3", region_name="us-east-1")
    html = s3.get_object(Bucket=bucket, Key="reports/dt=2026-01-06/index.html")["Body"].read()
    assert b"No events yet" in html


def test_on_demand_for_one_application_filters_every_query(chalice_client, monkeypatch):
    # GIVEN the app, its queries recorded with what they were bound to
    client, _, _ = chalice_client
    from chalicelib import query

    answer = query.run_query  # the fixture's fake tables
    bound: dict[str, dict] = {}

    def recording(name, params=None, **kw):
        bound[name] = dict(params or {})
        return answer(name, params, **kw)

    monkeypatch.setattr(query, "run_query", recording)
    # WHEN report_now runs for one application
    client.lambda_.invoke("report_now", {"date": "2026-11-28", "application_id": "game-7"})
    # THEN the three reports and every KPI were asked about that application only, the
    # KPIs over the dashboard's days up to the date
    assert {n for n in bound if n.startswith("kpi/")} == {k.name for k in KPIS}
    assert len(bound) == 3 + len(KPIS)
    assert all(p["application_id"] == "game-7" for p in bound.values())
    assert {p["end"] for n, p in bound.items() if n.startswith("kpi/")} == {"2026-11-28"}
