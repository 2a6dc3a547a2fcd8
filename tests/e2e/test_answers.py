"""End to end: events -> ingest encoding -> consumer -> S3 + Glue on a moto SERVER (real HTTP,
DuckDB reads the Parquet over S3) -> the 7 questions and 3 reports on the local engine,
compared with the plain-Python oracle exactly (values and order).
"""

from __future__ import annotations

import io
import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pyarrow.parquet as pq
import pytest

from chalicelib.compaction import compact_partition
from chalicelib.query import run_query
from chalicelib.query.answers import collect_answers, collect_reports
from chalicelib.tables import TABLES
from gamepipe.generator import generate_events
from gamepipe.oracle import accepted_events, compute_answers, compute_reports
from tests import helpers_sql

pytestmark = pytest.mark.e2e

REQUEST_SIZE = 50  # events per API request (one received_at each)


@pytest.fixture(scope="module")
def moto_endpoint() -> Iterator[str]:
    with helpers_sql.moto_server_env() as endpoint:
        yield endpoint


@pytest.fixture
def lake(moto_endpoint: str) -> dict[str, Any]:
    """A fresh bucket + Glue database per test on the shared server."""
    with helpers_sql.fresh_lake(moto_endpoint, "game") as lake:
        yield lake


def push_through_pipeline(
    events: list[dict[str, Any]],
    lake: dict[str, Any],
    *,
    shard: str = "shardId-000000000000",
    batch_size: int = 100,
) -> None:
    """Encode as the API does, then consume as the Lambda does (one shard, batches of
    ``batch_size`` records)."""
    from chalicelib.consumer import handle_kinesis_event
    from chalicelib.glue_catalog import Catalog
    from chalicelib.ingest import ClientInfo, encode_records

    info = ClientInfo(host="e2e.example", user_agent="pytest")
    # received now: the generator dates its events in the days before today, inside the
    # event-time window the consumer checks from received_at
    start = datetime.now(UTC)
    # The API refuses a body that is not a JSON object before Kinesis; other bad events go
    # through so the consumer's dead-letter path runs.
    objects = [e for e in events if isinstance(e, dict)]
    records: list[tuple[str, bytes]] = []
    for i in range(0, len(objects), REQUEST_SIZE):
        now = start + timedelta(seconds=i)
        records += encode_records(objects[i : i + REQUEST_SIZE], info, now)
    catalog = Catalog(lake["glue"], lake["settings"])
    for batch in helpers_sql.kinesis_batches(records, batch_size=batch_size, shard=shard):
        response = handle_kinesis_event(batch, lake["settings"], s3=lake["s3"], catalog=catalog)
        assert response == {"batchItemFailures": []}


def test_clean_events_answers_equal_the_oracle(lake: dict[str, Any]) -> None:
    # GIVEN 1,000 events of 100 players from the generator (fixed seed, no resends)
    events = list(generate_events(100, 1000, 42, resend_fraction=0.0))
    push_through_pipeline(events, lake)

    # WHEN the 7 questions and 3 reports run on the local engine over the moto server
    answers = collect_answers(lake["settings"], lake["engine"])
    reports = collect_reports(lake["settings"], lake["engine"])

    # THEN they equal the oracle exactly, values and order
    assert answers == compute_answers(events)
    assert reports == compute_reports(events)
    assert sum(answers["q1"].values()) > 0 and answers["q7"] > 0  # not an empty lake
    # AND they are plain JSON types (bigint sums, not 128-bit decimals)
    assert json.loads(json.dumps([answers, reports])) == [answers, reports]


def test_resends_and_bad_events_answers_equal_the_oracle(lake: dict[str, Any]) -> None:
    # GIVEN the same volume with 5% resent duplicates (same event_id) and 5% bad events
    events = list(generate_events(100, 1000, 7, resend_fraction=0.05, bad_fraction=0.05))
    ids = [e.get("event_id") for e in events if isinstance(e, dict)]
    assert len(ids) - len(set(ids)) >= 20  # duplicates really are in the input
    assert len(compute_answers(events)["q2"]) > 0
    push_through_pipeline(events, lake)

    # WHEN the questions and reports run
    answers = collect_answers(lake["settings"], lake["engine"])
    reports = collect_reports(lake["settings"], lake["engine"])

    # THEN duplicates count once and bad events not at all, exactly as the oracle says
    assert answers == compute_answers(events)
    assert reports == compute_reports(events)


def test_answers_equal_the_oracle_before_and_after_compaction_with_late_rows(
    lake: dict[str, Any],
) -> None:
    # GIVEN three days of events with resends and bad events, through the pipeline
    events = list(generate_events(100, 1000, 7, resend_fraction=0.05, bad_fraction=0.05, days=3))
    push_through_pipeline(events, lake)
    settings, engine = lake["settings"], lake["engine"]
    days = sorted({e["event_ts"][:10] for e in events if isinstance(e, dict) and "event_ts" in e})
    assert len(days) == 3
    assert collect_answers(settings, engine) == compute_answers(events)

    # WHEN the first two days of every table are compacted (the third stays live)
    for table in TABLES:
        for dt in days[:2]:
            result, _ = compact_partition(lake["s3"], settings, table, dt)
            assert result.key is not None, (table, dt)
    engine.refresh()
    # THEN the answers and reports are unchanged, the seed's SQL still runs
    assert collect_answers(settings, engine) == compute_answers(events)
    assert collect_reports(settings, engine) == compute_reports(events)
    assert all(
        run_query(f"seed/q{n}", settings=settings, engine=engine).num_rows > 0 for n in (1, 4, 6)
    )

    # WHEN late rows land in the second (compacted) day: a resend of an already compacted
    # event and a new event, for each duplicate-sensitive event type
    ok = {e.event_id for e in accepted_events(events)}
    late: list[dict[str, Any]] = []
    for etype in ("purchase_sword", "defeat_enemy", "take_potion", "find_treasure"):
        original = next(
            e
            for e in events
            if isinstance(e, dict)
            and e.get("event_type") == etype
            and str(e.get("event_ts", "")).startswith(days[1])
            and e.get("event_id") in ok
        )
        late.append(dict(original))  # the resend: same event_id, same event_ts
        late.append({**original, "event_id": str(uuid.UUID(int=len(late), version=4))})
    push_through_pipeline(late, lake, shard="shardId-000000000001")
    engine.refresh()
    flags = run_query(
        "SELECT dt, count_if(compacted) AS compacted, count_if(compacted IS NULL) AS live"
        " FROM character_events GROUP BY dt ORDER BY dt",
        settings=settings,
        engine=engine,
    ).to_pylist()
    # THEN day 1 is compacted only, day 2 mixed, day 3 live only ...
    assert [(r["dt"], r["compacted"] > 0, r["live"] > 0) for r in flags] == [
        (days[0], True, False), (days[1], True, True), (days[2], False, True)
    ]  # fmt: skip
    # ... and every answer and report still equals the oracle (the resends count once,
    # the new events count)
    everything = events + late
    assert compute_answers(everything) != compute_answers(events)
    assert collect_answers(settings, engine) == compute_answers(everything)
    assert collect_reports(settings, engine) == compute_reports(everything)

    # WHEN the mixed day is compacted again THEN nothing changes
    for table in TABLES:
        compact_partition(lake["s3"], settings, table, days[1])
    engine.refresh()
    assert collect_answers(settings, engine) == compute_answers(everything)
    assert collect_reports(settings, engine) == compute_reports(everything)


def test_only_registered_partitions_are_visible(lake: dict[str, Any]) -> None:
    # GIVEN a loaded lake and a Parquet file in a partition Glue does not know about
    events = helpers_sql.make_events(300, 30, seed=3)
    push_through_pipeline(events, lake)
    extra = helpers_sql.make_events(50, 5, seed=4)
    batch = helpers_sql.table_rows(extra)
    table = helpers_sql.arrow_table("character_events", batch[0]["character_events"])
    buf = io.BytesIO()
    pq.write_table(table, buf)
    settings = lake["settings"]
    key = f"{settings.data_prefix}/character_events/dt=2030-01-01/stray.parquet"
    lake["s3"].put_object(Bucket=settings.data_bucket, Key=key, Body=buf.getvalue())
    lake["engine"].refresh()

    # WHEN counting rows through the engine
    counted = run_query(
        "SELECT count(*) AS n, count(DISTINCT dt) AS days FROM character_events",
        settings=settings,
        engine=lake["engine"],
    ).to_pylist()[0]

    # THEN the stray partition is invisible (as in Athena) and the answers are unchanged
    expected = sum(
        1 for e in events if e["event_type"] in ("find_treasure", "enemy_attack", "defeat_enemy")
    )
    assert counted["n"] == expected
    assert collect_answers(settings, lake["engine"]) == compute_answers(events)


def test_seed_queries_run_unchanged_over_s3(lake: dict[str, Any]) -> None:
    # GIVEN a loaded lake
    push_through_pipeline(helpers_sql.make_events(300, 30, seed=5), lake)

    # WHEN each of the seed's 7 Presto queries runs verbatim
    results = {
        n: run_query(f"seed/q{n}", settings=lake["settings"], engine=lake["engine"])
        for n in range(1, 8)
    }

    # THEN each returns rows with the seed's column names (Athena's _col1 for unnamed ones)
    assert results[1].column_names == ["event_type", "ttl_purchased"]
    assert results[2].column_names == ["guild_name", "_col1"]
    assert results[5].num_rows == 1
    assert all(t.num_rows > 0 for t in results.values())
