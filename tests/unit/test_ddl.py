"""The tables' DDL, read back as Hive DDL, says what Glue is told: columns, types, key, place."""

from __future__ import annotations

import pytest
import sqlglot
from click.testing import CliRunner
from sqlglot import exp

from chalicelib.ddl import render_ddl
from chalicelib.glue_catalog import table_input
from chalicelib.settings import Settings
from chalicelib.tables import TABLES
from gamepipe.commands.schema import schema

SETTINGS = Settings(glue_database="db", data_bucket="lake-bucket", data_prefix="lake/tables")


def _read(ddl: str) -> dict[str, object]:
    """What the statement declares, parsed by sqlglot's Hive reader (not by our renderer)."""
    tree = sqlglot.parse_one(ddl, read="hive")
    assert isinstance(tree, exp.Create) and tree.kind == "TABLE"
    props = tree.args["properties"].expressions

    def columns(schema: exp.Schema) -> list[tuple[str, str]]:
        return [(c.name, c.args["kind"].sql("hive").lower()) for c in schema.expressions]

    (partitioned,) = [p for p in props if isinstance(p, exp.PartitionedByProperty)]
    (fmt,) = [p for p in props if isinstance(p, exp.FileFormatProperty)]
    (location,) = [p for p in props if isinstance(p, exp.LocationProperty)]
    return {
        "name": tree.this.this.name,
        "if_not_exists": bool(tree.args.get("exists")),
        "external": any(isinstance(p, exp.ExternalProperty) for p in props),
        "columns": columns(tree.this),
        "partition_keys": columns(partitioned.this),
        "format": fmt.this.name.lower(),
        "location": location.this.name,
        "properties": {p.this.name: p.args["value"].name for p in props if type(p) is exp.Property},
    }


@pytest.mark.parametrize("table", sorted(TABLES))
def test_ddl_says_what_glue_is_told(table: str) -> None:
    # GIVEN the Glue TableInput the consumer and `stack up` create the table with
    glue = table_input(TABLES[table], SETTINGS)
    storage = glue["StorageDescriptor"]
    # WHEN reading the rendered DDL back as Hive DDL
    ddl = _read(render_ddl(table, SETTINGS))
    # THEN both declare the same external Parquet table: columns and types in order,
    # partition keys, location and compression
    assert ddl["name"] == glue["Name"] == table
    assert ddl["if_not_exists"] and ddl["external"] and glue["TableType"] == "EXTERNAL_TABLE"
    assert ddl["columns"] == [(c["Name"], c["Type"]) for c in storage["Columns"]]
    assert ddl["partition_keys"] == [(k["Name"], k["Type"]) for k in glue["PartitionKeys"]]
    assert ddl["format"] == glue["Parameters"]["classification"] == "parquet"
    assert "Parquet" in storage["SerdeInfo"]["SerializationLibrary"]
    assert ddl["location"] == storage["Location"] == f"s3://lake-bucket/lake/tables/{table}/"
    assert ddl["properties"] == {"parquet.compression": glue["Parameters"]["parquet.compression"]}


@pytest.mark.parametrize("table", sorted(TABLES))
def test_ddl_columns_are_tables_py(table: str) -> None:
    # GIVEN a table of chalicelib/tables.py WHEN rendering its DDL
    ddl = _read(render_ddl(table, SETTINGS))
    # THEN its columns are the catalog columns (the seed tables end with `compacted
    # boolean`), keeping the seed's names, partitioned by dt string
    assert ddl["columns"] == [(c.name, c.type) for c in TABLES[table].catalog_columns]
    assert ddl["partition_keys"] == [("dt", "string")]
    assert (ddl["columns"][-1] == ("compacted", "boolean")) == TABLES[table].merge_on_read


def test_schema_command_prints_the_ddl() -> None:
    # WHEN asking the CLI for two tables' DDL
    result = CliRunner().invoke(schema, ["--ddl", "guild_events", "--ddl", "events"])
    # THEN it prints both statements, each ended by ';', in the order asked
    assert result.exit_code == 0, result.output
    statements = [s for s in sqlglot.parse(result.output, read="hive") if s is not None]
    assert [s.this.this.name for s in statements] == ["guild_events", "events"]
    assert result.output.rstrip().endswith(";")
    # AND --write is refused with --ddl (it writes the JSON Schema only)
    refused = CliRunner().invoke(schema, ["--ddl", "events", "--write"])
    assert refused.exit_code != 0 and "--write" in refused.output
