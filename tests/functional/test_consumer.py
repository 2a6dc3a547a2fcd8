"""The Kinesis consumer against moto S3 + Glue: routing, types, dead letters, idempotency,
partial batch failures."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Any

import boto3
import pyarrow as pa
import pytest
from botocore.exceptions import ClientError

from chalicelib.consumer import handle_kinesis_event
from chalicelib.consumer.columns import arrow_schema
from chalicelib.glue_catalog import Catalog
from chalicelib.settings import Settings
from chalicelib.tables import TABLES
from tests.helpers_consumer import (
    batch_summary,
    kinesis_event,
    list_keys,
    load_event,
    ndjson,
    read_deadletters,
    read_table,
    renumber,
    sequence,
)

SETTINGS = Settings()
BUCKET = SETTINGS.data_bucket


@dataclass
class Lake:
    s3: Any
    glue: Any
    catalog: Catalog

    def table(self, name: str) -> pa.Table:
        return read_table(self.s3, BUCKET, f"{SETTINGS.data_prefix}/{name}/")

    def deadletters(self) -> list[dict[str, Any]]:
        return read_deadletters(self.s3, BUCKET, f"{SETTINGS.deadletter_prefix}/")

    def consume(self, event: dict[str, Any], s3: Any = None) -> dict[str, Any]:
        return handle_kinesis_event(event, SETTINGS, s3=s3 or self.s3, catalog=self.catalog)


@pytest.fixture
def lake(moto_aws: None) -> Lake:
    s3 = boto3.client("s3", region_name="us-east-1")
    glue = boto3.client("glue", region_name="us-east-1")
    s3.create_bucket(Bucket=BUCKET)
    return Lake(s3, glue, Catalog(glue, SETTINGS))


def _event(**kw: Any) -> dict[str, Any]:
    # received_at as the API stamps it: the event-time window is measured from it
    base = {"userid": "user-0001", "event_ts": "2021-08-06T10:00:00Z", "description": "d",
            "received_at": "2021-08-06T10:00:01Z"}  # fmt: skip
    return {**base, **kw}


def _all_types(n: int) -> list[dict[str, Any]]:
    """One event of every type (two enemy attacks: with and without stats), ids 0..n."""
    stats = {"level": 3, "attack": 4, "defense": 5, "health": 6}
    evs = [
        _event(event_type="purchase_sword", amount_purchased=1, price=10),
        _event(event_type="purchase_shield", amount_purchased=2, price=20),
        _event(event_type="purchase_potion", amount_purchased=3, price=30),
        _event(event_type="join_guild", guild_name="Knights"),
        _event(event_type="find_treasure"),
        _event(event_type="enemy_attack"),
        _event(event_type="enemy_attack", **stats),
        _event(event_type="defeat_enemy"),
        _event(event_type="take_potion", **stats),
        _event(event_type="level_up", **stats),
    ]
    for i, e in enumerate(evs):
        e["event_id"] = f"00000000-0000-4000-8000-{n + i:012d}"
    return evs


def test_each_event_type_lands_in_its_tables_with_glue_types(lake: Lake) -> None:
    # GIVEN a chalice-generated Kinesis batch: single-event and multi-event records
    from chalice.test import Client

    import app as app_module

    # app.py read its settings when first imported (maybe by another test): use those.
    settings = app_module.SETTINGS
    if settings.data_bucket != BUCKET:
        lake.s3.create_bucket(Bucket=settings.data_bucket)
    evs = _all_types(0)
    bodies = [ndjson(evs[0]), ndjson(*evs[1:6]), ndjson(*evs[6:])]
    with Client(app_module.app) as client:
        event = renumber(client.events.generate_kinesis_event(bodies))
        # WHEN the app's consume_events handler runs on it (default clients, under moto)
        resp = client.lambda_.invoke("consume_events", event)
    # THEN nothing failed and every event is where the routing says
    assert resp.payload == {"batchItemFailures": []}

    def table(name: str) -> pa.Table:
        return read_table(lake.s3, settings.data_bucket, f"{settings.data_prefix}/{name}/")

    by_table = {name: sorted(table(name).column("event_type").to_pylist()) for name in TABLES}
    assert by_table["purchase_events"] == ["purchase_potion", "purchase_shield", "purchase_sword"]
    assert by_table["character_events"] == ["defeat_enemy", "enemy_attack", "enemy_attack",
                                            "find_treasure"]  # fmt: skip
    assert by_table["character_stats"] == ["enemy_attack", "level_up", "take_potion"]
    assert by_table["guild_events"] == ["join_guild"]
    assert len(by_table["events"]) == 10
    # AND the Parquet types are the Glue types of chalicelib/tables.py
    for name, spec in TABLES.items():
        assert table(name).drop_columns(["dt"]).schema == arrow_schema(spec), name
    # AND every partition written is registered in Glue
    for name in TABLES:
        parts = lake.glue.get_partitions(DatabaseName=settings.glue_database, TableName=name)
        assert [p["Values"] for p in parts["Partitions"]] == [["2021-08-06"]]


def test_stored_event_fixture_rows_have_values_and_utc_partitions(lake: Lake) -> None:
    # GIVEN the stored mixed batch (single + multi-event records, a duplicate, an offset
    # timestamp that crosses midnight UTC, an event with no id and no server fields)
    event = load_event("mixed_batch")
    # WHEN consumed
    assert lake.consume(event) == {"batchItemFailures": []}
    # THEN the purchase row has the typed values of the event
    purchases = {r["event_type"]: r for r in lake.table("purchase_events").to_pylist()}
    sword = purchases["purchase_sword"]
    assert sword["amount_purchased"] == 6 and sword["price"] == 100
    assert sword["item_type"] == "sword" and sword["host"] == "api.gamepipe.example"
    assert str(sword["event_ts"]) == "2021-08-06 03:08:55.631000" and sword["dt"] == "2021-08-06"
    # AND -02:00 at 23:30 is stored as 01:30 UTC in the next day's partition
    stats = lake.table("character_stats").to_pylist()
    late = [r for r in stats if r["event_id"].endswith("0000000000aa")]
    assert [(str(r["event_ts"]), r["dt"]) for r in late] == [("2021-08-07 01:30:00", "2021-08-07")]
    # AND the repeated sword event (same event_id) is stored once
    events = lake.table("events")
    ids = events.column("event_id").to_pylist()
    assert len(ids) == len(set(ids)) == 14
    # AND the payload is the line as received, unknown fields included
    payloads = [json.loads(p) for p in events.column("payload").to_pylist()]
    assert any(p.get("boss") == {"name": "dragon", "hp": 9000} for p in payloads)
    # AND an event sent without server time gets the Kinesis arrival time
    minimal = [r for r in events.to_pylist() if r["userid"] == "user-0001"]
    assert str(minimal[0]["received_at"]) == "2021-08-06 04:08:55.500000"


def test_session_id_and_platform_land_in_events(lake: Lake) -> None:
    # GIVEN events with a session id and a platform, one with neither (both optional)
    evs = _all_types(100)[:3]
    evs[0].update(session_id="s-1", platform="ios")
    evs[1].update(session_id="s-1", platform="android")
    # WHEN consumed
    assert lake.consume(kinesis_event([ndjson(*evs)])) == {"batchItemFailures": []}
    # THEN the events table carries them as columns, NULL where the event had none, and
    # the tables without the columns are unchanged
    rows = {r["event_id"]: r for r in lake.table("events").to_pylist()}
    got = [(rows[e["event_id"]]["session_id"], rows[e["event_id"]]["platform"]) for e in evs]
    assert got == [("s-1", "ios"), ("s-1", "android"), (None, None)]
    assert "session_id" not in lake.table("purchase_events").column_names


def test_bad_events_go_to_dead_letters_with_reason_and_origin(lake: Lake, capsys: Any) -> None:
    # GIVEN a batch with malformed JSON, contract violations, non-UTF-8 bytes, bad base64
    event = load_event("bad_batch")
    # WHEN consumed
    resp = lake.consume(event)
    # THEN bad data does not fail the batch
    assert resp == {"batchItemFailures": []}
    dead = lake.deadletters()
    reasons = [d["reason"] for d in dead]
    assert len(dead) == 5
    assert reasons[0].startswith("malformed JSON")
    assert "userid" in reasons[1]  # quoted userid breaks the contract's pattern
    assert reasons[2].startswith("not valid UTF-8")
    assert "base64" in reasons[3]
    assert "enemy_attack stats" in reasons[4]
    # AND each keeps its original bytes and where it came from
    assert dead[0]["data"] == "this is not json" and dead[0]["line"] == 0
    utf8 = dead[2]
    assert utf8["data_encoding"] == "base64" and b"\xff" in base64.b64decode(utf8["data"])
    assert dead[1]["sequence_number"] == sequence(201) and dead[1]["shard_id"].startswith("shardId")
    # AND stored under the received date (UTC), in one file for the batch
    keys = list_keys(lake.s3, BUCKET, SETTINGS.deadletter_prefix)
    assert keys == [f"deadletter/dt=2021-08-06/shardId-000000000001-{sequence(200)}.ndjson"]
    # AND events in = rows in `events` + dead-lettered + duplicates (summary log line)
    summary = batch_summary(capsys.readouterr().out)
    rows = lake.table("events").num_rows
    assert rows == 2
    assert summary["events_in"] == rows + summary["dead_lettered"] + summary["duplicates_dropped"]
    assert summary["rows"]["events"] == rows and summary["dead_lettered"] == 5


def test_same_batch_delivered_twice_gives_the_same_rows(lake: Lake) -> None:
    # GIVEN a batch already consumed once
    event = load_event("mixed_batch")
    lake.consume(event)
    first = {name: lake.table(name).sort_by("event_id") for name in TABLES}
    keys = list_keys(lake.s3, BUCKET, "tables/")
    # WHEN Lambda delivers it again
    lake.consume(event)
    # THEN the same objects hold the same rows (the missing event_id got the same UUIDv5)
    assert list_keys(lake.s3, BUCKET, "tables/") == keys
    for name in TABLES:
        assert lake.table(name).sort_by("event_id").equals(first[name]), name


class FailingS3:
    """An S3 client whose puts fail for keys containing ``needle`` (``times`` times)."""

    def __init__(self, s3: Any, needle: str, times: int = 1) -> None:
        self._s3, self.needle, self.left = s3, needle, times

    def put_object(self, **kw: Any) -> Any:
        if self.needle in kw["Key"] and self.left > 0:
            self.left -= 1
            raise ClientError({"Error": {"Code": "SlowDown", "Message": "injected"}}, "PutObject")
        return self._s3.put_object(**kw)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._s3, name)


def _batch_where_stats_start_at_record_2() -> tuple[list[dict[str, Any]], dict[str, Any]]:
    evs = _all_types(100)
    no_stats = [e for e in evs if "level" not in e]
    with_stats = [e for e in evs if "level" in e]
    extra = _event(event_type="defeat_enemy", event_id="00000000-0000-4000-8000-000000000999")
    records = [
        ndjson(*no_stats[:3]),
        ndjson(*no_stats[3:]),
        ndjson(*with_stats[:2]),
        ndjson(with_stats[2], extra),
    ]
    return evs, kinesis_event(records, first=500)


def test_failed_table_write_reports_first_record_and_retry_completes(lake: Lake) -> None:
    # GIVEN a batch whose character_stats rows start at record 2, and S3 failing that write
    evs, event = _batch_where_stats_start_at_record_2()
    failing = FailingS3(lake.s3, "/character_stats/")
    # WHEN consumed
    resp = lake.consume(event, s3=failing)
    # THEN Lambda is told to redeliver from record 2 on
    assert resp == {"batchItemFailures": [{"itemIdentifier": sequence(502)}]}
    # AND what was written holds only records 0-1 (no stats rows yet)
    ids = lake.table("events").column("event_id").to_pylist()
    assert sorted(ids) == sorted(e["event_id"] for e in evs if "level" not in e)
    assert lake.table("character_stats").num_rows == 0
    # WHEN Lambda redelivers from the failed record (S3 healthy again)
    retry = {"Records": event["Records"][2:]}
    assert lake.consume(retry, s3=failing) == {"batchItemFailures": []}
    # THEN every event is stored exactly once in every table it belongs to
    events = lake.table("events").column("event_id").to_pylist()
    assert len(events) == len(set(events)) == 11
    assert lake.table("character_stats").num_rows == 3
    assert lake.table("character_events").num_rows == 5


def test_failure_on_first_record_objects_are_deleted(lake: Lake) -> None:
    # GIVEN S3 failing every write of the events table (every record has rows there)
    _, event = _batch_where_stats_start_at_record_2()
    failing = FailingS3(lake.s3, "/events/", times=99)
    # WHEN consumed
    resp = lake.consume(event, s3=failing)
    # THEN the whole batch is redelivered and nothing it wrote is left behind
    assert resp == {"batchItemFailures": [{"itemIdentifier": sequence(500)}]}
    assert list_keys(lake.s3, BUCKET, SETTINGS.data_prefix) == []


class FailingGlue:
    """A Glue client whose batch_create_partition fails for one table."""

    def __init__(self, glue: Any, table: str) -> None:
        self._glue, self.table = glue, table

    def batch_create_partition(self, **kw: Any) -> Any:
        if kw["TableName"] == self.table:
            raise ClientError({"Error": {"Code": "ThrottlingException", "Message": "x"}}, "B")
        return self._glue.batch_create_partition(**kw)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._glue, name)


def test_failed_partition_registration_is_redelivered(lake: Lake) -> None:
    # GIVEN Glue refusing partitions of guild_events (its only row is in record 1)
    _, event = _batch_where_stats_start_at_record_2()
    catalog = Catalog(FailingGlue(lake.glue, "guild_events"), SETTINGS)
    # WHEN consumed
    resp = handle_kinesis_event(event, SETTINGS, s3=lake.s3, catalog=catalog)
    # THEN redelivery starts at record 1 and only record 0's rows stay
    assert resp == {"batchItemFailures": [{"itemIdentifier": sequence(501)}]}
    assert lake.table("events").num_rows == 3
    assert lake.table("guild_events").num_rows == 0


def test_empty_and_missing_records(lake: Lake) -> None:
    # GIVEN an event with no records, then one whose only record is blank
    # WHEN consumed
    # THEN nothing fails; the blank record is dead-lettered, not dropped
    assert lake.consume({"Records": []}) == {"batchItemFailures": []}
    assert lake.consume(kinesis_event([b"  \n"])) == {"batchItemFailures": []}
    assert [d["reason"] for d in lake.deadletters()] == ["empty record"]


def test_failed_deadletter_write_cuts_back_and_retry_completes(lake: Lake) -> None:
    # GIVEN records: valid, invalid, valid — and S3 failing the dead-letter write once
    good = _all_types(200)
    event = kinesis_event([ndjson(good[0]), b"{broken", ndjson(good[1])], first=700)
    failing = FailingS3(lake.s3, "deadletter/")
    # WHEN consumed
    resp = lake.consume(event, s3=failing)
    # THEN redelivery starts at the invalid record and only record 0 is in the lake
    assert resp == {"batchItemFailures": [{"itemIdentifier": sequence(701)}]}
    assert lake.table("events").column("event_id").to_pylist() == [good[0]["event_id"]]
    assert lake.deadletters() == []
    # WHEN Lambda redelivers from there
    assert lake.consume({"Records": event["Records"][1:]}) == {"batchItemFailures": []}
    # THEN each event once, and the bad line once
    ids = sorted(lake.table("events").column("event_id").to_pylist())
    assert ids == sorted([good[0]["event_id"], good[1]["event_id"]])
    assert [d["data"] for d in lake.deadletters()] == ["{broken"]
