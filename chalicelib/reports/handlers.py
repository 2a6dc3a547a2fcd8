"""Lambda entry points: run the three report queries, render, publish.

``app.py`` calls :func:`handle_scheduled` (CloudWatch/EventBridge schedule) and
:func:`handle_on_demand` (direct invoke); the CLI and the demo call :func:`generate_report`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pyarrow as pa

from chalicelib.query.kpi import kpi_params
from chalicelib.query.params import as_of_params
from chalicelib.reports.definitions import REPORT_NAMES
from chalicelib.reports.publish import PublishResult, publish_report
from chalicelib.reports.render import ReportFiles, build_report
from chalicelib.settings import Settings
from chalicelib.statements import KPIS

logger = logging.getLogger(__name__)

# run_query(name, params, *, settings) -> pyarrow.Table; injectable for tests.
QueryRunner = Callable[..., pa.Table]
# The KPI dashboard shows the days up to the report date (rolling windows reach 27 before).
DASHBOARD_DAYS = 60
# Schema metadata keys under which a query engine may record the query's id.
_QUERY_ID_KEYS = (b"query_execution_id", b"query_id")


def handle_scheduled(event: Mapping[str, Any], settings: Settings) -> dict[str, Any]:
    """Scheduled event in, report for the event's ``time`` date (UTC) published."""
    return _reply(generate_report(settings, scheduled_date(event)))


def handle_on_demand(event: Mapping[str, Any] | None, settings: Settings) -> dict[str, Any]:
    """``{"date": "YYYY-MM-DD", "application_id": "..."}`` (both optional; default today UTC,
    every application) in, report published."""
    raw = (event or {}).get("date")
    as_of = date.fromisoformat(raw) if raw else datetime.now(UTC).date()
    application_id = (event or {}).get("application_id") or None
    return _reply(generate_report(settings, as_of, application_id=application_id))


def scheduled_date(event: Mapping[str, Any]) -> date:
    """UTC date of a scheduled event's ``time`` (e.g. ``2026-11-28T00:15:00Z``)."""
    raw = event.get("time")
    if not raw:
        raise ValueError("scheduled event has no 'time'")
    stamp = datetime.fromisoformat(str(raw).replace("Z", "+00:00"))
    # A naive time is taken as UTC (EventBridge always sends Z).
    return (stamp.astimezone(UTC) if stamp.tzinfo else stamp).date()


def fetch_tables(
    settings: Settings,
    as_of: date,
    runner: QueryRunner | None = None,
    *,
    application_id: str | None = None,
) -> tuple[dict[str, pa.Table], dict[str, str]]:
    """Run the three report queries as of ``as_of`` (partitions ``dt <= as_of``), for one
    application or every one; return the tables and any query ids the engine reported."""
    if runner is None:
        # Looked up at call time so tests can monkeypatch chalicelib.query.run_query.
        from chalicelib import query

        runner = query.run_query
    tables: dict[str, pa.Table] = {}
    query_ids: dict[str, str] = {}
    for name in REPORT_NAMES:
        table = runner(name, as_of_params(as_of, application_id), settings=settings)
        tables[name] = table
        if query_id := _query_id(table):
            query_ids[name] = query_id
    return tables, query_ids


def _query_id(table: pa.Table) -> str | None:
    meta = table.schema.metadata or {}
    return next((meta[key].decode() for key in _QUERY_ID_KEYS if key in meta), None)


def fetch_kpis(
    settings: Settings,
    as_of: date,
    runner: QueryRunner | None = None,
    *,
    application_id: str | None = None,
) -> dict[str, pa.Table]:
    """Run the KPI statements over the ``DASHBOARD_DAYS`` days ending ``as_of``, for one
    application or every one; keyed by short name (``daily``)."""
    if runner is None:
        from chalicelib import query

        runner = query.run_query
    params = kpi_params(as_of - timedelta(days=DASHBOARD_DAYS - 1), as_of, application_id)
    return {k.key: runner(k.name, params, settings=settings) for k in KPIS}


def render_report(
    settings: Settings,
    as_of: date,
    *,
    runner: QueryRunner | None = None,
    now: datetime | None = None,
    application_id: str | None = None,
) -> ReportFiles:
    """Run the report and KPI queries through the configured engine and render the files."""
    tables, query_ids = fetch_tables(settings, as_of, runner, application_id=application_id)
    kpis = fetch_kpis(settings, as_of, runner, application_id=application_id)
    # named as their files are (kpi_<key>.csv)
    query_ids.update({f"kpi_{key}": qid for key, t in kpis.items() if (qid := _query_id(t))})
    return build_report(
        tables,
        as_of,
        settings.report_top_n,
        generated_at=now or datetime.now(UTC),
        engine=settings.query_engine,
        query_ids=query_ids,
        kpis=kpis,
    )


def generate_report(
    settings: Settings,
    as_of: date,
    *,
    s3_client: Any | None = None,
    application_id: str | None = None,
) -> tuple[ReportFiles, PublishResult]:
    """Query, render and publish the report for ``as_of``; return the files and where they
    went (:func:`render_report` takes a query runner and a clock for tests)."""
    if s3_client is None:
        from chalicelib import aws

        s3_client = aws.client("s3")
    files = render_report(settings, as_of, application_id=application_id)
    result = publish_report(s3_client, settings, files, as_of)
    # One summary line per run: what alarms and dashboards are built on.
    logger.info(
        "report published as_of=%s rows=%s index=%s",
        as_of.isoformat(),
        files.row_counts,
        result.index_uri,
    )
    return files, result


def _reply(outcome: tuple[ReportFiles, PublishResult]) -> dict[str, Any]:
    files, result = outcome
    return {"date": files.as_of.isoformat(), "row_counts": files.row_counts, **result.to_dict()}
