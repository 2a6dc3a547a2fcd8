"""The KPI dashboard: chart geometry, tiles against the week before, and the page that
carries them next to the seed's three reports (no sums of levels, human timestamps,
axis titles, no bright yellow)."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime

import pyarrow as pa
import pytest

from chalicelib.reports import build_report
from chalicelib.reports.kpi_charts import funnel, line_chart, nice_ticks, retention_heatmap, shade
from chalicelib.reports.kpi_page import dashboard, tiles
from tests.helpers_kpi import sample_kpis
from tests.helpers_reports import sample_tables

AS_OF = date(2026, 3, 31)
STAMP = datetime(2026, 4, 1, 0, 15, 7, 123456, tzinfo=UTC)


@pytest.fixture(scope="module")
def kpis() -> dict[str, pa.Table]:
    return sample_kpis(AS_OF)


def test_nice_ticks_round_up_the_axis():
    assert nice_ticks(97) == (100, [0, 20, 40, 60, 80, 100])
    assert nice_ticks(0.27)[0] == pytest.approx(0.3)
    assert nice_ticks(0) == (1.0, [0.0, 1.0])


def test_line_chart_places_points_and_skips_gaps():
    chart = line_chart(
        "DAU", ["2026-03-01", "2026-03-02", "2026-03-03"], [("DAU", "s1", [50, None, 100])],
        y_title="players",
    )  # fmt: skip
    (series,) = chart.series
    assert [(p.x, p.y, p.day, p.text) for p in series.points] == [
        (0.0, 0.5, "2026-03-01", "50"), (1.0, 1.0, "2026-03-03", "100"),
    ]  # fmt: skip
    assert chart.x_axis.title == "day (UTC)" and chart.y_axis.title == "players"
    assert [t.label for t in chart.x_axis.ticks] == ["03-01", "03-02", "03-03"]
    assert chart.y_axis.ticks[-1].at == 1.0 and chart.y_axis.ticks[-1].label == "100"


def test_heatmap_shades_rates_and_leaves_unknown_days_blank():
    hm = retention_heatmap([("2026-03-01", 200, [100, 0, None])], [1, 7, 30])
    cohort, size, (half, none, unknown) = hm.rows[0]
    assert (cohort, size) == ("2026-03-01", "200")
    assert half.text == "50%" and none.text == "0%" and unknown.text == ""
    assert "not known yet" in unknown.title and "100 of 200" in half.title
    assert shade(0.0)[0] == "#eff5fb" and shade(1.0) == ("#084594", "#ffffff")


def test_funnel_bands_levels_past_the_limit():
    rows = [(level, 1000 - 10 * level, float(level)) for level in range(1, 61)]
    f = funnel(rows, max_bars=20)
    assert len(f.bars) == 20 and f.bars[0].label == "1–3" and f.bars[1].fraction == 960 / 990
    assert f.bars[0].value == 990 and f.bars[0].detail == "1 d" and "bands of 3" in f.note
    assert funnel(rows[:5]).bars[4].label == "5" and funnel([]).bars == ()


def test_tiles_compare_with_the_week_before():
    daily = [
        {"dt": "2026-03-24", "dau": 100, "new_players": 10, "gold_per_dau": 5.0},
        {"dt": "2026-03-31", "dau": 120, "new_players": 8, "gold_per_dau": 5.0},
    ]
    retention = [
        {"cohort": "2026-03-23", "size": 10, "d1": 4, "d7": 2},
        {"cohort": "2026-03-30", "size": 20, "d1": 10, "d7": None},
        {"cohort": "2026-03-31", "size": 5, "d1": None, "d7": None},
    ]
    dau, new, gold, d1, d7 = tiles(daily, retention)
    assert (dau.value, dau.change, dau.trend) == ("120", "+20.0%", "up")
    assert (new.change, new.trend, gold.trend) == ("-20.0%", "down", "flat")
    assert dau.detail == "2026-03-31 vs 2026-03-24"
    # D1: the latest cohort whose day +1 is known (03-30), against the cohort a week before
    assert (d1.value, d1.change, d1.detail) == (
        "50.0%",
        "+10.0 pp",
        "cohort 2026-03-30 vs 2026-03-23",
    )
    # D7: only the 03-23 cohort is old enough, and nothing a week before it
    assert d7.value == "20.0%" and d7.change == "" and "no 2026-03-16 cohort" in d7.detail


def test_dashboard_has_every_part(kpis):
    page = dashboard(kpis, AS_OF)
    assert not page["empty"] and page["last_day"] == "2026-03-31"
    assert [t.label for t in page["tiles"]] == [
        "DAU", "New players", "Gold per DAU", "D1 retention", "D7 retention",
    ]  # fmt: skip
    assert all(t.value != "—" and t.change for t in page["tiles"])
    assert len(page["charts"]) == 7 and all(len(c.series[0].points) > 30 for c in page["charts"])
    assert len(page["heatmap"].rows) == 30 and len(page["heatmap"].columns) == 30
    assert page["funnel"].bars[0].value > page["funnel"].bars[-1].value > 0
    assert page["guilds"]


def test_sessions_per_dau_is_a_gap_where_no_event_has_a_session(kpis):
    # GIVEN the sample's sessions, then a day with 0 sessions (its events carry no
    # session_id), then events without any session at all
    title = "Sessions per DAU"
    sessions = kpis["sessions"].to_pylist()
    with_sessions = [c for c in dashboard(kpis, AS_OF)["charts"] if c.title == title]
    one_day_none = {**kpis, "sessions": [{**sessions[0], "sessions": 0}, *sessions[1:]]}
    gap = [c for c in dashboard(one_day_none, AS_OF)["charts"] if c.title == title]
    none = {**kpis, "sessions": [{**r, "sessions": 0} for r in sessions]}
    # THEN the chart has a point per day with sessions, none at 0 for the day without,
    # and no chart at all when no day has any (not a line at 0 sessions per player)
    assert len(with_sessions[0].series[0].points) == len(sessions)
    assert len(gap[0].series[0].points) == len(sessions) - 1
    assert title not in [c.title for c in dashboard(none, AS_OF)["charts"]]


def test_report_page_with_kpis(kpis):
    # GIVEN the seed's report tables and the KPIs
    files = build_report(sample_tables(), AS_OF, 10, generated_at=STAMP, kpis=kpis)
    html = files.get("index.html").decode()
    # THEN the dashboard opens the page: tiles, one SVG per chart, heatmap and funnel
    assert html.index('id="kpis"') < html.index('id="player_standings"')
    assert html.count('class="tile"') == 5
    assert html.count('class="chart line-chart"') == 7
    assert html.count('<g class="cell">') == 30 * 30 and html.count('class="funnel-bar"') > 10
    # AND a CSV per KPI, listed in the manifest with its row count
    manifest = json.loads(files.get("manifest.json"))
    assert manifest["kpi_rows"]["daily"] == 40
    assert {f"kpi_{n}.csv" for n in kpis} <= set(manifest["files"])
    assert files.get("kpi_daily.csv").startswith(b"dt,dau,new_players,gold_spent,payers")


def test_report_page_fixes_the_seeds_look():
    files = build_report(sample_tables(), AS_OF, 10, generated_at=STAMP)
    html = files.get("index.html").decode()
    standings = html[html.index('id="player_standings"') : html.index('id="player_purchases"')]
    # no "Total" row over levels, attack, defense and health; purchases keep theirs
    assert "Total (" not in standings and 'class="totals"' not in standings
    assert html.count('class="totals"') == 2
    # a human timestamp on the page (no microseconds), seconds in the manifest
    assert "generated 2026-04-01 00:15 UTC" in html and "123456" not in html
    assert json.loads(files.get("manifest.json"))["generated_at"] == "2026-04-01T00:15:07+00:00"
    # both axes of every bar chart have a title; no bright yellow anywhere
    svgs = re.findall(r"<svg.*?</svg>", html, re.S)
    assert all(s.count('class="axis-title"') == 2 for s in svgs)
    assert not re.search(r"yellow|#ff0\b|#ffff00", html, re.I)


def test_dashboard_without_events_says_so():
    empty = {name: pa.table({"dt": pa.array([], pa.string())}) for name in ("daily",)}
    html = build_report(sample_tables(), AS_OF, 10, kpis=empty).get("index.html").decode()
    assert "No events yet: no KPIs as of 2026-03-31" in html and 'class="tile"' not in html
