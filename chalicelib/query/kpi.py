"""The KPI statements (athena_sql/kpi/, registered as ``kpi/<key>`` in statements.toml) over
a date range, and their answers-JSON shape.

Each statement takes ``:start`` and ``:end`` ('YYYY-MM-DD', inclusive), reads the lake as
of ``:end`` and, like the questions, takes the optional ``:application_id`` ('' = every
application). The per-player bit masks behind dau, retention and wau/mau cover the 126
days ending ``:end`` (see athena_sql/README.md "KPIs"), so a range is at most the KPI's
``max_days`` long (99 for the rolling windows, which also read the 27 days before
``:start``); :func:`collect_kpis` refuses a longer one rather than answer it partly.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta
from typing import Any

import pyarrow as pa

from chalicelib.query.params import ALL_APPLICATIONS, APPLICATION
from chalicelib.settings import Settings
from chalicelib.statements import KPIS, Kpi

# The KPIs' short names (result keys, the report's kpi_<key>.csv), from the registry.
KPI_NAMES: tuple[str, ...] = tuple(k.key for k in KPIS)
_BY_KEY: dict[str, Kpi] = {k.key: k for k in KPIS}
# The answers JSON's "kpi" keys, exactly (issue 15).
DAILY_ANSWER_KEYS = ("dt", "dau", "new_players", "gold_spent", "payers")
RETENTION_ANSWER_KEYS = ("cohort", "size", "d1", "d7", "d30")


def kpi(name: str) -> Kpi:
    """The registered KPI ``name`` ("daily" or "kpi/daily"); KeyError if unknown."""
    return _BY_KEY[name.removeprefix("kpi/")]


def kpi_params(start: date, end: date, application_id: str | None = None) -> dict[str, str]:
    """The binding of the KPI statements' ``:start``, ``:end`` and ``:application_id``
    (None: every application)."""
    return {
        "start": start.isoformat(),
        "end": end.isoformat(),
        APPLICATION: application_id or ALL_APPLICATIONS,
    }


def check_range(name: str, start: date, end: date) -> None:
    """Raise ValueError when ``[start, end]`` is empty or longer than ``name`` can answer."""
    statement = kpi(name)
    if end < start:
        raise ValueError(f"{statement.name}: end {end} is before start {start}")
    if (end - start).days + 1 > statement.max_days:
        raise ValueError(f"{statement.name}: at most {statement.max_days} days, got {start}..{end}")


def clip_start(name: str, start: date, end: date) -> date:
    """The latest of ``start`` and the earliest day ``name`` can answer up to ``end``."""
    return max(start, end - timedelta(days=kpi(name).max_days - 1))


def collect_kpis(
    settings: Settings,
    start: date,
    end: date,
    *,
    engine: Any = None,
    names: tuple[str, ...] = KPI_NAMES,
    application_id: str | None = None,
) -> dict[str, pa.Table]:
    """Run the KPI statements over ``[start, end]`` on the configured (or given) engine, for
    one application or every one; keyed by short name."""
    from chalicelib.query import run_query

    for name in names:
        check_range(name, start, end)
    params = kpi_params(start, end, application_id)
    return {
        name: run_query(kpi(name).name, params, settings=settings, engine=engine) for name in names
    }


def lake_days(
    settings: Settings, *, engine: Any = None, application_id: str | None = None
) -> tuple[date, date] | None:
    """The first and last day (dt) with any event (of the application), None for none."""
    from chalicelib.query import run_query

    row = run_query(
        "SELECT min(dt) AS first_dt, max(dt) AS last_dt FROM events"
        f" WHERE :{APPLICATION} = '' OR application_id = :{APPLICATION}",
        {APPLICATION: application_id or ALL_APPLICATIONS},
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


def collect_kpi_answers(
    settings: Settings, *, engine: Any = None, application_id: str | None = None
) -> dict[str, Any]:
    """The answers JSON's ``"kpi"`` value over every day of the lake (of the application)."""
    days = lake_days(settings, engine=engine, application_id=application_id)
    if days is None:
        return {"daily": [], "retention": []}
    results = collect_kpis(
        settings, *days, engine=engine, names=("daily", "retention"), application_id=application_id
    )
    return kpi_answers_from_results(results)


def _pick(table: pa.Table, keys: tuple[str, ...]) -> list[dict[str, Any]]:
    return [{k: row[k] for k in keys} for row in table.to_pylist()]
