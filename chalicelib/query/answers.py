"""The 7 questions' results in the answers-JSON shape the oracle also produces."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any

import pyarrow as pa

from chalicelib.query.params import Params, as_of_params
from chalicelib.query.sql_files import QUESTION_NAMES, REPORT_NAMES
from chalicelib.settings import Settings

ITEMS = ("potion", "shield", "sword")


def answers_from_results(results: Mapping[str, pa.Table]) -> dict[str, Any]:
    """Shape q1..q7 result tables as ``{"q1": {item: n}, "q2": {guild: n}, "q3": [[u, n]]...}``."""
    q1 = dict.fromkeys(ITEMS, 0)  # an item nobody bought has no row but is answered 0
    for item, total in _rows(results["q1"]):
        q1[item] = total
    q7_rows = _rows(results["q7"])
    return {
        "q1": q1,
        "q2": {guild: members for guild, members in _rows(results["q2"])},
        "q3": [list(r) for r in _rows(results["q3"])],
        "q4": [list(r) for r in _rows(results["q4"])],
        "q5": [list(r) for r in _rows(results["q5"])],
        "q6": [list(r) for r in _rows(results["q6"])],
        "q7": q7_rows[0][0] if q7_rows else 0,
    }


def collect_answers(
    settings: Settings, engine: Any = None, params: Params = None
) -> dict[str, Any]:
    """Run q1..q7 on the configured (or given) engine and shape the answers."""
    from chalicelib.query import run_query

    results = {
        name: run_query(name, params, settings=settings, engine=engine) for name in QUESTION_NAMES
    }
    return answers_from_results(results)


def collect_reports(
    settings: Settings, engine: Any = None, as_of: date | None = None
) -> dict[str, list[dict[str, Any]]]:
    """Run the three reports as of ``as_of`` (default: today, UTC); each as a list of row
    dicts in the SQL's order."""
    from chalicelib.query import run_query

    params = as_of_params(as_of or datetime.now(UTC).date())
    return {
        name: run_query(name, params, settings=settings, engine=engine).to_pylist()
        for name in REPORT_NAMES
    }


def _rows(table: pa.Table) -> list[tuple[Any, ...]]:
    columns = [c.to_pylist() for c in table.columns]
    return list(zip(*columns, strict=True)) if columns else []
