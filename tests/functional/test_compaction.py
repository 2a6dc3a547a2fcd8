"""Compaction against moto S3: one sorted file per partition, duplicates dropped."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from click.testing import CliRunner

from chalicelib.compaction import COMPACTED_NAME, compact_partition
from chalicelib.consumer import handle_kinesis_event
from chalicelib.glue_catalog import Catalog
from chalicelib.settings import Settings
from tests.helpers_consumer import kinesis_event, list_keys, ndjson, read_table

SETTINGS = Settings()
BUCKET = SETTINGS.data_bucket
PREFIX = "tables/events/dt=2021-08-06/"


@pytest.fixture
def s3(moto_aws: None) -> Any:
    client = boto3.client("s3", region_name="us-east-1")
    client.create_bucket(Bucket=BUCKET)
    return client


def _event(n: int, user: str, hour: int, received: str) -> dict[str, Any]:
    return {
        "event_type": "find_treasure",
        "event_id": f"00000000-0000-4000-8000-{n:012d}",
        "userid": user,
        "event_ts": f"2021-08-06T{hour:02d}:00:00Z",
        "received_at": received,
        "description": f"copy received {received}",
    }


def _consume_three_batches(s3: Any) -> None:
    catalog = Catalog(boto3.client("glue", region_name="us-east-1"), SETTINGS)
    early, late = "2021-08-06T12:00:00Z", "2021-08-06T13:00:00Z"
    batches = [
        [_event(1, "user-b", 10, late), _event(2, "user-a", 11, late)],
        # a client resend of event 1, received earlier by another API instance
        [_event(1, "user-b", 10, early), _event(3, "user-a", 9, late)],
        [_event(4, "user-c", 8, late)],
    ]  # fmt: skip
    for i, evs in enumerate(batches):
        event = kinesis_event([ndjson(*evs)], first=10 * i)
        assert (
            handle_kinesis_event(event, SETTINGS, s3=s3, catalog=catalog)["batchItemFailures"] == []
        )


def test_partition_compacted_into_one_sorted_deduplicated_file(s3: Any) -> None:
    # GIVEN a partition with three batch files and one event_id stored twice
    _consume_three_batches(s3)
    assert len(list_keys(s3, BUCKET, PREFIX)) == 3
    # WHEN compacted
    result, _ = compact_partition(s3, SETTINGS, "events", "2021-08-06")
    # THEN one file remains, with each event once (the earliest received copy)
    assert list_keys(s3, BUCKET, PREFIX) == [PREFIX + COMPACTED_NAME]
    assert (result.files_in, result.rows_in, result.rows_out) == (3, 5, 4)
    rows = read_table(s3, BUCKET, PREFIX).to_pylist()
    dup = [r for r in rows if r["event_id"].endswith("1")]
    assert [str(r["received_at"]) for r in dup] == ["2021-08-06 12:00:00"]
    # AND rows are sorted by (userid, event_ts)
    assert [(r["userid"], r["event_ts"].hour) for r in rows] == [
        ("user-a", 9), ("user-a", 11), ("user-b", 10), ("user-c", 8)
    ]  # fmt: skip


def test_seed_table_rows_are_flagged_compacted_and_batch_files_are_not(s3: Any) -> None:
    # GIVEN consumed batches: the seed table's batch files have no `compacted` column
    _consume_three_batches(s3)
    prefix = "tables/character_events/dt=2021-08-06/"
    batch_files = list_keys(s3, BUCKET, prefix)
    assert len(batch_files) == 3
    assert "compacted" not in read_table(s3, BUCKET, prefix).column_names
    # WHEN the seed table's partition and the events partition are compacted
    compact_partition(s3, SETTINGS, "character_events", "2021-08-06")
    compact_partition(s3, SETTINGS, "events", "2021-08-06")
    # THEN every merged seed-table row says compacted = true, as the last column
    merged = read_table(s3, BUCKET, prefix)
    assert merged.column_names[-2:] == ["compacted", "dt"]  # read_table appends dt
    assert merged.column("compacted").to_pylist() == [True] * 4
    # AND the raw events table keeps its columns (no merge-on-read there)
    assert "compacted" not in read_table(s3, BUCKET, PREFIX).column_names
    # AND compacting again (the flagged file as an input) keeps one flag column
    late = [_event(5, "user-d", 7, "2021-08-06T14:00:00Z")]
    catalog = Catalog(boto3.client("glue", region_name="us-east-1"), SETTINGS)
    handle_kinesis_event(kinesis_event([ndjson(*late)], first=99), SETTINGS, s3=s3, catalog=catalog)
    compact_partition(s3, SETTINGS, "character_events", "2021-08-06")
    again = read_table(s3, BUCKET, prefix)
    assert again.column("compacted").to_pylist() == [True] * 5


def test_compaction_is_rerunnable_and_merges_new_files(s3: Any) -> None:
    # GIVEN a compacted partition
    _consume_three_batches(s3)
    compact_partition(s3, SETTINGS, "events", "2021-08-06")
    # WHEN compacted again with nothing new
    again, _ = compact_partition(s3, SETTINGS, "events", "2021-08-06")
    # THEN nothing is done
    assert again.key is None and again.files_in == 1
    # WHEN a late batch lands (a redelivery of event 4 plus a new event) and it runs again
    catalog = Catalog(boto3.client("glue", region_name="us-east-1"), SETTINGS)
    late = [_event(4, "user-c", 8, "2021-08-06T14:00:00Z"),
            _event(5, "user-d", 7, "2021-08-06T14:00:00Z")]  # fmt: skip
    handle_kinesis_event(kinesis_event([ndjson(*late)], first=99), SETTINGS, s3=s3, catalog=catalog)
    result, _ = compact_partition(s3, SETTINGS, "events", "2021-08-06")
    # THEN the compacted file absorbs it, still one row per event
    assert (result.files_in, result.rows_out) == (2, 5)
    ids = read_table(s3, BUCKET, PREFIX).column("event_id").to_pylist()
    assert len(ids) == len(set(ids)) == 5


def test_compact_cli_reports_each_partition(s3: Any) -> None:
    # GIVEN consumed batches
    _consume_three_batches(s3)
    from gamepipe.cli import main

    # WHEN `gamepipe compact --table events --dt 2021-08-06` runs
    result = CliRunner().invoke(main, ["compact", "--table", "events", "--dt", "2021-08-06"])
    # THEN it prints one JSON line for the partition and a summary, and compacted it
    assert result.exit_code == 0, result.output
    line, summary = [json.loads(x) for x in result.output.splitlines()]
    assert line["table"] == "events" and line["duplicates_dropped"] == 1
    assert summary["summary"]["partitions_compacted"] == 1
    assert list_keys(s3, BUCKET, PREFIX) == [PREFIX + COMPACTED_NAME]


def test_compact_cli_defaults_to_every_dirty_partition(s3: Any) -> None:
    # GIVEN consumed batches on a past day
    _consume_three_batches(s3)
    from gamepipe.cli import main

    # WHEN `gamepipe compact` runs with no options
    result = CliRunner().invoke(main, ["compact"])
    # THEN the dirty partitions of the tables that have data are compacted
    assert result.exit_code == 0, result.output
    lines = [json.loads(x) for x in result.output.splitlines()]
    assert sorted(x["table"] for x in lines[:-1]) == ["character_events", "events"]
    assert lines[-1]["summary"]["partitions_compacted"] == 2


def test_files_written_before_application_id_existed_compact_with_it_as_null(s3: Any) -> None:
    # GIVEN a day with a batch file written before the application_id column existed, and a
    # newer batch whose events the API stamped with an application
    import io

    import pyarrow.parquet as pq

    from chalicelib.consumer.columns import arrow_schema
    from chalicelib.tables import TABLES

    _consume_three_batches(s3)
    newer = {**_event(9, "user-d", 7, "2021-08-06T14:00:00Z"), "application_id": "game-1"}
    catalog = Catalog(boto3.client("glue", region_name="us-east-1"), SETTINGS)
    handle_kinesis_event(kinesis_event([ndjson(newer)], first=90), SETTINGS, s3=s3,
                         catalog=catalog)  # fmt: skip
    old_key = next(k for k in list_keys(s3, BUCKET, PREFIX) if k.endswith(".parquet"))
    body = s3.get_object(Bucket=BUCKET, Key=old_key)["Body"].read()
    older = pq.read_table(io.BytesIO(body)).drop_columns(["application_id"])
    sink = io.BytesIO()
    pq.write_table(older, sink)
    s3.put_object(Bucket=BUCKET, Key=old_key, Body=sink.getvalue())
    # WHEN the day is compacted
    result, _ = compact_partition(s3, SETTINGS, "events", "2021-08-06")
    # THEN the merged file has the column: the old rows NULL, the new row its application
    table = read_table(s3, BUCKET, PREFIX).drop_columns(["dt"])
    assert result.key is not None and table.schema == arrow_schema(TABLES["events"])
    ids, apps_column = table.column("event_id"), table.column("application_id")
    apps = dict(zip(ids.to_pylist(), apps_column.to_pylist(), strict=True))
    assert apps[newer["event_id"]] == "game-1"
    assert None in apps.values()
