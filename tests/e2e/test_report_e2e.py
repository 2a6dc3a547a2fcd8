"""A seeded run through the real pipeline pieces and the real local query engine.

Events (``tests.helpers_sql.make_events``, with resends and contract-breaking events) are
encoded as the API writes them (``chalicelib.ingest.encode_records``), delivered as Lambda
Kinesis events to the real consumer (``chalicelib.consumer.handle_kinesis_event``), which
writes Parquet to a moto SERVER's S3 and registers Glue partitions; the report then runs
the three report SQL files through the local engine (DuckDB + sqlglot reading S3 over
HTTP) and publishes. Each CSV must equal ``gamepipe.oracle.compute_reports``.
"""

from __future__ import annotations

import csv
import io
import json
import uuid
from datetime import date
from typing import Any

import boto3
import pytest

from chalicelib import query
from chalicelib.glue_catalog import ensure_catalog
from chalicelib.reports import generate_report
from chalicelib.settings import Settings
from gamepipe.oracle import compute_reports
from tests.helpers_sql import load_report_lake, moto_server_env

pytestmark = pytest.mark.e2e
AS_OF = date(2026, 11, 27)
REPORTS = ("player_standings", "player_purchases", "guild_membership")


@pytest.fixture
def seeded_stack():
    """A moto server holding a consumed seeded run; settings unique to this test."""
    with moto_server_env():
        # A unique database keeps the process-wide query engine cache (keyed by settings)
        # from handing this test an engine bound to another test's server.
        settings = Settings(
            glue_database=f"report_e2e_{uuid.uuid4().hex[:8]}",
            data_bucket="e2e-data",
            reports_bucket="e2e-reports",
            report_top_n=10,
            query_engine="local",
        )
        events = load_report_lake(settings)
        try:
            yield settings, events
        finally:
            query.engine_for(settings).close()


def _csv_rows(body: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(body.decode("utf-8"))))


def _as_csv_strings(rows: list[dict[str, Any]]) -> list[dict[str, str]]:
    return [{k: "" if v is None else str(v) for k, v in r.items()} for r in rows]


def test_report_csvs_equal_the_oracle_for_a_seeded_run(seeded_stack):
    # GIVEN a seeded run consumed into the lake (resends and bad events included)
    settings, events = seeded_stack
    expected = compute_reports(events)
    assert all(expected[name] for name in REPORTS)  # the seed exercises every report
    # WHEN the report runs on the configured (local) engine and publishes
    files, result = generate_report(settings, AS_OF)
    # THEN every published CSV equals the oracle's report, row for row, in order
    s3 = boto3.client("s3")
    for name in REPORTS:
        body = s3.get_object(Bucket=settings.reports_bucket, Key=f"{result.prefix}{name}.csv")
        assert _csv_rows(body["Body"].read()) == _as_csv_strings(expected[name]), name
    # AND the manifest and the page agree with those counts
    manifest = json.loads(files.get("manifest.json"))
    assert manifest["row_counts"] == {name: len(expected[name]) for name in REPORTS}
    assert manifest["engine"] == "local"
    html = files.get("index.html").decode()
    top = expected["player_standings"][0]["userid"]
    assert f">{top}<" in html
    assert "Player Standings Report as of November 27, 2026" in html


def test_report_on_an_empty_lake_says_no_events(seeded_stack):
    # GIVEN a catalog with tables but no partitions (a fresh stack: no events yet)
    settings, _ = seeded_stack
    empty = Settings(
        glue_database=f"report_empty_{uuid.uuid4().hex[:8]}",
        data_bucket=settings.data_bucket,
        data_prefix="nothing-here",
        reports_bucket=settings.reports_bucket,
    )
    ensure_catalog(boto3.client("glue"), empty)
    try:
        # WHEN the report runs through the real engine
        files, _ = generate_report(empty, AS_OF)
    finally:
        query.engine_for(empty).close()
    # THEN it is a valid, empty report rather than an error
    assert files.row_counts == dict.fromkeys(REPORTS, 0)
    assert b"No events yet" in files.get("index.html")
