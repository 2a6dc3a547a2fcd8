"""The KPI dashboard's content from the KPI statements' rows (pure): tiles with their
change against the week before, daily time series, the cohort heatmap, the funnel.

Input: ``{kpi name: rows}`` as the statements in athena_sql/kpi/ return them (lists of
row dicts or Arrow tables), as of the report date. Output: a plain dict the template
(``templates/kpi.html.j2``) renders; no I/O and no clock.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import pyarrow as pa

from chalicelib.reports.kpi_charts import (
    Heatmap,
    LineChart,
    funnel,
    line_chart,
    number,
    retention_heatmap,
)

Rows = Sequence[Mapping[str, Any]]
HEATMAP_COHORTS = 30
MATRIX_DAYS = 30
RETENTION_OFFSETS = (1, 7, 30)
WEEK = timedelta(days=7)
DAY_TILES = (("DAU", "dau"), ("New players", "new_players"), ("Gold per DAU", "gold_per_dau"))


@dataclass(frozen=True)
class Tile:
    """One headline number: its value, and its change against the week before."""

    label: str
    value: str
    change: str  # "+12.0%", "-1.5 pp", or "" when there is nothing to compare with
    trend: str  # "up", "down", "flat" or "" (CSS class)
    detail: str  # what is compared, e.g. "2026-11-28 vs 2026-11-21"


def rows_of(table: pa.Table | Rows | None) -> list[dict[str, Any]]:
    """Row dicts of an Arrow table or a row list (None: no rows)."""
    if table is None:
        return []
    if isinstance(table, pa.Table):
        return table.to_pylist()
    return [dict(r) for r in table]


def dashboard(kpis: Mapping[str, pa.Table | Rows | None], as_of: date) -> dict[str, Any]:
    """Everything the KPI section shows, from the KPI rows as of ``as_of``."""
    daily = rows_of(kpis.get("daily"))
    active = rows_of(kpis.get("active_users"))
    sessions = rows_of(kpis.get("sessions"))
    retention = rows_of(kpis.get("retention"))
    progression = rows_of(kpis.get("progression"))
    guilds = rows_of(kpis.get("guilds"))
    return {
        "as_of": as_of.isoformat(),
        "empty": not daily,
        "first_day": daily[0]["dt"] if daily else None,
        "last_day": daily[-1]["dt"] if daily else None,
        "tiles": tiles(daily, retention),
        "charts": charts({"daily": _with_sessions(daily, sessions), "active_users": active}),
        "heatmap": heatmap(rows_of(kpis.get("cohort_days")), retention[-HEATMAP_COHORTS:]),
        "funnel": funnel([(r["level"], r["players"], r["median_days"]) for r in progression]),
        "guilds": guild_weeks(guilds),
    }


def tiles(daily: Rows, retention: Rows) -> list[Tile]:
    """The latest day's DAU, new players, gold per DAU, and the latest known D1 and D7
    retention, each against the same measure a week before."""
    by_day = {r["dt"]: r for r in daily}
    out = []
    latest = daily[-1]["dt"] if daily else None
    for label, key in DAY_TILES:
        now = by_day.get(latest) if latest else None
        before = by_day.get(_week_before(latest)) if latest else None
        out.append(_tile(label, now, before, key, latest, _week_before(latest)))
    by_cohort = {r["cohort"]: r for r in retention}
    for n in (1, 7):
        known = [r for r in retention if r[f"d{n}"] is not None and r["size"]]
        cohort = known[-1]["cohort"] if known else None
        rate = _rate(by_cohort.get(cohort) if cohort else None, n)
        prior = _rate(by_cohort.get(_week_before(cohort)) if cohort else None, n)
        out.append(_rate_tile(f"D{n} retention", rate, prior, cohort, _week_before(cohort)))
    return out


def heatmap(cohort_days: Rows, retention: Rows) -> Heatmap:
    """Retention of the last cohorts on each of days 1..30 (``kpi/cohort_days``), or on
    days 1, 7 and 30 (``kpi/retention``) when the matrix is not there."""
    if not cohort_days:
        return retention_heatmap(
            [(r["cohort"], r["size"], [r[f"d{n}"] for n in RETENTION_OFFSETS]) for r in retention],
            RETENTION_OFFSETS,
        )
    cohorts = sorted({r["cohort"] for r in cohort_days})[-HEATMAP_COHORTS:]
    size = {r["cohort"]: r["size"] for r in cohort_days}
    active = {(r["cohort"], r["day"]): r["players"] for r in cohort_days}
    offsets = range(1, MATRIX_DAYS + 1)
    return retention_heatmap(
        [(c, size[c], [active.get((c, n)) for n in offsets]) for c in cohorts], offsets
    )


# The daily series: (title, KPI, [(legend, column)], y-axis title, as percentages).
SERIES = (
    ("Active players", "active_users",
     [("DAU", "dau"), ("WAU (7 days)", "wau"), ("MAU (28 days)", "mau")], "players", False),
    ("New players", "daily", [("new players", "new_players")], "players", False),
    ("Gold spent", "daily", [("gold spent", "gold_spent")], "gold", False),
    ("Payers", "daily", [("payers", "payers")], "players who bought", False),
    ("Gold per DAU", "daily", [("gold per DAU", "gold_per_dau")], "gold per active player",
     False),
    ("Stickiness (DAU / MAU)", "active_users", [("DAU / MAU", "stickiness")], "share of MAU",
     True),
    ("Sessions per DAU", "daily", [("sessions / DAU", "sessions_per_dau")],
     "sessions per active player", False),
)  # fmt: skip


def charts(rows: Mapping[str, Rows]) -> list[LineChart]:
    """The daily time series of :data:`SERIES`, one small chart each, for the KPIs that
    have rows."""
    out = []
    for title, kpi, lines, y_title, percent in SERIES:
        data = rows.get(kpi) or []
        series = [
            (legend, f"s{i + 1}", [r[column] for r in data])
            for i, (legend, column) in enumerate(lines)
        ]
        if any(v is not None for _, _, values in series for v in values):
            days = [r["dt"] for r in data]
            out.append(line_chart(title, days, series, y_title=y_title, percent=percent))
    return out


def _with_sessions(daily: Rows, sessions: Rows) -> list[dict[str, Any]]:
    """The daily rows with sessions per DAU: None on a day without sessions, i.e. whose
    events carry no session_id (a gap, and no chart when no day has any, rather than a
    line at 0 sessions per player)."""
    per_day = {r["dt"]: r["sessions"] for r in sessions}
    return [
        {**r, "sessions_per_dau": per_day[r["dt"]] / r["dau"] if per_day.get(r["dt"]) else None}
        for r in daily
    ]


def guild_weeks(guilds: Rows, weeks: int = 2) -> list[dict[str, Any]]:
    """The guild rows (joins, switches in, switches out) of the last ``weeks`` weeks."""
    recent = set(sorted({r["week"] for r in guilds})[-weeks:])
    return [dict(r) for r in guilds if r["week"] in recent]


def _week_before(day: str | None) -> str | None:
    return (date.fromisoformat(day) - WEEK).isoformat() if day else None


def _rate(row: Mapping[str, Any] | None, n: int) -> float | None:
    if row is None or row.get(f"d{n}") is None or not row["size"]:
        return None
    return float(row[f"d{n}"]) / float(row["size"])


def _tile(
    label: str,
    now: Mapping[str, Any] | None,
    before: Mapping[str, Any] | None,
    key: str,
    day: str | None,
    day_before: str | None,
) -> Tile:
    if now is None:
        return Tile(label, "—", "", "", "no events yet")
    value = float(now[key])
    text = number(value)
    if before is None or not before[key]:
        return Tile(label, text, "", "", f"{day}; no {day_before} to compare")
    change = (value - float(before[key])) / float(before[key])
    return Tile(label, text, f"{change:+.1%}", _trend(change), f"{day} vs {day_before}")


def _rate_tile(
    label: str, now: float | None, before: float | None, cohort: str | None, prior: str | None
) -> Tile:
    if now is None:
        return Tile(label, "—", "", "", "no cohort old enough yet")
    text = f"{now:.1%}"
    if before is None:
        return Tile(label, text, "", "", f"cohort {cohort}; no {prior} cohort to compare")
    points = (now - before) * 100
    return Tile(label, text, f"{points:+.1f} pp", _trend(points), f"cohort {cohort} vs {prior}")


def _trend(change: float) -> str:
    return "up" if change > 0 else "down" if change < 0 else "flat"
