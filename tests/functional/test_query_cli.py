"""`gamepipe query` over a local lake directory, in each output format."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from gamepipe import oracle_kpi
from gamepipe.commands.query import query
from gamepipe.oracle import compute_answers, compute_reports
from tests import helpers_sql

EVENTS = helpers_sql.make_events(400, 40, seed=11)


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("lake")
    helpers_sql.write_lake_dir(root, helpers_sql.table_rows(EVENTS))
    return root


def invoke(*args: str) -> str:
    result = CliRunner().invoke(query, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def test_named_question_as_json_equals_oracle(lake: Path) -> None:
    # WHEN running q4 by name as JSON
    rows = json.loads(invoke("q4", "--lake-root", str(lake), "--format", "json"))
    # THEN the rows are the oracle's top 10
    assert [[r["userid"], r["defeats"]] for r in rows] == compute_answers(EVENTS)["q4"]


def test_table_and_csv_formats(lake: Path) -> None:
    # WHEN printing q1 as a table and as CSV
    table = invoke("q1", "--lake-root", str(lake))
    csv = invoke("q1", "--lake-root", str(lake), "--format", "csv")
    # THEN both carry the three items and their totals
    q1 = compute_answers(EVENTS)["q1"]
    assert table.splitlines()[0].split() == ["item_type", "|", "purchased"]
    assert table.rstrip().endswith("(3 rows)")
    assert csv.splitlines() == ['"item_type","purchased"'] + [f'"{k}",{v}' for k, v in q1.items()]


def test_sql_with_params(lake: Path) -> None:
    # WHEN running SQL text with a bound value
    out = invoke(
        "--sql",
        "SELECT count(*) AS n FROM character_events WHERE event_type = ?",
        "-p",
        "enemy_attack",
        "--lake-root",
        str(lake),
        "--format",
        "json",
    )
    # THEN the count matches the events sent
    expected = sum(1 for e in EVENTS if e["event_type"] == "enemy_attack")
    assert json.loads(out) == [{"n": expected}]


def test_untranslatable_sql_is_a_clear_error(lake: Path) -> None:
    # WHEN the SQL uses a Java-pattern function
    result = CliRunner().invoke(
        query,
        ["--sql", "SELECT format_datetime(event_ts, 'yyyy') FROM events", "--lake-root", str(lake)],
    )
    # THEN the command fails naming the construct
    assert result.exit_code == 1
    assert "format_datetime" in result.output


def test_unknown_name_and_list(lake: Path) -> None:
    # GIVEN an unknown name THEN an error; --list shows the names
    result = CliRunner().invoke(query, ["q42", "--lake-root", str(lake)])
    assert result.exit_code == 1 and "q42" in result.output
    assert "player_standings" in invoke("--list")


def test_report_as_of_a_day(lake: Path) -> None:
    # GIVEN events on two UTC days (the helper's events span midnight)
    first_day = helpers_sql.BASE_TS.date()
    # WHEN a report runs as of the first day, and with today's default
    out = invoke("player_purchases", "--lake-root", str(lake), "--format", "json",
                 "--as-of", first_day.isoformat())  # fmt: skip
    today = invoke("player_purchases", "--lake-root", str(lake), "--format", "json")
    # THEN each is the oracle's report over the events up to that day
    expected = compute_reports(EVENTS, as_of=first_day)["player_purchases"]
    everything = compute_reports(EVENTS)["player_purchases"]
    assert json.loads(out) == expected and expected != everything
    assert json.loads(today) == everything
    # AND --as-of on a statement without :as_of, or --param on a report, is a usage error
    for args in (["q1", "--as-of", "2026-11-27"], ["player_purchases", "--param", "x"]):
        result = CliRunner().invoke(query, [*args, "--lake-root", str(lake)])
        assert result.exit_code == 2 and "as_of" in result.output


def test_kpi_over_a_date_range_and_one_application(lake: Path) -> None:
    # GIVEN events on two UTC days, stamped with no application
    first = helpers_sql.BASE_TS.date()
    last = first + timedelta(days=1)
    counted = oracle_kpi.plays(EVENTS)
    # WHEN kpi/daily runs over both days, over the second only, and for an application
    # that sent nothing
    both = invoke("kpi/daily", "--lake-root", str(lake), "--format", "json",
                  "--start", first.isoformat(), "--end", last.isoformat())  # fmt: skip
    second = invoke("kpi/daily", "--lake-root", str(lake), "--format", "json",
                    "--start", last.isoformat(), "--end", last.isoformat())  # fmt: skip
    other = invoke("kpi/daily", "--lake-root", str(lake), "--format", "json",
                   "--end", last.isoformat(), "--application", "game-x")  # fmt: skip
    # THEN each is the oracle's over that range (the second day's new players know the
    # first day), and the other application has no rows
    assert json.loads(both) == oracle_kpi.daily(counted, first, last)
    assert len(json.loads(both)) == 2
    assert json.loads(second) == oracle_kpi.daily(counted, last, last)
    assert json.loads(other) == []
    # AND a range the KPI cannot answer, or a range on a statement without one, is a usage
    # error
    for args, says in (
        (["kpi/daily", "--start", "2026-01-02", "--end", "2026-01-01"], "before start"),
        (["kpi/retention", "--start", "2025-01-01", "--end", "2026-01-01"], "at most 126 days"),
        (["q1", "--start", "2026-01-01"], "no :start"),
    ):
        result = CliRunner().invoke(query, [*args, "--lake-root", str(lake)])
        assert result.exit_code == 2 and says in result.output, result.output
