"""The Athena (Trino) functions the local engine's translation covers, each with the value
Athena documents for it. docs/athena-local.md lists these and the ones that differ."""

from __future__ import annotations

import datetime as dt
import decimal
from collections.abc import Iterator
from typing import Any

import pytest

from chalicelib.settings import Settings
from gamepipe.athena.catalog import LakeCatalog
from gamepipe.athena.engine import LocalEngine


@pytest.fixture(scope="module")
def engine() -> Iterator[LocalEngine]:
    """The local engine with no tables (every expression here is self-contained)."""
    eng = LocalEngine(Settings(), catalog_loader=lambda: LakeCatalog({}, {}))
    yield eng
    eng.close()


SCALARS: list[tuple[str, Any]] = [
    ("7 / 2", 3),
    ("7 % 3", 1),
    ("abs(-3)", 3),
    ("floor(1.8)", 1),
    ("round(2.567, 2)", decimal.Decimal("2.570")),  # a decimal literal, as in Trino
    ("power(2, 10)", 1024.0),
    ("greatest(1, 5, 3)", 5),
    ("length('hello')", 5),
    ("lower('AbC')", "abc"),
    ("substr('hello', 2, 3)", "ell"),
    ("replace('aXbX', 'X', '-')", "a-b-"),
    ("trim('  x  ')", "x"),
    ("concat('a', 'b', 'c')", "abc"),
    ("'a' || 'b'", "ab"),
    ("split('a,b,c', ',')", ["a", "b", "c"]),
    ("split_part('a,b,c', ',', 2)", "b"),
    ("strpos('hello', 'l')", 3),
    ("regexp_like('abc123', '[0-9]+')", True),
    ("regexp_extract('abc123', '[0-9]+')", "123"),
    ("regexp_replace('a1b2', '[0-9]', '')", "ab"),
    ("lpad('7', 3, '0')", "007"),
    ("starts_with('hello', 'he')", True),
    ("date_diff('day', DATE '2026-11-27', DATE '2026-12-01')", 4),
    ("date_format(TIMESTAMP '2026-11-27 10:11:12', '%Y-%m-%d %H:%i')", "2026-11-27 10:11"),
    ("date_parse('2026-11-27 10:11', '%Y-%m-%d %H:%i')", dt.datetime(2026, 11, 27, 10, 11)),
    ("to_unixtime(TIMESTAMP '2026-11-27 00:00:00')", 1795737600.0),
    ("year(DATE '2026-11-27')", 2026),
    ("day_of_week(DATE '2026-11-27')", 5),
    ("extract(hour FROM TIMESTAMP '2026-11-27 10:11:12')", 10),
    ("cast('42' AS bigint)", 42),
    ("try_cast('x' AS bigint)", None),
    ("cast(3.7 AS integer)", 4),
    ("coalesce(NULL, 2)", 2),
    ("nullif(1, 1)", None),
    ("if(1 > 0, 'y', 'n')", "y"),
    ("cardinality(ARRAY[1, 2, 3])", 3),
    ("element_at(ARRAY[1, 2, 3], 2)", 2),
    ("ARRAY[1, 2, 3][1]", 1),
    ("contains(ARRAY[1, 2], 2)", True),
    ("array_join(ARRAY['a', 'b'], '-')", "a-b"),
    ("array_sort(ARRAY[3, 1, 2])", [1, 2, 3]),
    ("sequence(1, 3)", [1, 2, 3]),
    ("transform(ARRAY[1, 2], x -> x * 2)", [2, 4]),
    ("filter(ARRAY[1, 2, 3], x -> x > 1)", [2, 3]),
    ("map(ARRAY['a'], ARRAY[1])['a']", 1),
    ("json_extract_scalar('{\"a\": {\"b\": 5}}', '$.a.b')", "5"),
    ("json_array_length('[1,2,3]')", 3),
    ("to_hex(to_utf8('ab'))", "6162"),
]

AGGREGATES: list[tuple[str, Any]] = [
    ("count(*)", 3),
    ("count(DISTINCT x)", 3),
    ("approx_distinct(x)", 3),
    ("sum(x)", 6),
    ("avg(x)", 2.0),
    ("max_by(x, y)", 1),
    ("min_by(x, y)", 3),
    ("max(x, 2)", [3, 2]),
    ("array_agg(x ORDER BY x)", [1, 2, 3]),
    ("count_if(x > 1)", 2),
    ("bool_and(x > 0)", True),
    ("stddev(x)", 1.0),
]

WINDOWS: list[tuple[str, list[Any]]] = [
    ("row_number() OVER (ORDER BY x)", [1, 2, 3]),
    ("rank() OVER (ORDER BY y)", [3, 2, 1]),
    ("lag(x) OVER (ORDER BY x)", [None, 1, 2]),
    ("lead(x, 1, 0) OVER (ORDER BY x)", [2, 3, 0]),
    ("sum(x) OVER (ORDER BY x ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)", [1, 3, 6]),
    ("first_value(x) OVER (ORDER BY y)", [3, 3, 3]),
    ("ntile(2) OVER (ORDER BY x)", [1, 1, 2]),
]
ROWS = "(VALUES (1, 3), (2, 2), (3, 1)) AS t(x, y)"


@pytest.mark.parametrize(("expression", "value"), SCALARS)
def test_scalar_function(engine: LocalEngine, expression: str, value: Any) -> None:
    assert engine.execute(f"SELECT {expression} AS v").to_pylist() == [{"v": value}]


@pytest.mark.parametrize(("expression", "value"), AGGREGATES)
def test_aggregate_function(engine: LocalEngine, expression: str, value: Any) -> None:
    assert engine.execute(f"SELECT {expression} AS v FROM {ROWS}").to_pylist() == [{"v": value}]


@pytest.mark.parametrize(("expression", "values"), WINDOWS)
def test_window_function(engine: LocalEngine, expression: str, values: list[Any]) -> None:
    rows = engine.execute(f"SELECT {expression} AS v FROM {ROWS} ORDER BY x").to_pylist()
    assert [r["v"] for r in rows] == values
