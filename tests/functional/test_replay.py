"""Replaying failed batches and dead letters through the consumer (moto S3 + Glue)."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from click.testing import CliRunner

from chalicelib.glue_catalog import Catalog
from chalicelib.settings import Settings
from gamepipe.replay import receipt_key, replay_deadletters, replay_failed
from tests.helpers_consumer import kinesis_event, list_keys, ndjson, read_table

SETTINGS = Settings()
BUCKET = SETTINGS.data_bucket
FAILED_KEY = "aws/lambda/3f1c/shardId-000000000000/2026/11/27/2026-11-27T10.00.00-abc"


@pytest.fixture
def lake(moto_aws: None) -> tuple[Any, Catalog]:
    s3 = boto3.client("s3", region_name="us-east-1")
    s3.create_bucket(Bucket=BUCKET)
    return s3, Catalog(boto3.client("glue", region_name="us-east-1"), SETTINGS)


def _event(n: int, **extra: Any) -> dict[str, Any]:
    return {
        "event_type": "find_treasure",
        "event_id": f"00000000-0000-4000-8000-{n:012d}",
        "userid": "user-1",
        "event_ts": "2026-11-27T10:00:00Z",
        "received_at": "2026-11-27T10:00:01Z",
        **extra,
    }


def _store_failed_batch(s3: Any) -> None:
    event = kinesis_event([ndjson(_event(1), _event(2)), ndjson(_event(3))], first=40)
    record = {
        "requestContext": {"condition": "RetryAttemptsExhausted", "approximateInvokeCount": 4},
        "responseContext": {"statusCode": 200, "functionError": "Unhandled"},
        "version": "1.0",
        "timestamp": "2026-11-27T10:00:00.000Z",
        "KinesisBatchInfo": {"shardId": "shardId-000000000000", "batchSize": 2},
        "payload": json.dumps(event),  # Lambda's S3 destination: the whole event, as text
    }
    s3.put_object(Bucket=BUCKET, Key=FAILED_KEY, Body=json.dumps(record).encode())


def _tables(s3: Any) -> dict[str, str]:
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix="tables/")
    return {o["Key"]: o["ETag"] for p in pages for o in p.get("Contents", [])}


def test_failed_batch_is_replayed_once_through_the_consumer(lake: tuple[Any, Catalog]) -> None:
    s3, catalog = lake
    # GIVEN a batch stored by the on-failure destination
    _store_failed_batch(s3)
    # WHEN replayed
    first = replay_failed(s3, SETTINGS, catalog)
    # THEN its events are in the lake under the keys the failed invocation would have used
    assert (first.found, first.replayed, first.records, first.events_in) == (1, 1, 2, 3)
    rows = read_table(s3, BUCKET, "tables/events/").column("event_id").to_pylist()
    assert sorted(rows) == [_event(n)["event_id"] for n in (1, 2, 3)]
    assert any(
        k.endswith("shardId-000000000000-" + "4959" + f"{40:052d}.parquet") for k in _tables(s3)
    )
    # AND a receipt says it was replayed, so a second run changes nothing
    assert list_keys(s3, BUCKET, receipt_key(FAILED_KEY)) == [receipt_key(FAILED_KEY)]
    before = _tables(s3)
    again = replay_failed(s3, SETTINGS, catalog)
    assert (again.found, again.skipped, again.replayed) == (1, 1, 0)
    assert _tables(s3) == before
    # AND even forced, the same keys get the same rows (no new object, no new row)
    forced = replay_failed(s3, SETTINGS, catalog, force=True)
    assert forced.replayed == 1 and set(_tables(s3)) == set(before)
    assert len(read_table(s3, BUCKET, "tables/events/")) == 3


def test_dead_letters_that_pass_today_are_reingested_the_rest_stay(
    lake: tuple[Any, Catalog],
) -> None:
    s3, catalog = lake
    # GIVEN a dead-letter file: one line today's contract accepts, one it still rejects
    key = "deadletter/dt=2026-11-27/shardId-000000000000-1.ndjson"
    good = {"reason": "Expected `str` - at `$.guild`", "data": json.dumps(_event(7))}
    bad = {"reason": "malformed JSON: x", "data": "{not json", "data_encoding": "text"}
    for item in (good, bad):
        item.update(shard_id="shardId-000000000000", sequence_number="1", line=0)
    s3.put_object(
        Bucket=BUCKET, Key=key, Body=b"\n".join(json.dumps(i).encode() for i in (good, bad))
    )
    # WHEN replayed with a reason filter that matches neither THEN nothing moves
    none = replay_deadletters(s3, SETTINGS, catalog, reason="no such reason")
    assert none.lines_valid_now == 0 and list_keys(s3, BUCKET, "tables/") == []
    # WHEN replayed (CLI, no filter)
    from gamepipe.cli import main

    out = CliRunner().invoke(main, ["replay", "deadletter"])
    assert out.exit_code == 0, out.output
    summary = json.loads(out.output.strip().splitlines()[-1])
    # THEN the good line is in the lake, the bad one still in its dead-letter file
    assert summary["lines_valid_now"] == 1 and summary["still_invalid"] == {"malformed JSON": 1}
    ids = read_table(s3, BUCKET, "tables/events/").column("event_id").to_pylist()
    assert ids == [_event(7)["event_id"]]
    left = s3.get_object(Bucket=BUCKET, Key=key)["Body"].read().splitlines()
    assert [json.loads(x)["reason"] for x in left] == ["malformed JSON: x"]
    # AND a second run re-ingests nothing
    again = replay_deadletters(s3, SETTINGS, catalog)
    assert again.lines_valid_now == 0 and len(read_table(s3, BUCKET, "tables/events/")) == 1
