"""Glue catalog against moto: idempotent database/tables, drift repair, partitions."""

from __future__ import annotations

from typing import Any

import boto3
import pytest

from chalicelib import presto_view
from chalicelib.glue_catalog import Catalog, ensure_catalog, table_input, view_input
from chalicelib.settings import Settings
from chalicelib.statements import VIEWS
from chalicelib.tables import TABLES

SETTINGS = Settings(glue_database="gamepipe_test", data_bucket="lake", data_prefix="t")


@pytest.fixture
def glue(moto_aws: None) -> Any:
    return boto3.client("glue", region_name="us-east-1")


def test_ensure_catalog_is_idempotent_and_types_come_from_tables_py(glue: Any) -> None:
    # GIVEN an empty catalog
    # WHEN the catalog is ensured twice
    ensure_catalog(glue, SETTINGS)
    ensure_catalog(glue, SETTINGS)
    # THEN the five tables and the views exist once; the tables as external Parquet tables
    # partitioned by dt
    names = sorted(
        t["Name"] for t in glue.get_tables(DatabaseName=SETTINGS.glue_database)["TableList"]
    )
    assert names == sorted([*TABLES, *(v.name for v in VIEWS)])
    for name, table in TABLES.items():
        got = glue.get_table(DatabaseName=SETTINGS.glue_database, Name=name)["Table"]
        sd = got["StorageDescriptor"]
        assert [(c["Name"], c["Type"]) for c in sd["Columns"]] == [
            (c.name, c.type) for c in table.catalog_columns
        ]
        assert got["PartitionKeys"] == [{"Name": "dt", "Type": "string"}]
        assert sd["Location"] == f"s3://lake/t/{name}/"
        assert "parquet" in sd["SerdeInfo"]["SerializationLibrary"].lower()


def test_views_are_stored_as_athena_stores_them(glue: Any) -> None:
    # GIVEN the catalog ensured
    ensure_catalog(glue, SETTINGS)
    for view in VIEWS:
        got = glue.get_table(DatabaseName=SETTINGS.glue_database, Name=view.name)["Table"]
        # THEN each view is a VIRTUAL_VIEW whose Presto document holds the registry's SQL,
        # resolving in our database, with the registry's columns in Presto and Glue types
        assert got["TableType"] == "VIRTUAL_VIEW"
        assert got["Parameters"]["presto_view"] == "true"
        assert got["ViewExpandedText"] == "/* Presto View */"
        decoded = presto_view.decode(got["ViewOriginalText"])
        assert decoded.sql == view.sql()
        assert "${" not in decoded.sql and decoded.sql.lstrip().startswith("--")
        assert decoded.columns == tuple(
            (name, presto_view.presto_type(t)) for name, t in view.columns
        )
        sd_columns = [(c["Name"], c["Type"]) for c in got["StorageDescriptor"]["Columns"]]
        assert sd_columns == list(view.columns)


def test_changed_view_is_updated(glue: Any) -> None:
    # GIVEN a view stored earlier with other SQL
    glue.create_database(DatabaseInput={"Name": SETTINGS.glue_database})
    view = VIEWS[0]
    old = view_input(view, SETTINGS)
    old["ViewOriginalText"] = presto_view.encode("SELECT 1 AS x", [("x", "int")], "db")
    glue.create_table(DatabaseName=SETTINGS.glue_database, TableInput=old)
    # WHEN the catalog is ensured THEN the view holds the current SQL
    ensure_catalog(glue, SETTINGS)
    got = glue.get_table(DatabaseName=SETTINGS.glue_database, Name=view.name)["Table"]
    assert presto_view.decode(got["ViewOriginalText"]).sql == view.sql()


def test_drifted_table_is_updated(glue: Any) -> None:
    # GIVEN a table created earlier with an old column list
    glue.create_database(DatabaseInput={"Name": SETTINGS.glue_database})
    old = table_input(TABLES["guild_events"], SETTINGS)
    old["StorageDescriptor"]["Columns"] = old["StorageDescriptor"]["Columns"][:3]
    glue.create_table(DatabaseName=SETTINGS.glue_database, TableInput=old)
    # WHEN the catalog is ensured
    ensure_catalog(glue, SETTINGS)
    # THEN the table has the current columns
    got = glue.get_table(DatabaseName=SETTINGS.glue_database, Name="guild_events")["Table"]
    assert [c["Name"] for c in got["StorageDescriptor"]["Columns"]] == [
        c.name for c in TABLES["guild_events"].catalog_columns
    ]


class CountingGlue:
    """Counts batch_create_partition calls."""

    def __init__(self, glue: Any) -> None:
        self._glue, self.calls = glue, 0

    def batch_create_partition(self, **kw: Any) -> Any:
        self.calls += 1
        return self._glue.batch_create_partition(**kw)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._glue, name)


def test_partitions_registered_once_and_already_exists_is_fine(glue: Any) -> None:
    # GIVEN a catalog, and a partition already registered by another process
    counting = CountingGlue(glue)
    Catalog(glue, SETTINGS).register([("events", "2021-08-06")])
    catalog = Catalog(counting, SETTINGS)
    # WHEN partitions (one existing, one new, one repeated) are registered, twice
    wanted = [("events", "2021-08-06"), ("events", "2021-08-07")]
    first = catalog.register([*wanted, ("events", "2021-08-07"), ("guild_events", "2021-08-07")])
    calls = counting.calls
    second = catalog.register([("events", "2021-08-07"), ("guild_events", "2021-08-07")])
    # THEN nothing failed, Glue has each partition with its own location, and the second
    # round was served from the per-process cache
    assert first == [] and second == []
    assert counting.calls == calls == 2
    parts = glue.get_partitions(DatabaseName=SETTINGS.glue_database, TableName="events")
    got = sorted((p["Values"][0], p["StorageDescriptor"]["Location"]) for p in parts["Partitions"])
    assert got == [
        ("2021-08-06", "s3://lake/t/events/dt=2021-08-06/"),
        ("2021-08-07", "s3://lake/t/events/dt=2021-08-07/"),
    ]
    expr = glue.get_partitions(
        DatabaseName=SETTINGS.glue_database,
        TableName="guild_events",
        Expression="dt = '2021-08-07'",
    )
    assert len(expr["Partitions"]) == 1


def test_deleted_table_is_recreated_when_registering(glue: Any) -> None:
    # GIVEN a ready catalog whose table was then deleted by hand
    catalog = Catalog(glue, SETTINGS)
    catalog.ensure()
    glue.delete_table(DatabaseName=SETTINGS.glue_database, Name="character_stats")
    # WHEN a partition of it is registered
    failed = catalog.register([("character_stats", "2021-08-06")])
    # THEN the table is back and the partition registered
    assert failed == []
    parts = glue.get_partitions(DatabaseName=SETTINGS.glue_database, TableName="character_stats")
    assert [p["Values"] for p in parts["Partitions"]] == [["2021-08-06"]]
