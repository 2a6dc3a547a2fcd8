"""The questions' results in the answers-JSON shape the oracle also produces."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any

import pyarrow as pa

from chalicelib.query.params import Params, as_of_params
from chalicelib.settings import Settings
from chalicelib.statements import QUESTIONS, REPORT_NAMES, Question


def answers_from_results(results: Mapping[str, pa.Table]) -> dict[str, Any]:
    """Shape each question's result table as its registry entry says: ``{"q1": {item: n},
    "q3": [[userid, level], ...], "q7": n, ...}``."""
    return {q.name: shape_answer(q, results[q.name]) for q in QUESTIONS}


def shape_answer(question: Question, table: pa.Table) -> Any:
    """One question's answer: the rows as pairs, a mapping, or the single value."""
    rows = _rows(table)
    if question.answer == "value":
        return rows[0][0] if rows else 0
    if question.answer == "mapping":
        # A key nobody has (an item nobody bought) has no row but is answered 0.
        answer: dict[Any, Any] = dict.fromkeys(question.keys, 0)
        answer.update((key, value) for key, value in rows)
        return answer
    return [list(r) for r in rows]


def collect_answers(
    settings: Settings, engine: Any = None, params: Params = None
) -> dict[str, Any]:
    """Run every question on the configured (or given) engine and shape the answers
    (``params``: e.g. ``application_params(id)`` for one application; default every one)."""
    from chalicelib.query import run_query

    results = {
        q.name: run_query(q.name, params, settings=settings, engine=engine) for q in QUESTIONS
    }
    return answers_from_results(results)


def collect_reports(
    settings: Settings,
    engine: Any = None,
    as_of: date | None = None,
    application_id: str | None = None,
) -> dict[str, list[dict[str, Any]]]:
    """Run the reports as of ``as_of`` (default: today, UTC), for one application or every
    one; each as a list of row dicts in the SQL's order."""
    from chalicelib.query import run_query

    params = as_of_params(as_of or datetime.now(UTC).date(), application_id)
    return {
        name: run_query(name, params, settings=settings, engine=engine).to_pylist()
        for name in REPORT_NAMES
    }


def _rows(table: pa.Table) -> list[tuple[Any, ...]]:
    columns = [c.to_pylist() for c in table.columns]
    return list(zip(*columns, strict=True)) if columns else []
