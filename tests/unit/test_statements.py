"""The statement registry (chalicelib/statements.py) agrees with the SQL, the oracle and the
reports: stored scans and view columns equal what sqlglot derives from the SQL."""

from __future__ import annotations

import re

import pytest

from chalicelib.reports.definitions import CHARTS
from chalicelib.statements import (
    ALL_DAYS,
    KPIS,
    QUESTIONS,
    REPORT_NAMES,
    REPORTS,
    STATEMENTS,
    VIEWS,
    Kpi,
    Question,
    Statement,
    View,
    fill,
)
from gamepipe import oracle_kpi
from gamepipe.oracle import ORACLES
from gamepipe.sql_lineage import derived_columns, derived_scans

RUN = [*QUESTIONS, *REPORTS]


@pytest.mark.parametrize("statement", [*RUN, *KPIS], ids=lambda s: s.name)
def test_stored_scans_are_the_ones_the_sql_makes(statement: Statement) -> None:
    # GIVEN a question, report or KPI WHEN sqlglot derives what its SQL reads (views inlined,
    # unused columns pruned) THEN the registry stores exactly that (paste the derived value
    # from `python -m gamepipe.sql_lineage` when the SQL changes)
    assert statement.scans == derived_scans(statement), derived_scans(statement)


@pytest.mark.parametrize("view", VIEWS, ids=lambda v: v.name)
def test_stored_view_columns_are_the_ones_the_sql_returns(view: View) -> None:
    # GIVEN a view WHEN sqlglot types its SQL against the table schemas (chalicelib/tables.py)
    # THEN the registry's columns (Glue creates the view with them) are those, in order
    assert view.columns == derived_columns(view), derived_columns(view)


def test_every_question_and_report_has_an_oracle_function_and_no_more() -> None:
    # GIVEN the registry and the oracle THEN they name the same statements
    assert set(ORACLES) == {s.name for s in RUN}


def test_every_kpi_has_an_oracle_function_and_no_more() -> None:
    # GIVEN the registry's KPIs and the KPI oracle THEN they name the same statements
    assert set(oracle_kpi.ORACLES) == {k.name for k in KPIS}


@pytest.mark.parametrize("kpi", KPIS, ids=lambda k: k.name)
def test_a_kpi_is_named_after_its_file_and_binds_its_range(kpi: Kpi) -> None:
    # GIVEN a KPI THEN its name is kpi/<file stem>, and its SQL binds the range and the
    # application filter (the CLI, the reports and the demo bind these three)
    assert kpi.sql_file == f"{kpi.name}.sql"
    sql = kpi.sql()
    assert all(f":{p}" in sql for p in ("start", "end", "application_id")), kpi.name
    assert 1 <= kpi.max_days <= 126


def test_every_report_has_a_chart_and_no_more() -> None:
    assert set(CHARTS) == set(REPORT_NAMES)


def test_names_are_unique_and_files_exist() -> None:
    # GIVEN every registered statement THEN its name is unique and its SQL file exists
    assert len(STATEMENTS) == len(VIEWS) + len(QUESTIONS) + len(REPORTS) + len(KPIS)
    for statement in STATEMENTS.values():
        assert statement.path.is_file(), statement.sql_file


QUESTION_FILES = [q for q in QUESTIONS if q.sql_file.startswith("questions/")]  # not q2


@pytest.mark.parametrize("question", QUESTION_FILES, ids=lambda q: q.name)
def test_a_question_file_opens_with_its_number_and_title(question: Question) -> None:
    # GIVEN a question's file THEN its header is the registry's title, or, for a file
    # several questions share (q5 and q6), names each of them
    sharing = [q.name[1:] for q in QUESTIONS if q.path == question.path]
    first = question.path.read_text(encoding="utf-8").splitlines()[0]
    if len(sharing) == 1:
        assert first == f"-- Question {question.name[1:]}: {question.title}"
    else:
        assert first.startswith(f"-- Questions {', '.join(sharing[:-1])} and {sharing[-1]} ")


@pytest.mark.parametrize("question", QUESTIONS, ids=lambda q: q.name)
def test_answer_shapes_have_what_they_need(question: Question) -> None:
    # GIVEN a question THEN its answer shape is known and a table answer has two headers
    assert question.answer in ("rows", "mapping", "value")
    assert len(question.headers) == (0 if question.answer == "value" else 2)
    assert not question.keys or question.answer == "mapping"


def test_a_fixed_parameter_is_written_into_the_sql() -> None:
    # GIVEN q2, the guild membership report over every day
    q2 = STATEMENTS["q2"]
    report = STATEMENTS["guild_membership"]
    # THEN its SQL is the report's with :as_of bound to the last possible day, so it runs
    # without parameters
    assert q2.path == report.path
    assert ":as_of" in report.sql() and ":as_of" not in q2.sql()
    assert q2.sql() == re.sub(r":as_of\b", f"'{ALL_DAYS}'", report.sql())


def test_fragments_and_template_values_are_filled_in() -> None:
    # GIVEN q5 and q6 (one file) and the KPIs that share fragments/player_days.sql
    q5, q6, daily = STATEMENTS["q5"].sql(), STATEMENTS["q6"].sql(), STATEMENTS["kpi/daily"].sql()
    # THEN each is complete: no placeholder left, the fragment indented in place without
    # its header, each question with its own table, event type and column
    assert not [s.name for s in STATEMENTS.values() if "${" in s.sql()]
    assert "FROM character_stats" in q5 and "take_potion" in q5 and "potions" in q5
    assert "FROM character_events" in q6 and "find_treasure" in q6 and "potions" not in q6
    assert "character_stats" not in q6 and "character_events" not in q5
    assert "WITH players AS (\n    SELECT max(age) AS first_age," in daily
    assert "Fragment" not in daily


def test_a_placeholder_with_no_fragment_or_value_is_an_error() -> None:
    # GIVEN a fragment whose template value is missing WHEN filled in THEN KeyError names it
    with pytest.raises(KeyError, match="measure"):
        fill("${events_per_player}", {"table": "t", "event_type": "e"})


def test_a_record_with_an_unknown_key_is_refused() -> None:
    # GIVEN a registry record with a misspelt field THEN loading it fails, naming the key
    from chalicelib.statements import _build

    with pytest.raises(ValueError, match="headrs"):
        _build(Question, {"name": "q9", "sql_file": "x.sql", "title": "?", "headrs": ["a"]})
