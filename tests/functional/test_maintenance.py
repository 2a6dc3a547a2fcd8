"""Scheduled compaction (`compact_lake`) through the Chalice test client, on moto S3."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import boto3
import pytest

from chalicelib.compaction import COMPACTED_NAME
from chalicelib.consumer import handle_kinesis_event
from chalicelib.glue_catalog import Catalog
from chalicelib.maintenance import closed_days
from chalicelib.settings import Settings
from tests.helpers_consumer import kinesis_event, list_keys, ndjson

SETTINGS = Settings()
SCHEDULED = Path(__file__).parent.parent / "events" / "schedule" / "daily_report.json"


@pytest.fixture
def s3(moto_aws: None) -> Any:
    client = boto3.client("s3", region_name="us-east-1")
    client.create_bucket(Bucket=SETTINGS.data_bucket)
    return client


def _treasure(n: int, day: str) -> dict[str, Any]:
    return {
        "event_type": "find_treasure",
        "event_id": f"00000000-0000-4000-8000-{n:012d}",
        "userid": f"user-{n % 3}",
        "event_ts": f"{day}T10:00:00Z",
        "received_at": f"{day}T10:00:01Z",
    }


def test_closed_days_are_the_days_before_today() -> None:
    assert closed_days(date(2026, 11, 28), 2) == ["2026-11-26", "2026-11-27"]


def test_compact_lake_schedule_merges_closed_days_only(s3: Any) -> None:
    # GIVEN two batches for yesterday (one event resent) and one for today
    catalog = Catalog(boto3.client("glue", region_name="us-east-1"), SETTINGS)
    batches = [
        [_treasure(1, "2026-11-27"), _treasure(2, "2026-11-27")],
        [_treasure(1, "2026-11-27"), _treasure(3, "2026-11-27"), _treasure(4, "2026-11-28")],
    ]
    for i, evs in enumerate(batches):
        out = handle_kinesis_event(
            kinesis_event([ndjson(*evs)], first=10 * i), SETTINGS, s3=s3, catalog=catalog
        )
        assert out["batchItemFailures"] == []
    yesterday = "tables/character_events/dt=2026-11-27/"
    today = "tables/character_events/dt=2026-11-28/"
    assert len(list_keys(s3, SETTINGS.data_bucket, yesterday)) == 2
    # WHEN the scheduled compaction runs at 2026-11-28T00:15Z through the Chalice app
    from chalice.test import Client

    from app import app

    with Client(app) as client:
        reply = client.lambda_.invoke("compact_lake", json.loads(SCHEDULED.read_text()))
    # THEN yesterday's partitions are one file each, with the resend dropped once per table
    assert list_keys(s3, SETTINGS.data_bucket, yesterday) == [yesterday + COMPACTED_NAME]
    assert reply.payload["days"] == ["2026-11-26", "2026-11-27"]
    # (events 1, 2, 3 in both `events` and `character_events`; the cross-batch resend of
    # event 1 dropped from each)
    assert reply.payload["rows_out"] == 6
    assert reply.payload["duplicates_dropped"] == 2
    # AND today's partition, still being written, is left alone
    assert list_keys(s3, SETTINGS.data_bucket, today) != [today + COMPACTED_NAME]
