"""Compaction of dirty partitions (`compact_lake`, `gamepipe compact`) on moto S3."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from unittest import mock

import boto3
import pyarrow as pa
import pytest

from chalicelib import lake_state
from chalicelib.compaction import COMPACTED_NAME
from chalicelib.consumer import handle_kinesis_event
from chalicelib.glue_catalog import Catalog
from chalicelib.maintenance import compact_dirty, first_received
from chalicelib.settings import Settings
from chalicelib.tables import TABLES
from tests.helpers_consumer import kinesis_event, list_keys, ndjson, read_table

SETTINGS = Settings()
SCHEDULED = Path(__file__).parent.parent / "events" / "schedule" / "daily_report.json"
NOW = datetime(2026, 11, 28, 0, 15, tzinfo=UTC)  # the scheduled event's time


@pytest.fixture
def s3(moto_aws: None) -> Any:
    client = boto3.client("s3", region_name="us-east-1")
    client.create_bucket(Bucket=SETTINGS.data_bucket)
    return client


def _treasure(n: int, day: str, received: str | None = None) -> dict[str, Any]:
    return {
        "event_type": "find_treasure",
        "event_id": f"00000000-0000-4000-8000-{n:012d}",
        "userid": f"user-{n % 3}",
        "event_ts": f"{day}T10:00:00Z",
        "received_at": received or f"{day}T10:00:01Z",
    }


def _consume(s3: Any, batches: list[list[dict[str, Any]]], first: int = 0) -> None:
    catalog = Catalog(boto3.client("glue", region_name="us-east-1"), SETTINGS)
    for i, evs in enumerate(batches):
        event = kinesis_event([ndjson(*evs)], first=first + 10 * i)
        out = handle_kinesis_event(event, SETTINGS, s3=s3, catalog=catalog)
        assert out["batchItemFailures"] == []


def _ids(s3: Any, table: str) -> list[str]:
    return sorted(
        read_table(s3, SETTINGS.data_bucket, f"tables/{table}/").column("event_id").to_pylist()
    )


def test_first_received_copy_wins_then_the_earlier_dt() -> None:
    ts = pa.timestamp("us")
    copies = pa.table(
        {
            "event_id": ["a", "a", "b", "c", "c", "c"],
            "dt": ["2026-11-02", "2026-11-01", "2026-11-01",
                   "2026-11-03", "2026-11-01", "2026-11-03"],
            "received_at": pa.array(
                [datetime(2026, 11, 2, 1), datetime(2026, 11, 2, 2), datetime(2026, 11, 1),
                 datetime(2026, 11, 3, 5), datetime(2026, 11, 3, 5), datetime(2026, 11, 3, 5)], ts
            ),
        }
    )  # fmt: skip
    winners = first_received(copies).to_pylist()
    # a: the earlier received (another dt); b: one copy, no decision; c: a tie -> earlier dt
    assert [(w["event_id"], w["dt"]) for w in winners] == [("a", "2026-11-02"), ("c", "2026-11-01")]


def test_schedule_compacts_every_dirty_partition_today_and_late_ones_included(s3: Any) -> None:
    # GIVEN batches for today, yesterday (one resend) and a late event dated 20 days back
    _consume(
        s3,
        [
            [_treasure(1, "2026-11-27"), _treasure(2, "2026-11-27")],
            [_treasure(1, "2026-11-27"), _treasure(3, "2026-11-28"), _treasure(4, "2026-11-08")],
        ],
    )
    assert len(lake_state.read_markers(s3, SETTINGS.data_bucket)) == 2
    # WHEN the scheduled compaction runs through the Chalice app
    from chalice.test import Client

    from app import app

    with Client(app) as client:
        reply = client.lambda_.invoke("compact_lake", json.loads(SCHEDULED.read_text()))
    # THEN every dirty partition of every table is one file, the late and today's included
    for day in ("2026-11-08", "2026-11-27", "2026-11-28"):
        for table in ("events", "character_events"):
            prefix = f"tables/{table}/dt={day}/"
            assert list_keys(s3, SETTINGS.data_bucket, prefix) == [prefix + COMPACTED_NAME]
    # AND each event_id is there once (the resend dropped in both tables), markers cleared
    assert reply.payload["rows_out"] == 8 and reply.payload["duplicates_dropped"] == 2
    assert lake_state.read_markers(s3, SETTINGS.data_bucket) == []
    for table in ("events", "character_events"):
        ids = _ids(s3, table)
        assert len(ids) == len(set(ids)) == 4


def test_resend_with_another_event_ts_counts_once_the_first_received_wins(s3: Any) -> None:
    # GIVEN an event, compacted, then resent a minute later with event_ts moved a day
    _consume(s3, [[_treasure(1, "2026-11-27", "2026-11-27T10:00:01Z"), _treasure(2, "2026-11-27")]])
    compact_dirty(s3, SETTINGS, now=NOW)
    resent = _treasure(1, "2026-11-26", "2026-11-27T10:01:00Z")
    _consume(s3, [[resent, _treasure(3, "2026-11-26")]], first=100)
    # WHEN compaction runs
    run = compact_dirty(s3, SETTINGS, now=NOW)
    # THEN the resend (received later, another dt) is dropped from every table
    for table in ("events", "character_events"):
        ids = _ids(s3, table)
        assert ids.count("00000000-0000-4000-8000-000000000001") == 1
        assert len(ids) == len(set(ids)) == 3
    kept = read_table(s3, SETTINGS.data_bucket, "tables/events/dt=2026-11-26/")
    assert kept.column("event_id").to_pylist() == ["00000000-0000-4000-8000-000000000003"]
    assert run.summary()["markers_cleared"] == 1


def test_an_earlier_copy_replayed_later_displaces_the_compacted_one(s3: Any) -> None:
    # GIVEN a copy received at 10:05 already compacted on 2026-11-27
    _consume(s3, [[_treasure(1, "2026-11-27", "2026-11-27T10:05:00Z"), _treasure(2, "2026-11-27")]])
    compact_dirty(s3, SETTINGS, now=NOW)
    # WHEN a failed batch is replayed with the copy received first (10:00, event_ts a day earlier)
    _consume(s3, [[_treasure(1, "2026-11-26", "2026-11-27T10:00:00Z")]], first=100)
    run = compact_dirty(s3, SETTINGS, now=NOW)
    # THEN the first-received copy stays (dt 2026-11-26) and the compacted one is removed
    assert run.cross_partition_losers == 1
    day27 = read_table(s3, SETTINGS.data_bucket, "tables/character_events/dt=2026-11-27/")
    assert day27.column("event_id").to_pylist() == ["00000000-0000-4000-8000-000000000002"]
    for table in ("events", "character_events"):
        ids = _ids(s3, table)
        assert len(ids) == len(set(ids)) == 2


def test_a_batch_landing_during_compaction_keeps_its_partition_dirty(s3: Any) -> None:
    # GIVEN one dirty partition
    _consume(s3, [[_treasure(1, "2026-11-27")]])
    real_read = lake_state.read_markers

    def read_then_batch_lands(client: Any, bucket: str) -> list[lake_state.Marker]:
        markers = real_read(client, bucket)
        _consume(s3, [[_treasure(2, "2026-11-27")]], first=500)  # lands after the listing
        return markers

    # WHEN a batch lands after compaction listed the markers
    with mock.patch.object(lake_state, "read_markers", read_then_batch_lands):
        compact_dirty(s3, SETTINGS, now=NOW)
    # THEN its marker survives (the partition is compacted again next run), none lost
    assert len(lake_state.read_markers(s3, SETTINGS.data_bucket)) == 1
    compact_dirty(s3, SETTINGS, now=NOW)
    assert lake_state.read_markers(s3, SETTINGS.data_bucket) == []
    assert _ids(s3, "events") == [
        "00000000-0000-4000-8000-000000000001", "00000000-0000-4000-8000-000000000002"
    ]  # fmt: skip
    prefix = "tables/events/dt=2026-11-27/"
    assert list_keys(s3, SETTINGS.data_bucket, prefix) == [prefix + COMPACTED_NAME]


def test_compact_cli_without_arguments_compacts_every_dirty_partition(s3: Any) -> None:
    # GIVEN two dirty days
    _consume(s3, [[_treasure(1, "2026-11-27"), _treasure(2, "2026-11-28")]])
    from click.testing import CliRunner

    from gamepipe.cli import main

    # WHEN `gamepipe compact` runs with no arguments
    result = CliRunner().invoke(main, ["compact"])
    # THEN both days of both tables were compacted and the summary says so
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output.splitlines()[-1])["summary"]
    assert summary["partitions_compacted"] == 4 and summary["markers_cleared"] == 1
    assert set(TABLES) >= {"events", "character_events"}
