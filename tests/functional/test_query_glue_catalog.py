"""The local engine reads tables, types and REGISTERED partitions from Glue (moto in-process;
the partition locations are local directories, which DuckDB reads directly)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import boto3
import pyarrow.parquet as pq
import pytest

from chalicelib.query import run_query
from chalicelib.settings import Settings
from gamepipe.athena.engine import LocalEngine
from tests import helpers_sql

SETTINGS = Settings(glue_database="lakedb")


@pytest.fixture
def glue(moto_aws: None) -> Any:
    client = boto3.client("glue")
    helpers_sql.create_glue_tables(client, database="lakedb", bucket="unused", prefix="t")
    return client


def write_day(folder: Path, rows: list[dict[str, Any]]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    pq.write_table(helpers_sql.arrow_table("character_events", rows), folder / "part-0.parquet")


def add_partition(glue: Any, dt: str, location: Path) -> None:
    glue.create_partition(
        DatabaseName="lakedb",
        TableName="character_events",
        PartitionInput={"Values": [dt], "StorageDescriptor": {"Location": f"file://{location}"}},
    )


def rows_by_day() -> dict[str, list[dict[str, Any]]]:
    (batch,) = helpers_sql.table_rows(helpers_sql.make_events(200, 20, seed=1), batch_size=10**6)
    days: dict[str, list[dict[str, Any]]] = {}
    for row in batch["character_events"]:
        days.setdefault(row["event_ts"].strftime("%Y-%m-%d"), []).append(row)
    return days


def count_by_dt(engine: LocalEngine) -> dict[str, int]:
    rows = run_query(
        "SELECT dt, count(*) AS n FROM character_events GROUP BY dt",
        settings=SETTINGS,
        engine=engine,
    ).to_pylist()
    return {r["dt"]: r["n"] for r in rows}


def test_only_registered_partitions_until_refresh(glue: Any, tmp_path: Path) -> None:
    # GIVEN files for two days but only the first day registered in Glue
    (day1, rows1), (day2, rows2) = sorted(rows_by_day().items())
    write_day(tmp_path / f"dt={day1}", rows1)
    write_day(tmp_path / f"dt={day2}", rows2)
    add_partition(glue, day1, tmp_path / f"dt={day1}")
    engine = LocalEngine(SETTINGS, glue_client=glue, ttl_seconds=3600)

    # WHEN querying, registering the second day, querying again, then refreshing
    before = count_by_dt(engine)
    add_partition(glue, day2, tmp_path / f"dt={day2}")
    cached = count_by_dt(engine)
    engine.refresh()
    after = count_by_dt(engine)
    engine.close()

    # THEN a partition is visible once registered and the catalog is re-read
    assert before == {day1: len(rows1)}
    assert cached == before  # cached catalog: no Glue call per warm query
    assert after == {day1: len(rows1), day2: len(rows2)}


def test_partitions_at_arbitrary_locations(glue: Any, tmp_path: Path) -> None:
    # GIVEN partitions whose directories are not named dt=<value>
    days = sorted(rows_by_day().items())
    for i, (day, rows) in enumerate(days):
        write_day(tmp_path / f"load-{i}", rows)
        add_partition(glue, day, tmp_path / f"load-{i}")
    engine = LocalEngine(SETTINGS, glue_client=glue)

    # WHEN counting per dt THEN dt comes from Glue's partition values
    assert count_by_dt(engine) == {day: len(rows) for day, rows in days}
    engine.close()


def test_table_without_partitions_is_empty_and_typed(glue: Any) -> None:
    # GIVEN Glue tables with no partitions registered
    engine = LocalEngine(SETTINGS, glue_client=glue)
    # WHEN a question runs THEN it answers from an empty table rather than failing
    table = run_query("q4", settings=SETTINGS, engine=engine)
    engine.close()
    assert table.num_rows == 0
    assert table.column_names == ["userid", "defeats"]


def test_files_replaced_by_compaction_trigger_one_refresh(glue: Any, tmp_path: Path) -> None:
    # GIVEN a registered partition of two small files, already queried (file list cached)
    (day, rows), *_ = sorted(rows_by_day().items())
    folder = tmp_path / f"dt={day}"
    folder.mkdir()
    half = len(rows) // 2
    for i, chunk in enumerate((rows[:half], rows[half:])):
        pq.write_table(
            helpers_sql.arrow_table("character_events", chunk), folder / f"small-{i}.parquet"
        )
    add_partition(glue, day, folder)
    engine = LocalEngine(SETTINGS, glue_client=glue, ttl_seconds=3600)
    before = count_by_dt(engine)

    # WHEN compaction replaces them with one file under a new name
    pq.write_table(helpers_sql.arrow_table("character_events", rows), folder / "compacted.parquet")
    for i in range(2):
        (folder / f"small-{i}.parquet").unlink()
    after = count_by_dt(engine)
    engine.close()

    # THEN the next query re-lists once and answers the same instead of failing
    assert before == after == {day: len(rows)}
