"""The SQL files: one statement each, a question header, resolvable names."""

from __future__ import annotations

import pytest
import sqlglot

from chalicelib.query import resolve_sql
from chalicelib.query.sql_files import SQL_ROOT
from chalicelib.settings import Settings
from chalicelib.statements import QUESTION_NAMES, REPORT_NAMES

ALL_FILES = sorted(SQL_ROOT.glob("*/*.sql"))


def test_every_folder_has_its_files() -> None:
    # GIVEN the SQL tree THEN it has 6 questions (q2 is the guild membership report over
    # every day), 3 reports, 2 views and the seed's 7 queries; no DDL files: the tables'
    # DDL is written from Glue's table input (chalicelib/ddl.py, tests/unit/test_ddl.py)
    folders = ("ddl", "questions", "reports", "views", "seed")
    counts = {d: len(list((SQL_ROOT / d).glob("*.sql"))) for d in folders}
    assert counts == {"ddl": 0, "questions": 6, "reports": 3, "views": 2, "seed": 7}


@pytest.mark.parametrize("path", ALL_FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_one_statement_with_a_header_comment(path) -> None:
    # GIVEN a SQL file
    text = path.read_text().replace("${table}", "character_events")  # a view template
    # THEN it starts with a comment saying what it answers and holds exactly one statement
    assert text.startswith("-- ")
    statements = [s for s in sqlglot.parse(text, read="athena") if s is not None]
    assert len(statements) == 1


@pytest.mark.parametrize("name", QUESTION_NAMES + REPORT_NAMES)
def test_names_resolve(name: str) -> None:
    # WHEN resolving a short name THEN it is that statement's file, not the seed's
    sql = resolve_sql(name)
    assert sql.startswith("-- Question " + name[1:] + ":") or sql.startswith("-- Report:")


def test_seed_and_sql_text_resolve() -> None:
    # GIVEN the seed alias and raw SQL THEN both resolve (the latter unchanged minus ';')
    assert "Sum(level) AS player_level" in resolve_sql("seed/q3")
    assert resolve_sql("SELECT 1;") == "SELECT 1"
    with pytest.raises(KeyError, match="q9"):
        resolve_sql("q9")


def test_engine_for_reuses_one_engine_per_settings(tmp_path) -> None:
    # GIVEN the process-wide engine registry
    from chalicelib import query

    settings = Settings(glue_database=f"db_{tmp_path.name}", query_engine="athena")
    # WHEN asking twice, then after reset()
    first = query.engine_for(settings)
    again = query.engine_for(settings)
    query.reset()
    # THEN the same engine is reused until reset
    assert first is again
    assert query.engine_for(settings) is not first
    query.reset()
