"""The SQL files: one statement each (filled in), a question header, resolvable names;
the fragments statements share."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlglot
from sqlglot import exp

from chalicelib.query import resolve_sql
from chalicelib.query.sql_files import SQL_ROOT, catalog, strip_terminator
from chalicelib.settings import Settings
from chalicelib.statements import FRAGMENTS, QUESTION_NAMES, REPORT_NAMES, STATEMENTS, fill

FRAGMENT_FILES = sorted(FRAGMENTS.glob("*.sql"))
STATEMENT_FILES = sorted(set(SQL_ROOT.glob("*/*.sql")) - set(FRAGMENT_FILES))


def _as_run(path: Path) -> str:
    """A file's statement as it runs: a registered one filled in, any other as it is."""
    users = [s for s in STATEMENTS.values() if s.path == path]
    return users[0].sql() if users else strip_terminator(path.read_text())


def test_every_folder_has_its_files() -> None:
    # GIVEN the SQL tree THEN it has 6 questions (q2 is the guild membership report over
    # every day) in 5 files (q5 and q6 share one), 3 reports, 1 view, the seed's 7 queries
    # and 2 fragments; no DDL files: the tables' DDL is written from Glue's table input
    # (chalicelib/ddl.py, tests/unit/test_ddl.py)
    folders = ("ddl", "questions", "reports", "views", "seed", "fragments")
    counts = {d: len(list((SQL_ROOT / d).glob("*.sql"))) for d in folders}
    assert counts == {
        "ddl": 0, "questions": 5, "reports": 3, "views": 1, "seed": 7, "fragments": 2
    }  # fmt: skip


@pytest.mark.parametrize("path", STATEMENT_FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_one_statement_with_a_header_comment(path: Path) -> None:
    # GIVEN a SQL file WHEN read as it runs (fragments and template values filled in)
    text = _as_run(path)
    # THEN it starts with a comment saying what it answers and holds exactly one statement
    assert text.startswith("-- ")
    statements = [s for s in sqlglot.parse(text, read="athena") if s is not None]
    assert len(statements) == 1


@pytest.mark.parametrize("path", FRAGMENT_FILES, ids=lambda p: p.name)
def test_a_fragment_is_one_select_that_statements_share(path: Path) -> None:
    # GIVEN a fragment and the statements whose files hold its placeholder
    name = path.stem
    users = [s for s in STATEMENTS.values() if f"${{{name}}}" in s.path.read_text()]
    # THEN its header names it, two statements or more use it, it is no statement of its
    # own, and filled in with each one's template values it is one SELECT
    assert path.read_text().startswith(f"-- Fragment {name}")
    assert len(users) >= 2
    assert not any(p == path for p in catalog().values())
    for statement in users:
        trees = sqlglot.parse(fill(path.read_text(), statement.template), read="athena")
        assert len(trees) == 1 and isinstance(trees[0], exp.Select), statement.name


@pytest.mark.parametrize("name", QUESTION_NAMES + REPORT_NAMES)
def test_names_resolve(name: str) -> None:
    # WHEN resolving a short name THEN it is that statement filled in, not the seed's
    sql = resolve_sql(name)
    assert sql == STATEMENTS[name].sql()
    assert sql.startswith(("-- Question", "-- Report:")) and "${" not in sql


@pytest.mark.parametrize("name", sorted(catalog()))
def test_every_listed_name_runs_as_one_filled_in_statement(name: str) -> None:
    # GIVEN any name `gamepipe query --list` shows THEN it loads as one statement with no
    # template placeholder left; a "folder/stem" alias of a registered file is that statement
    sql = resolve_sql(name)
    assert "${" not in sql
    assert len(sqlglot.parse(sql, read="athena")) == 1
    owners = [s for s in STATEMENTS.values() if s.path == catalog()[name]]
    if len(owners) == 1:
        assert sql == owners[0].sql()


def test_a_template_shared_by_several_statements_is_no_name() -> None:
    # GIVEN q5 and q6 filled in from one template THEN the template file is not a name
    assert "questions/most_events" not in catalog()
    with pytest.raises(KeyError):
        resolve_sql("questions/most_events")


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
