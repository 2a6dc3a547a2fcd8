"""Schema evolution, shown once (issue 15): ``events`` gains ``session_id`` and ``platform``.

On a moto SERVER (DuckDB reads the Parquet over HTTP, as on AWS): a lake whose Glue table
and files predate the columns; ``ensure_catalog`` (the consumer's cold start) appends them
to the existing table; files written before read them as NULL, files written with them
(as the consumer writes them) read their values, and the sessions KPI equals the oracle
over the mix. Old partitions keep their column list; the queries still run.
"""

from __future__ import annotations

import dataclasses
import io
from collections.abc import Iterator
from datetime import date
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from chalicelib.glue_catalog import Catalog, ensure_catalog, partition_input, table_input
from chalicelib.query import run_query
from chalicelib.query.kpi import collect_kpis
from chalicelib.settings import Settings
from chalicelib.tables import EVENTS, TABLES
from gamepipe import oracle_kpi
from gamepipe.generator.lifecycle import generate_lifecycles
from tests import helpers_sql

pytestmark = pytest.mark.e2e

FIRST = date(2026, 5, 1)
NEW = ("session_id", "platform")


@pytest.fixture
def lake() -> Iterator[dict[str, Any]]:
    with helpers_sql.moto_server_env() as endpoint, helpers_sql.fresh_lake(endpoint, "evo") as lake:
        yield lake


def _put(lake: dict[str, Any], table: str, dt: str, name: str, data: pa.Table) -> None:
    buf = io.BytesIO()
    pq.write_table(data, buf)
    key = f"{lake['settings'].data_prefix}/{table}/dt={dt}/{name}.parquet"
    lake["s3"].put_object(Bucket=lake["settings"].data_bucket, Key=key, Body=buf.getvalue())


def _write_days(lake: dict[str, Any], events: list[Any], *, with_new_columns: bool) -> set[str]:
    """Every table's rows of ``events`` as one file per partition, as the consumer writes
    them; without ``session_id`` and ``platform`` in events unless ``with_new_columns``."""
    days: set[str] = set()
    for table, rows in helpers_sql.table_rows(events, batch_size=len(events))[0].items():
        for dt in sorted({r["event_ts"].strftime("%Y-%m-%d") for r in rows}):
            part = [r for r in rows if r["event_ts"].strftime("%Y-%m-%d") == dt]
            data = helpers_sql.arrow_table(table, part)
            if table == EVENTS.name and not with_new_columns:
                data = data.drop_columns(list(NEW))
            _put(lake, table, dt, "old" if not with_new_columns else "new", data)
            days.add(dt)
    return days


def test_events_gains_columns_old_files_read_null_and_kpis_still_equal_the_oracle(lake):
    settings, glue, engine = lake["settings"], lake["glue"], lake["engine"]
    # GIVEN a catalog and 10 days of files from before issue 15: events without the columns
    everything = [g.event for g in generate_lifecycles(120, 4000, 21, days=20, first_day=FIRST)]
    old = [e for e in everything if e["event_ts"] < "2026-05-11"]
    new = [e for e in everything if e["event_ts"] >= "2026-05-11"]
    old_columns = tuple(c for c in EVENTS.columns if c.name not in NEW)
    before = {**TABLES, EVENTS.name: dataclasses.replace(EVENTS, columns=old_columns)}
    glue.create_database(DatabaseInput={"Name": settings.glue_database})
    for table in before.values():
        glue.create_table(
            DatabaseName=settings.glue_database, TableInput=table_input(table, settings)
        )
    old_days = _write_days(lake, old, with_new_columns=False)
    for table in before.values():
        glue.batch_create_partition(
            DatabaseName=settings.glue_database,
            TableName=table.name,
            PartitionInputList=[partition_input(table, settings, d) for d in sorted(old_days)],
        )
    columns = [c["Name"] for c in _glue_table(glue, settings)["StorageDescriptor"]["Columns"]]
    assert columns[-2:] == ["payload", "application_id"] and not set(NEW) & set(columns)

    # WHEN the consumer's cold start ensures the catalog, then days 11-20 land with the
    # columns filled, as the consumer writes them
    ensure_catalog(glue, settings)
    new_days = _write_days(lake, new, with_new_columns=True)
    Catalog(glue, settings).register((t, d) for t in TABLES for d in new_days)
    engine.refresh()

    # THEN the table gained the columns at the end, partitions registered before keep
    # their column list and the new ones have the new list
    table = _glue_table(glue, settings)
    assert [c["Name"] for c in table["StorageDescriptor"]["Columns"]][-4:] == [
        "payload",
        "application_id",
        *NEW,
    ]
    parts = {
        p["Values"][0]: [c["Name"] for c in p["StorageDescriptor"]["Columns"]]
        for p in glue.get_partitions(DatabaseName=settings.glue_database, TableName="events")[
            "Partitions"
        ]
    }
    assert not set(NEW) & set(parts[min(old_days)]) and set(NEW) <= set(parts[max(new_days)])
    # AND the old files read the new columns as NULL, the new ones their values
    rows = run_query(
        "SELECT dt < '2026-05-11' AS old, count(*) AS n, count(session_id) AS sessions,"
        " count(platform) AS platforms FROM events GROUP BY 1 ORDER BY 1",
        settings=settings,
        engine=engine,
    ).to_pylist()
    assert rows == [
        {"old": False, "n": rows[0]["n"], "sessions": rows[0]["n"], "platforms": rows[0]["n"]},
        {"old": True, "n": rows[1]["n"], "sessions": 0, "platforms": 0},
    ]
    # AND every KPI over both eras equals the oracle (sessions from the payload before,
    # from the column after)
    counted = oracle_kpi.plays(everything)
    results = collect_kpis(settings, FIRST, date(2026, 5, 20), engine=engine)
    assert results["sessions"].to_pylist() == oracle_kpi.sessions(counted)
    assert results["daily"].to_pylist() == oracle_kpi.daily(counted)
    assert results["sessions"].num_rows == 20


def _glue_table(glue: Any, settings: Settings) -> dict[str, Any]:
    return glue.get_table(DatabaseName=settings.glue_database, Name="events")["Table"]
