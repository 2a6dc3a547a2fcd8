"""Athena constructs through the local engine: each gives Athena's answer or a clear error."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from chalicelib.query import resolve_sql, run_query
from chalicelib.settings import Settings
from gamepipe.athena.engine import LocalEngine
from gamepipe.athena.translate import UnsupportedSqlError, translate
from tests import helpers_sql

SETTINGS = Settings(glue_database="gamepipe")


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """A local engine over a small on-disk lake (1,000 events)."""
    root = tmp_path_factory.mktemp("lake")
    helpers_sql.write_lake_dir(root, helpers_sql.table_rows(helpers_sql.make_events(1000, 50)))
    eng = LocalEngine(SETTINGS, lake_root=root)
    yield eng
    eng.close()


def one(engine: LocalEngine, sql: str, params: Any = None) -> dict[str, Any]:
    rows = run_query(sql, params, settings=SETTINGS, engine=engine).to_pylist()
    assert len(rows) == 1
    return rows[0]


def test_integer_division_truncates_like_athena(engine: LocalEngine) -> None:
    # GIVEN integer operands (sqlglot alone would give 3.5)
    # WHEN dividing literals and bigint columns
    row = one(engine, "SELECT 7 / 2 AS a, -7 / 2 AS b, 7.0 / 2 AS c, 7 / 2.0 AS d")
    levels = run_query(
        "SELECT level, level / 3 AS third FROM character_stats", settings=SETTINGS, engine=engine
    ).to_pylist()

    # THEN integer division truncates toward zero; a decimal operand keeps the fraction
    assert (row["a"], row["b"]) == (3, -3)
    assert float(row["c"]) == 3.5 and float(row["d"]) == 3.5
    assert levels and all(r["third"] == r["level"] // 3 for r in levels)


def test_date_functions(engine: LocalEngine) -> None:
    # GIVEN Athena's date functions with MySQL-style patterns
    row = one(
        engine,
        "SELECT date_trunc('day', from_iso8601_timestamp('2026-11-27T13:45:10+02:00')) AS d,"
        " from_iso8601_timestamp('2026-11-27T13:45:10+02:00') AS ts,"
        " date_format(TIMESTAMP '2026-11-27 13:45:10', '%Y-%m-%d %H:%i:%s') AS f,"
        " date_parse('2026-11-27 13:45', '%Y-%m-%d %H:%i') AS p",
    )
    # THEN they compute in UTC with Athena's meaning of the pattern letters
    assert row["ts"] == datetime(2026, 11, 27, 11, 45, 10, tzinfo=UTC)
    assert row["d"] == datetime(2026, 11, 27, tzinfo=UTC)
    assert row["f"] == "2026-11-27 13:45:10"
    assert row["p"] == datetime(2026, 11, 27, 13, 45)


def test_casts(engine: LocalEngine) -> None:
    # GIVEN casts a user writes in Athena
    row = one(
        engine,
        "SELECT CAST('42' AS integer) + 1 AS i, CAST(3.7 AS bigint) AS r,"
        " CAST(12 AS varchar) AS s, CAST('2026-11-27' AS date) AS d",
    )
    # THEN the values match Athena (double -> bigint rounds)
    assert row == {"i": 43, "r": 4, "s": "12", "d": datetime(2026, 11, 27).date()}


def test_sum_of_integers_is_bigint(engine: LocalEngine) -> None:
    # GIVEN sum() over a bigint column (DuckDB's own result type is a 128-bit integer)
    table = run_query(
        "SELECT sum(amount_purchased) AS total FROM purchase_events",
        settings=SETTINGS,
        engine=engine,
    )
    # THEN the result is bigint, as in Athena
    assert table.schema.field("total").type == pa.int64()
    assert table.column("total")[0].as_py() > 0


def test_sums_in_questions_and_reports_are_bigint(engine: LocalEngine) -> None:
    # GIVEN sums over CTE columns built with min_by (types sqlglot cannot infer)
    q1 = run_query("q1", settings=SETTINGS, engine=engine)
    as_of = {"as_of": "2099-12-31"}
    purchases = run_query("player_purchases", as_of, settings=SETTINGS, engine=engine)
    # THEN they still come back as bigint, not 128-bit decimals
    assert q1.schema.field("purchased").type == pa.int64()
    for column in ("swords", "shields", "potions", "gold_spent"):
        assert purchases.schema.field(column).type == pa.int64()


def test_approx_distinct_within_tolerance(engine: LocalEngine) -> None:
    # GIVEN 20,000 distinct values (Athena's approx_distinct has ~2.3% standard error)
    row = one(
        engine,
        "SELECT approx_distinct(x) AS approx, count(DISTINCT x) AS exact"
        " FROM UNNEST(sequence(1, 20000)) AS t(x)",
    )
    # THEN the estimate is within 5% of the exact count (the local engine counts exactly)
    assert row["exact"] == 20000
    assert abs(row["approx"] - 20000) / 20000 < 0.05


def test_count_if_of_nothing_is_zero_like_athena(engine: LocalEngine) -> None:
    # GIVEN only NULL and false values, and no row at all (Trino's count_if gives 0; DuckDB's
    # own count_if gives NULL)
    row = one(
        engine,
        "SELECT count_if(x) AS nulls, count_if(x = 1) AS falses,"
        " (SELECT count_if(true) FROM UNNEST(sequence(1, 3)) AS e(y) WHERE y > 5) AS none_"
        " FROM (VALUES CAST(NULL AS boolean)) AS t(x)",
    )
    windowed = one(
        engine,
        "SELECT count_if(x) OVER () AS w FROM (VALUES CAST(NULL AS boolean)) AS t(x)",
    )
    # THEN every count is 0, never NULL
    assert row == {"nulls": 0, "falses": 0, "none_": 0}
    assert windowed == {"w": 0}


def test_window_functions(engine: LocalEngine) -> None:
    # GIVEN ranking and running sums over a table
    rows = run_query(
        "SELECT userid, level,"
        " row_number() OVER (PARTITION BY userid ORDER BY event_ts DESC, event_id DESC) AS rn,"
        " rank() OVER (ORDER BY level DESC) AS rk,"
        " sum(level) OVER (PARTITION BY userid) AS total"
        " FROM character_stats",
        settings=SETTINGS,
        engine=engine,
    ).to_pylist()
    # THEN each player's rows are numbered 1..n and the sums agree with Python
    by_user: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        by_user.setdefault(r["userid"], []).append(r)
    for user_rows in by_user.values():
        assert sorted(r["rn"] for r in user_rows) == list(range(1, len(user_rows) + 1))
        assert {r["total"] for r in user_rows} == {sum(r["level"] for r in user_rows)}
    top = max(r["level"] for r in rows)
    assert {r["rk"] for r in rows if r["level"] == top} == {1}


def test_top_n_aggregate_and_array_access(engine: LocalEngine) -> None:
    # GIVEN max(x, n) (Trino: the n largest values, duplicates kept, as an array) and
    # element_at / cardinality over it, as questions/q2 uses them
    rows = run_query(
        "SELECT userid, max(level, 2) AS top2, cardinality(max(level, 2)) AS n,"
        " element_at(max(level, 2), 2) AS second, element_at(max(level, 2), 3) AS third"
        " FROM character_stats GROUP BY userid",
        settings=SETTINGS,
        engine=engine,
    ).to_pylist()
    levels = run_query(
        "SELECT userid, level FROM character_stats", settings=SETTINGS, engine=engine
    ).to_pylist()
    by_user: dict[str, list[int]] = {}
    for r in levels:
        by_user.setdefault(r["userid"], []).append(r["level"])
    # THEN each is Python's answer: out-of-range element_at is NULL, not an error
    assert len(rows) == len(by_user)
    for r in rows:
        top = sorted(by_user[r["userid"]], reverse=True)[:2]
        assert sorted(r["top2"], reverse=True) == top and r["n"] == len(top)
        assert r["second"] == (r["top2"][1] if r["n"] == 2 else None)  # 1-based
        assert r["third"] is None
    assert any(r["n"] == 2 and r["top2"][0] == r["top2"][1] for r in rows)  # a duplicate kept


def test_fully_qualified_names(engine: LocalEngine) -> None:
    # GIVEN the same count through "awsdatacatalog"."db"."t", "db"."t" and "t"
    sqls = [
        'SELECT count(*) AS n FROM "awsdatacatalog"."gamepipe"."guild_events"',
        "SELECT count(*) AS n FROM gamepipe.guild_events",
        "SELECT count(*) AS n FROM guild_events",
    ]
    # THEN all three name the same table
    counts = {one(engine, sql)["n"] for sql in sqls}
    assert len(counts) == 1 and counts.pop() > 0


def test_unnamed_columns_are_named_like_athena(engine: LocalEngine) -> None:
    # GIVEN computed columns without an alias
    table = run_query(
        "SELECT guild_name, count(DISTINCT userid), CAST(1 AS varchar) FROM guild_events"
        " GROUP BY guild_name",
        settings=SETTINGS,
        engine=engine,
    )
    # THEN they are _col<N> (0-based position), as Athena names them
    assert table.column_names == ["guild_name", "_col1", "_col2"]


def test_bound_parameters(engine: LocalEngine) -> None:
    # GIVEN qmark (list) and named (dict) parameters
    by_qmark = one(
        engine,
        "SELECT count(*) AS n FROM character_events WHERE event_type = ? AND dt >= ?",
        ["defeat_enemy", "2000-01-01"],
    )
    by_name = one(
        engine,
        "SELECT count(*) AS n FROM character_events WHERE event_type = :kind",
        {"kind": "defeat_enemy"},
    )
    plain = one(
        engine,
        "SELECT count(*) AS n FROM character_events WHERE event_type = 'defeat_enemy'",
    )
    # THEN both bind like the literal would
    assert by_qmark == by_name == plain and plain["n"] > 0


def test_partition_column_and_pruning(engine: LocalEngine) -> None:
    # GIVEN the lake's dt partitions
    days = run_query(
        "SELECT dt, count(*) AS n FROM purchase_events GROUP BY dt ORDER BY dt",
        settings=SETTINGS,
        engine=engine,
    ).to_pylist()
    # THEN dt is a string column from the partition and filtering on it selects that day
    assert [d["dt"] for d in days] == ["2026-11-26", "2026-11-27"]
    first = one(engine, "SELECT count(*) AS n FROM purchase_events WHERE dt = ?", [days[0]["dt"]])
    assert first["n"] == days[0]["n"]


@pytest.mark.parametrize(
    ("sql", "named"),
    [
        ("SELECT format_datetime(event_ts, 'yyyy-MM-dd') FROM events", "format_datetime"),
        ("SELECT parse_datetime('2026-11-27', 'yyyy-MM-dd')", "parse_datetime"),
        ("SELECT format('%s-%d', userid, 5) FROM events", "format"),
        ('SELECT "$path" FROM events', "$path"),
        ("SELECT no_such_function(userid) FROM events", "no_such_function"),
        ("SELECT 1; SELECT 2", "one statement"),
        ("SELECT * FROM otherdb.events", "otherdb"),
        ("SELECT * FROM hive.gamepipe.events", "hive"),
        ("INSERT INTO events SELECT * FROM events", "INSERT"),
        ("SELECT nope FROM events", "nope"),
    ],
)
def test_untranslatable_constructs_fail_clearly(engine: LocalEngine, sql: str, named: str) -> None:
    # GIVEN SQL the local engine cannot run the way Athena would
    # WHEN it is run, THEN it fails with UnsupportedSqlError naming the construct
    with pytest.raises(UnsupportedSqlError, match=named.replace("$", r"\$")):
        run_query(sql, settings=SETTINGS, engine=engine)


def test_empty_lake_gives_typed_empty_tables(tmp_path: Path) -> None:
    # GIVEN a lake with no partitions at all
    engine = LocalEngine(SETTINGS, lake_root=tmp_path)
    # WHEN querying a table
    table = run_query("SELECT * FROM character_stats", settings=SETTINGS, engine=engine)
    engine.close()
    # THEN the result is empty with the Glue column types
    assert table.num_rows == 0
    assert table.schema.field("level").type == pa.int64()
    assert table.schema.field("event_ts").type == pa.timestamp("us")
    assert table.column_names[-1] == "dt"


@pytest.mark.parametrize("n", range(1, 8))
def test_seed_queries_run_unchanged(engine: LocalEngine, n: int) -> None:
    # GIVEN the seed's verbatim Presto query (trailing ';' and all)
    # WHEN it runs on the local engine
    table = run_query(f"seed/q{n}", settings=SETTINGS, engine=engine)
    # THEN it returns rows (the seed's semantics, not ours)
    assert table.num_rows > 0


def test_seed_q3_sums_levels_where_ours_takes_the_max(engine: LocalEngine) -> None:
    # GIVEN the seed's and our top-levels queries on the same data
    seed = run_query("seed/q3", settings=SETTINGS, engine=engine).to_pylist()
    ours = run_query("q3", settings=SETTINGS, engine=engine).to_pylist()
    # THEN the seed's "level" is a sum (larger than any level reached), ours is a real level
    assert seed[0]["player_level"] > ours[0]["level"]
    assert ours[0]["level"] <= 12


def test_a_view_is_read_through_with_only_the_columns_used(engine: LocalEngine) -> None:
    # GIVEN q1, which reads the unique_purchases view (userid, item_type, amount, price, dt)
    # WHEN translated for DuckDB
    duck = engine.translate(resolve_sql("q1"))
    # THEN the view's SQL stands in its place, reading only what q1 uses: DuckDB 1.4 would
    # read every column of the view's UNION ALL branches if given the view itself
    assert "unique_purchases" in duck and '"purchase_events"' in duck
    assert '"price"' not in duck and '"userid"' not in duck
    # AND querying the view directly gives its rows
    rows = run_query(
        "SELECT count(*) AS n, count(DISTINCT dt) AS days FROM unique_purchases",
        settings=SETTINGS,
        engine=engine,
    ).to_pylist()
    assert rows[0]["n"] > 0 and rows[0]["days"] >= 1


def test_views_on_views_resolve_and_a_cycle_is_an_error() -> None:
    # GIVEN a view that reads another view, and two views that read each other
    tables = {"t": {"a": "bigint", "dt": "string"}}
    views = {"v1": "SELECT a, dt FROM t WHERE a > 0", "v2": "SELECT a FROM v1 WHERE dt = 'x'"}
    # WHEN a statement reads the outer view THEN both are inlined, innermost last
    duck = translate("SELECT sum(a) AS s FROM v2", tables, database="db", views=views)
    assert '"db"."t"' in duck and "v1" in duck and "v2" in duck
    # AND a cycle is refused, naming the path
    loop = {"v1": "SELECT a FROM v2", "v2": "SELECT a FROM v1"}
    with pytest.raises(UnsupportedSqlError, match="v1 reads itself"):
        translate("SELECT a FROM v1", tables, database="db", views=loop)
