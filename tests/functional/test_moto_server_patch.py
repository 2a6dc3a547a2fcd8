"""The embedded target's moto fix: concurrent PutRecords lose nothing (moto's own shard can)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import boto3
import pytest
from moto.kinesis import models

from gamepipe.stack import moto_server


def test_concurrent_put_records_all_land_in_order(
    moto_aws: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN the patched shard (as `python -m gamepipe.stack.moto_server` runs it)
    monkeypatch.setattr(models.Shard, "put_record", moto_server._safe_put_record)
    monkeypatch.setattr(models.Shard, "get_max_sequence_number", moto_server._last_sequence_number)
    kinesis = boto3.client("kinesis", region_name="us-east-1")
    kinesis.create_stream(StreamName="s", ShardCount=1)

    # WHEN 8 threads put 100 records each at the same time
    def put(worker: int) -> None:
        for i in range(100):
            kinesis.put_record(StreamName="s", Data=f"{worker}-{i}".encode(), PartitionKey="p")

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(put, range(8)))

    # THEN all 800 are in the shard, numbered 1..800 without a gap or a repeat
    shard = kinesis.list_shards(StreamName="s")["Shards"][0]["ShardId"]
    it = kinesis.get_shard_iterator(
        StreamName="s", ShardId=shard, ShardIteratorType="TRIM_HORIZON"
    )["ShardIterator"]
    records = kinesis.get_records(ShardIterator=it, Limit=10_000)["Records"]
    assert sorted(r["Data"].decode() for r in records) == sorted(
        f"{w}-{i}" for w in range(8) for i in range(100)
    )
    assert [int(r["SequenceNumber"]) for r in records] == list(range(1, 801))
