"""Unit tests of the pure report renderer: tables in, index.html + CSVs + manifest out."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import UTC, date, datetime

import pyarrow as pa
import pytest

from chalicelib.reports import build_report, format_date
from chalicelib.reports.charts import distribution, largest
from chalicelib.reports.handlers import scheduled_date
from tests.helpers_reports import empty_tables, html_tables, load_event, sample_tables

AS_OF = date(2021, 8, 6)
STAMP = datetime(2021, 8, 6, 0, 15, tzinfo=UTC)


def _html(files) -> str:
    return files.get("index.html").decode("utf-8")


def _body_rows(section_rows):
    """Data rows of a section's table: skip the header row and the totals row."""
    return [r for r in section_rows if r[0]["tag"] == "td" and r[0]["row"] != "totals"]


def test_title_date_is_month_dd_yyyy():
    # GIVEN the seed's report date
    # WHEN the title date is formatted and the report rendered
    html = _html(build_report(sample_tables(), AS_OF, 10, generated_at=STAMP))
    # THEN it reads like the seed's "August 06, 2021" in every report title
    assert format_date(AS_OF) == "August 06, 2021"
    assert format_date(date(2026, 11, 3)) == "November 03, 2026"
    for title in ("Player Standings", "Player Purchases", "Guild Membership"):
        assert f"{title} Report as of August 06, 2021" in html
    assert "<title>Game Analytics Reports as of August 06, 2021</title>" in html


def test_column_maxima_are_highlighted_ties_included():
    # GIVEN standings where several players share the top level
    tables = sample_tables()
    # WHEN rendered with the top 10 shown
    sections = html_tables(_html(build_report(tables, AS_OF, 10, generated_at=STAMP)))
    rows = _body_rows(sections["player_standings"])
    # THEN every cell equal to its column's maximum among the shown rows is highlighted
    shown = tables["player_standings"].slice(0, 10).to_pylist()
    for col_index, col in enumerate(["userid", "level", "attack", "defense", "health"]):
        cells = [r[col_index] for r in rows]
        if col == "userid":
            assert not any("max" in c["classes"] for c in cells)
            continue
        top = max(r[col] for r in shown)
        expected = [r[col] == top for r in shown]
        assert ["max" in c["classes"] for c in cells] == expected
    assert sum("max" in r[1]["classes"] for r in rows) >= 2  # a tie at the top level


def test_guild_maximum_highlighted_once():
    # GIVEN three guilds with distinct member counts
    html = _html(build_report(sample_tables(), AS_OF, 10, generated_at=STAMP))
    rows = _body_rows(html_tables(html)["guild_membership"])
    # THEN only the largest guild's count is highlighted
    assert [("max" in r[1]["classes"]) for r in rows] == [True, False, False]
    assert rows[0][0]["text"] == "Knights of the Round Table"


def test_top_n_rows_with_totals_over_all_rows_and_csv_has_all():
    # GIVEN 30 players and top_n = 5
    tables = sample_tables(30)
    files = build_report(tables, AS_OF, 5, generated_at=STAMP)
    sections = html_tables(_html(files))
    # WHEN the purchases section is read back
    rows = sections["player_purchases"]
    body = _body_rows(rows)
    totals = [r for r in rows if r[0]["row"] == "totals"]
    # THEN the page shows the first 5 rows in the SQL's order and totals over all 30
    all_rows = tables["player_purchases"].to_pylist()
    assert [r[0]["text"] for r in body] == [r["userid"] for r in all_rows[:5]]
    assert len(totals) == 1
    assert totals[0][0]["text"] == "Total (30 rows)"
    assert totals[0][3]["text"] == f"{sum(r['potions'] for r in all_rows):,}"
    assert totals[0][4]["text"] == f"{sum(r['gold_spent'] for r in all_rows):,}"
    assert "Showing 5 of 30 rows" in _html(files)
    # AND the CSV has every row, same order, same values
    parsed = list(csv.DictReader(io.StringIO(files.get("player_purchases.csv").decode())))
    assert len(parsed) == 30
    assert [{k: str(v) for k, v in r.items()} for r in all_rows] == parsed


def test_manifest_counts_engine_and_files():
    # GIVEN a report built with an engine name and a query id
    files = build_report(
        sample_tables(12), AS_OF, 5, generated_at=STAMP, engine="athena",
        query_ids={"player_standings": "qid-1"},
    )  # fmt: skip
    # WHEN the manifest is read
    manifest = json.loads(files.get("manifest.json"))
    # THEN it carries row counts, generated_at, engine, query ids and lists every file
    assert manifest["row_counts"] == {
        "player_standings": 12, "player_purchases": 12, "guild_membership": 3,
    }  # fmt: skip
    assert manifest["generated_at"] == "2021-08-06T00:15:00+00:00"
    assert manifest["engine"] == "athena"
    assert manifest["query_ids"] == {"player_standings": "qid-1"}
    assert manifest["as_of"] == "2021-08-06"
    assert manifest["files"] == [f.name for f in files.files]
    assert files.files[-1].name == "manifest.json"  # written last


@pytest.mark.parametrize("tables", [empty_tables(), {}], ids=["zero-rows", "no-tables"])
def test_empty_data_gives_a_valid_report_saying_no_events(tables):
    # GIVEN a lake with no events yet
    # WHEN the report is built
    files = build_report(tables, AS_OF, 10, generated_at=STAMP)
    html = _html(files)
    # THEN it renders, says so, and has no data rows
    assert 'id="no-events"' in html
    assert html.count("No events yet.") == 3
    assert "Player Standings Report as of August 06, 2021" in html
    assert all(n == 0 for n in files.row_counts.values())
    assert len(files.files) == 5
    for name in ("player_standings", "player_purchases", "guild_membership"):
        assert list(csv.reader(io.StringIO(files.get(f"{name}.csv").decode())))[1:] == []


def test_empty_csv_keeps_the_header_when_columns_are_known():
    # GIVEN zero-row tables that still have their columns
    files = build_report(empty_tables(), AS_OF, 10)
    # THEN each CSV is just the header line
    assert files.get("guild_membership.csv") == b"guild_name,members\n"


def test_page_is_self_contained_no_external_urls():
    # GIVEN a full report
    html = _html(build_report(sample_tables(), AS_OF, 10, generated_at=STAMP))
    # THEN nothing is fetched from elsewhere: no external src/href, scripts, stylesheets
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", html, re.I)
    assert not re.search(r"https?://", html)
    assert "<script" not in html.lower()
    assert "<link" not in html.lower()
    assert "@import" not in html and "url(" not in html
    # AND the three charts are inline SVG
    assert html.count("<svg") == 3


def test_charts_have_one_bar_per_category():
    # GIVEN sample tables (levels 1..12, three items, three guilds)
    html = _html(build_report(sample_tables(), AS_OF, 10, generated_at=STAMP))
    svgs = re.findall(r"<svg.*?</svg>", html, re.S)
    # THEN bar counts match the categories
    assert [s.count('class="bar"') for s in svgs] == [12, 3, 3]
    assert "Members per guild" in svgs[2] and ">Castle of Rock<" in svgs[2]


def test_user_text_is_escaped():
    # GIVEN a guild name with markup in it
    tables = sample_tables()
    tables["guild_membership"] = pa.table(
        {"guild_name": ["<script>alert(1)</script>"], "members": pa.array([1], pa.int64())}
    )
    html = _html(build_report(tables, AS_OF, 10))
    # THEN it is shown as text, not markup
    assert "<script>" not in html
    assert "&lt;script&gt;" in html


def test_same_input_same_bytes():
    # GIVEN the same tables, date and timestamp twice
    a = build_report(sample_tables(), AS_OF, 10, generated_at=STAMP)
    b = build_report(sample_tables(), AS_OF, 10, generated_at=STAMP)
    # THEN the files are byte-identical (re-runs overwrite with the same content)
    assert [(f.name, f.body) for f in a.files] == [(f.name, f.body) for f in b.files]


def test_nulls_and_decimals_render():
    # GIVEN a DuckDB-style HUGEINT sum (decimal) and a null
    tables = {
        "guild_membership": pa.table(
            {"guild_name": ["a", "b"], "members": pa.array([None, 7], pa.decimal128(38, 0))}
        )
    }
    files = build_report(tables, AS_OF, 10)
    rows = _body_rows(html_tables(_html(files))["guild_membership"])
    # THEN null shows as a dash, the decimal as an integer, and the max is the non-null one
    assert [r[1]["text"] for r in rows] == ["—", "7"]
    assert ["max" in r[1]["classes"] for r in rows] == [False, True]
    assert files.get("guild_membership.csv") == b"guild_name,members\na,\nb,7\n"


def test_csv_cells_that_a_spreadsheet_would_run_are_neutralised():
    # GIVEN guild names a player chose: formulas, a tab/CR-led cell, and harmless ones; and a
    # negative number (a number, not a formula)
    names = ["=HYPERLINK(\"http://x\",\"pwned\")", "+1+1", "-2+3", "@SUM(A1)", "\tTab",
             "\rCR", "Knights=Good", "plain"]  # fmt: skip
    tables = {
        "guild_membership": pa.table(
            {"guild_name": names, "members": pa.array([-5, 1, 1, 1, 1, 1, 1, 1], pa.int64())}
        )
    }
    # WHEN the CSV is written
    rows = list(csv.reader(io.StringIO(build_report(tables, AS_OF, 10).get(
        "guild_membership.csv").decode(), newline="")))  # fmt: skip
    # THEN every cell starting with = + - @ TAB CR is prefixed with ' (OWASP); others and
    # numbers are as they were
    assert [r[0] for r in rows[1:]] == [
        "'=HYPERLINK(\"http://x\",\"pwned\")", "'+1+1", "'-2+3", "'@SUM(A1)", "'\tTab",
        "'\rCR", "Knights=Good", "plain",
    ]  # fmt: skip
    assert rows[1][1] == "-5"


def test_level_distribution_groups_wide_ranges():
    # GIVEN levels 1..100 (too many bars)
    bars = distribution(range(1, 101), max_bars=20)
    # THEN they are grouped into <= 20 equal ranges covering every player
    assert len(bars) == 20
    assert bars[0] == ("1–5", 5)
    assert sum(n for _, n in bars) == 100
    # AND a narrow range keeps one bar per level, including empty levels
    assert distribution([1, 3, 3]) == [("1", 1), ("2", 0), ("3", 2)]
    assert distribution([]) == []


def test_largest_keeps_the_biggest_and_counts_the_rest():
    # GIVEN 5 guilds and room for 3 bars
    shown, left_out = largest([("b", 5), ("a", 5), ("c", 9), ("d", 1), ("e", 2)], max_bars=3)
    # THEN the 3 biggest (ties by name) are kept and 2 are counted as left out
    assert shown == [("c", 9), ("a", 5), ("b", 5)]
    assert left_out == 2


def test_scheduled_date_is_the_events_utc_date():
    # GIVEN the scheduled event fixture and an offset time
    # THEN the report date is the UTC date of "time"
    assert scheduled_date(load_event("schedule/daily_report.json")) == date(2026, 11, 28)
    assert scheduled_date({"time": "2026-11-28T23:30:00-02:00"}) == date(2026, 11, 29)
    with pytest.raises(ValueError):
        scheduled_date({})


def test_on_demand_rejects_a_bad_date_before_any_query():
    # GIVEN an on-demand event with a date that is not YYYY-MM-DD
    from chalicelib.reports import handle_on_demand
    from chalicelib.settings import Settings

    # WHEN it is handled THEN it fails fast (no query, no S3 call: none is set up here)
    with pytest.raises(ValueError):
        handle_on_demand({"date": "28/11/2026"}, Settings())
