"""End to end, the KPIs: 32 days of 2,000 players' lives (resends and bad events in) ->
ingest encoding -> the real consumer -> S3 + Glue on a moto SERVER (DuckDB reads the
Parquet over HTTP) -> every KPI statement on the local engine, compared with the
plain-Python KPI oracle exactly; then again after compaction with late resends.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import pytest

from chalicelib.compaction import compact_partition
from chalicelib.query.kpi import collect_kpi_answers, lake_days
from chalicelib.tables import TABLES
from gamepipe import oracle_kpi
from gamepipe.generator.lifecycle import default_first_day, generate_lifecycles
from tests import helpers_sql
from tests.e2e.test_answers import push_through_pipeline
from tests.helpers_kpi import sql_and_oracle

pytestmark = pytest.mark.e2e

DAYS = 32
# Ending today, as the generator's lifecycles do by default: the consumer keeps events up to
# 45 days old (the event-time window, chalicelib/contract/rules.py) and dead-letters older.
FIRST = default_first_day(DAYS)
LAST = FIRST + timedelta(days=DAYS - 1)


@pytest.fixture(scope="module")
def lake() -> Iterator[dict[str, Any]]:
    """The 32 days consumed once into a fresh bucket + Glue database on a moto server."""
    events = [
        g.event
        for g in generate_lifecycles(
            2000, 70_000, 15, days=DAYS, first_day=FIRST, bad_fraction=0.02, resend_fraction=0.03
        )
    ]
    with helpers_sql.moto_server_env() as endpoint, helpers_sql.fresh_lake(endpoint, "kpi") as lake:
        lake["events"] = events
        push_through_pipeline(events, lake, batch_size=1000)
        yield lake


def _assert_kpis_equal_the_oracle(
    lake: dict[str, Any], events: list[Any], ranges: tuple[tuple[date, date], ...]
) -> None:
    counted = oracle_kpi.plays(events)
    for start, end in ranges:
        compared = sql_and_oracle(lake["settings"], lake["engine"], counted, start, end)
        for name, (sql, oracle) in compared.items():
            assert sql, name  # not an empty answer
            assert sql == oracle, (name, start, end)


def test_every_kpi_equals_the_oracle(lake: dict[str, Any]) -> None:
    # GIVEN 32 days x 2,000 players through the pipeline
    events = lake["events"]
    assert lake_days(lake["settings"], engine=lake["engine"]) == (FIRST, LAST)
    assert len(events) - len({e.get("event_id") for e in events if isinstance(e, dict)}) > 1000

    # WHEN / THEN each KPI over the whole range and a part of it equals the oracle
    part = (FIRST + timedelta(days=9), LAST - timedelta(days=3))
    _assert_kpis_equal_the_oracle(lake, events, ((FIRST, LAST), part))

    # AND the answers JSON's "kpi" value too: every day, every cohort, the keys
    answers = collect_kpi_answers(lake["settings"], engine=lake["engine"])
    assert answers == oracle_kpi.kpi_answers(events)
    assert len(answers["daily"]) == DAYS and len(answers["retention"]) == DAYS
    assert answers["retention"][0]["d30"] is not None and answers["retention"][-1]["d1"] is None


def test_kpis_after_compaction_with_late_resends(lake: dict[str, Any]) -> None:
    # GIVEN the first 10 days of every table compacted
    settings, engine, events = lake["settings"], lake["engine"], lake["events"]
    for table in TABLES:
        for n in range(10):
            compact_partition(lake["s3"], settings, table, str(FIRST + timedelta(days=n)))
    # WHEN resends of compacted purchases, level ups and joins arrive, with new events
    ok = {p.event_id for p in oracle_kpi.plays(events)}
    late: list[dict[str, Any]] = []
    for kind in ("purchase_sword", "level_up", "join_guild"):
        original = next(
            e
            for e in events
            if isinstance(e, dict) and e.get("event_type") == kind and e.get("event_id") in ok
        )
        late += [dict(original), {**original, "event_id": str(uuid.uuid4())}]
    push_through_pipeline(late, lake, shard="shardId-000000000001")
    engine.refresh()
    # THEN every KPI still equals the oracle over everything sent
    _assert_kpis_equal_the_oracle(lake, events + late, ((FIRST, LAST),))
