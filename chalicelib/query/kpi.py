"""The KPI statements (athena_sql/kpi/) over a date range, and their answers-JSON shape.

Each statement takes ``:start`` and ``:end`` ('YYYY-MM-DD', inclusive) and reads the lake
as of ``:end``. The per-player bit masks behind dau, retention and wau/mau cover the 126
days ending ``:end`` (see athena_sql/README.md "KPIs"), so a range is at most
:data:`MAX_DAYS` long (99 for the rolling windows, which also read the 27 days before
``:start``); :func:`collect_kpis` refuses a longer one rather than answer it partly.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta
from typing import Any

import pyarrow as pa

from chalicelib.settings import Settings

KPI_NAMES = (
    "daily", "sessions", "active_users", "retention", "cohort_days", "progression", "guilds",
)  # fmt: skip
MAX_DAYS = 126
MAX_DAYS_OF = {"active_users": 99}
# The answers JSON's "kpi" keys, exactly (issue 15).
DAILY_ANSWER_KEYS = ("dt", "dau", "new_players", "gold_spent", "payers")
RETENTION_ANSWER_KEYS = ("cohort", "size", "d1", "d7", "d30")


def kpi_params(start: date, end: date) -> dict[str, str]:
    """The binding of the KPI statements' ``:start`` and ``:end``."""
    return {"start": start.isoformat(), "end": end.isoformat()}


def check_range(name: str, start: date, end: date) -> None:
    """Raise ValueError when ``[start, end]`` is empty or longer than ``name`` can answer."""
    longest = MAX_DAYS_OF.get(name, MAX_DAYS)
    if end < start:
        raise ValueError(f"kpi/{name}: end {end} is before start {start}")
    if (end - start).days + 1 > longest:
        raise ValueError(f"kpi/{name}: at most {longest} days, got {start}..{end}")


def clip_start(name: str, start: date, end: date) -> date:
    """The latest of ``start`` and the earliest day ``name`` can answer up to ``end``."""
    return max(start, end - timedelta(days=MAX_DAYS_OF.get(name, MAX_DAYS) - 1))


def collect_kpis(
    settings: Settings,
    start: date,
    end: date,
    *,
    engine: Any = None,
    names: tuple[str, ...] = KPI_NAMES,
) -> dict[str, pa.Table]:
    """Run the KPI statements over ``[start, end]`` on the configured (or given) engine."""
    from chalicelib.query import run_query

    for name in names:
        check_range(name, start, end)
    params = kpi_params(start, end)
    return {
        name: run_query(f"kpi/{name}", params, settings=settings, engine=engine) for name in names
    }


def lake_days(settings: Settings, *, engine: Any = None) -> tuple[date, date] | None:
    """The first and last day (dt) with any event, None for an empty lake."""
    from chalicelib.query import run_query

    row = run_query(
        "SELECT min(dt) AS first_dt, max(dt) AS last_dt FROM events",
        settings=settings,
        engine=engine,
    ).to_pylist()[0]
    if row["first_dt"] is None:
        return None
    return date.fromisoformat(row["first_dt"]), date.fromisoformat(row["last_dt"])


def kpi_answers_from_results(results: Mapping[str, pa.Table]) -> dict[str, list[dict[str, Any]]]:
    """``{"daily": [...], "retention": [...]}`` with exactly the answers JSON's keys."""
    return {
        "daily": _pick(results["daily"], DAILY_ANSWER_KEYS),
        "retention": _pick(results["retention"], RETENTION_ANSWER_KEYS),
    }


def collect_kpi_answers(settings: Settings, *, engine: Any = None) -> dict[str, Any]:
    """The answers JSON's ``"kpi"`` value over every day of the lake."""
    days = lake_days(settings, engine=engine)
    if days is None:
        return {"daily": [], "retention": []}
    results = collect_kpis(settings, *days, engine=engine, names=("daily", "retention"))
    return kpi_answers_from_results(results)


def _pick(table: pa.Table, keys: tuple[str, ...]) -> list[dict[str, Any]]:
    return [{k: row[k] for k in keys} for row in table.to_pylist()]
