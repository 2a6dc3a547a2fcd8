"""The emulator's pure parts: statements classified, parameters bound with positions kept,
values as Athena's text, the scan estimate."""

from __future__ import annotations

import datetime as dt
import decimal

import pyarrow as pa
import pytest
import sqlglot

from gamepipe.athena.catalog import Partition, TableInfo
from gamepipe.athena.results import (
    athena_type,
    cells,
    column_info,
    csv_bytes,
    glue_type,
    java_double,
    rows_from_csv,
)
from gamepipe.athena.scan_estimate import estimate_scanned_bytes
from gamepipe.athena.statements import ParameterError, parse_statement, substitute_parameters
from gamepipe.athena.translate import SqlSyntaxError, UnsupportedSqlError, line_col


def test_parameters_are_substituted_in_order_outside_strings_and_comments() -> None:
    # GIVEN ? in code, in a string and in a comment
    sql = "SELECT * FROM t WHERE a = ? AND b = '?' -- ?\n AND c = ? AND zz = 1"
    # WHEN two literals are bound
    text, back = substitute_parameters(sql, ["'x y z'", "DATE '2026-01-01'"])
    # THEN only the two code placeholders are replaced
    assert text == (
        "SELECT * FROM t WHERE a = 'x y z' AND b = '?' -- ?\n AND c = DATE '2026-01-01' AND zz = 1"
    )
    # AND offsets map back to the text as sent (after, and inside, a literal)
    assert back(text.index("zz")) == sql.index("zz")
    assert back(text.index("DATE") + 5) == sql.index("c = ?") + 4
    assert back(3) == 3


@pytest.mark.parametrize(
    ("literals", "message"),
    [
        ([], "expected 1 but found 0"),
        (["1", "2"], "expected 1 but found 2"),
        (["userid"], "not a SQL literal"),
        (["(SELECT 1)"], "not a SQL literal"),
        (["'open"], "not a SQL literal"),
    ],
)
def test_bad_parameters_are_refused(literals: list[str], message: str) -> None:
    # GIVEN one placeholder and the wrong parameters THEN a ParameterError says why
    with pytest.raises(ParameterError, match=message):
        substitute_parameters("SELECT * FROM t WHERE a = ?", literals)


def test_literal_kinds_athena_takes_are_accepted() -> None:
    # GIVEN the literal forms awswrangler and Athena users send
    literals = ["'s'", "42", "-1.5", "true", "NULL", "DATE '2026-11-27'", "ARRAY[1, 2]"]
    sql = "SELECT " + ", ".join("?" for _ in literals)
    # THEN they are bound as written
    text, _ = substitute_parameters(sql, literals)
    assert text == "SELECT " + ", ".join(literals)


def test_ctas_is_split_into_target_properties_and_query() -> None:
    # GIVEN the CTAS awswrangler sends
    sql = (
        'CREATE TABLE "gamepipe"."temp_table_1"\nWITH(\n'
        "    external_location = 's3://b/out/temp_table_1',\n"
        "    write_compression = 'SNAPPY',\n"
        "    format = 'PARQUET')\n"
        "AS SELECT userid FROM events\nWITH NO DATA"
    )
    # WHEN classified
    stmt = parse_statement(sql)
    # THEN the target, properties and the query's text and offset are known
    assert (stmt.kind, stmt.database, stmt.table, stmt.with_data) == (
        "ctas", "gamepipe", "temp_table_1", False
    )  # fmt: skip
    assert stmt.properties == {
        "external_location": "s3://b/out/temp_table_1",
        "write_compression": "SNAPPY",
        "format": "PARQUET",
    }
    assert stmt.query.strip() == "SELECT userid FROM events"
    assert sql[stmt.query_offset :].startswith("SELECT userid")


@pytest.mark.parametrize(
    ("sql", "error", "where"),
    [
        ("SELEC 1", SqlSyntaxError, (1, 1)),
        ("  \n  ", SqlSyntaxError, None),
        ("SHOW TABLES", UnsupportedSqlError, (1, 1)),
        ("CREATE TABLE t (a int)", UnsupportedSqlError, None),
        ("\n  MSCK REPAIR TABLE t", UnsupportedSqlError, (2, 3)),
    ],
)
def test_statements_the_emulator_does_not_run_are_named(
    sql: str, error: type[Exception], where: tuple[int, int] | None
) -> None:
    # GIVEN a statement that is not SELECT, CTAS or DROP TABLE
    with pytest.raises(error) as caught:
        parse_statement(sql)
    # THEN it is refused, at the right place when there is one
    assert isinstance(caught.value, UnsupportedSqlError)
    offset = caught.value.offset
    if where is not None:
        assert offset is not None and line_col(sql, offset) == where


def test_drop_table_and_queries_are_classified() -> None:
    assert parse_statement('DROP TABLE IF EXISTS "db"."t"').kind == "drop_table"
    dropped = parse_statement("DROP TABLE t")
    assert (dropped.database, dropped.table, dropped.if_exists) == (None, "t", False)
    assert parse_statement("WITH a AS (SELECT 1) SELECT * FROM a").kind == "query"


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (3.5, "3.5"),
        (2.0, "2.0"),
        (1e7, "1.0E7"),
        (12345678.9, "1.23456789E7"),
        (0.0001, "1.0E-4"),
        (-2.5e-5, "-2.5E-5"),
        (0.0, "0.0"),
        (float("nan"), "NaN"),
        (float("-inf"), "-Infinity"),
    ],
)
def test_doubles_print_as_trino_prints_them(value: float, shown: str) -> None:
    assert java_double(value) == shown


def test_cells_and_csv_are_athenas_text() -> None:
    # GIVEN one row of each kind of value and a row of NULLs
    table = pa.table(
        {
            "s": ['a "quoted", text', None],
            "n": pa.array([7, None], pa.int64()),
            "b": [True, None],
            "d": [dt.date(2026, 11, 27), None],
            "t": [dt.datetime(2026, 11, 27, 9, 5, 1, 250000), None],
            "x": [decimal.Decimal("1.50"), None],
            "l": [["a", "b"], None],
        }
    )
    # WHEN turned into cells and CSV
    rows = cells(table)
    body = csv_bytes(table.column_names, rows)
    # THEN values are text, NULL is None (an empty unquoted CSV field), all else quoted
    assert rows[0] == [
        'a "quoted", text',
        "7",
        "true",
        "2026-11-27",
        "2026-11-27 09:05:01.250",
        "1.50",
        "[a, b]",
    ]
    assert rows[1] == [None] * 7
    lines = body.decode().splitlines()
    assert lines[0] == '"s","n","b","d","t","x","l"'
    assert lines[1].startswith('"a ""quoted"", text","7","true"')
    assert lines[2] == ",,,,,,"
    assert rows_from_csv(body)[1][0] == 'a "quoted", text'


def test_column_info_and_glue_types() -> None:
    schema = pa.schema(
        [
            ("a", pa.string()),
            ("b", pa.int64()),
            ("c", pa.int32()),
            ("d", pa.float64()),
            ("e", pa.bool_()),
            ("f", pa.date32()),
            ("g", pa.timestamp("us")),
            ("h", pa.decimal128(10, 2)),
            ("i", pa.list_(pa.string())),
        ]
    )
    info = column_info(schema)
    assert [c["Type"] for c in info] == [
        "varchar", "bigint", "integer", "double", "boolean", "date", "timestamp", "decimal",
        "array",
    ]  # fmt: skip
    assert (info[7]["Precision"], info[7]["Scale"]) == (10, 2)
    assert info[0]["CaseSensitive"] is True and info[1]["CaseSensitive"] is False
    assert [glue_type(f.type) for f in schema] == [
        "string", "bigint", "int", "double", "boolean", "date", "timestamp", "decimal(10,2)",
        "array<string>",
    ]  # fmt: skip
    assert athena_type(pa.null()) == "unknown"


def test_scan_estimate_counts_the_named_columns_of_the_named_tables() -> None:
    # GIVEN a table of 4 data columns whose files hold 1,000 bytes, another of 500
    partitions = (Partition(("2026-11-27",), "s3://b/t/dt=2026-11-27/", ("f",), 1000),)
    tables = {
        "t": TableInfo("t", (("a", "string"), ("b", "bigint"), ("c", "bigint"), ("d", "string")),
                       (("dt", "string"),), "s3://b/t/", partitions),
        "u": TableInfo("u", (("a", "string"),), (), "s3://b/u/",
                       (Partition((), "s3://b/u/", ("g",), 500),)),
    }  # fmt: skip

    def estimate(sql: str) -> int:
        return estimate_scanned_bytes(sqlglot.parse_one(sql, read="athena"), tables)

    # THEN two of four columns read half; SELECT * all; a CTE name is no table; u adds 500
    assert estimate("SELECT a, sum(b) FROM t GROUP BY a") == 500
    assert estimate("SELECT * FROM t") == 1000
    assert estimate("WITH x AS (SELECT a FROM t) SELECT a FROM x") == 250
    assert estimate("SELECT t.a FROM t JOIN u ON t.a = u.a") == 750
    assert estimate("SELECT 1") == 0
