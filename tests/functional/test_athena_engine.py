"""The Athena engine against moto with QUEUED results (moto runs no SQL): the SQL text,
database, workgroup, output location and execution parameters sent, and a typed result."""

from __future__ import annotations

from datetime import date
from typing import Any

import boto3
import pyarrow as pa
import pytest
from moto.athena.models import QueryResults, athena_backends
from moto.core import DEFAULT_ACCOUNT_ID

from chalicelib.query import make_engine, resolve_sql, run_query
from chalicelib.query.athena_engine import AthenaEngine, athena_literal
from chalicelib.reports.handlers import REPORT_NAMES, fetch_tables
from chalicelib.settings import Settings

SETTINGS = Settings(
    query_engine="athena",
    glue_database="gamepipe_test",
    athena_workgroup="primary",
    athena_output="s3://athena-results/queries/",
)


@pytest.fixture
def athena(moto_aws: None) -> Any:
    """moto in-process with an output bucket; the Athena backend."""
    boto3.client("s3").create_bucket(Bucket="athena-results")
    return athena_backends[DEFAULT_ACCOUNT_ID]["us-east-1"]


def queue(backend: Any, columns: list[tuple[str, str]], rows: list[list[str]]) -> None:
    """Queue one result set (header row first, as Athena returns it)."""
    header = {"Data": [{"VarCharValue": name} for name, _ in columns]}
    data = [{"Data": [{"VarCharValue": v} for v in row]} for row in rows]
    info = [{"Name": n, "Label": n, "Type": t} for n, t in columns]
    backend.query_results_queue.append(QueryResults([header, *data], info))


def test_named_question_sends_its_sql_and_returns_typed_rows(athena: Any) -> None:
    # GIVEN a queued result for the top-levels question
    queue(athena, [("userid", "varchar"), ("level", "bigint")], [["u7", "12"], ["u2", "9"]])
    engine = AthenaEngine(SETTINGS, session=boto3.session.Session())

    # WHEN running q3 by name
    table = run_query("q3", settings=SETTINGS, engine=engine)

    # THEN the file's SQL went to the configured database, workgroup and output location
    (execution,) = athena.executions.values()
    # (the application filter bound to every application, formatted client-side)
    assert execution.query == resolve_sql("q3").replace(":application_id", "''")
    assert execution.context["Database"] == "gamepipe_test"
    assert execution.workgroup.name == "primary"
    assert execution.config["OutputLocation"].startswith("s3://athena-results/queries/")
    # AND the queued rows come back typed (not an empty frame)
    assert table.schema == pa.schema([("userid", pa.string()), ("level", pa.int64())])
    assert table.to_pylist() == [{"userid": "u7", "level": 12}, {"userid": "u2", "level": 9}]
    # AND the execution id travels with the table (the report manifest records it)
    assert table.schema.metadata == {b"query_execution_id": execution.id.encode()}


def test_qmark_params_go_as_execution_parameters(athena: Any) -> None:
    # GIVEN a parameterised query and a queued count
    queue(athena, [("n", "bigint")], [["42"]])
    engine = AthenaEngine(SETTINGS, session=boto3.session.Session())
    sql = "SELECT count(*) AS n FROM character_events WHERE dt = ? AND event_type = ?"

    # WHEN running it with a list of values
    table = run_query(sql, ["2026-11-27", "defeat_enemy"], settings=SETTINGS, engine=engine)

    # THEN the SQL is sent unchanged and the values as Athena literals
    (execution,) = athena.executions.values()
    assert execution.query == sql
    assert execution.execution_parameters == ["'2026-11-27'", "'defeat_enemy'"]
    assert table.to_pylist() == [{"n": 42}]


def test_named_params_are_formatted_client_side(athena: Any) -> None:
    # GIVEN a :name parameter holding a quote
    queue(athena, [("n", "bigint")], [["1"]])
    engine = make_engine(SETTINGS, session=boto3.session.Session())

    # WHEN running with a dict
    run_query(
        "SELECT count(*) AS n FROM guild_events WHERE guild_name = :guild",
        {"guild": "Knights' Table"},
        settings=SETTINGS,
        engine=engine,
    )

    # THEN the value is quoted and escaped into the text (awswrangler's named style)
    (execution,) = athena.executions.values()
    assert "guild_name = 'Knights'' Table'" in execution.query
    assert not execution.execution_parameters


def test_make_engine_follows_settings() -> None:
    # GIVEN the two engine names THEN each builds its engine; anything else is refused
    assert make_engine(SETTINGS, session=object()).name == "athena"
    with pytest.raises(ValueError, match="unknown query engine"):
        make_engine(Settings(query_engine="spark"))


@pytest.mark.parametrize(
    ("value", "literal"),
    [
        ("it's", "'it''s'"),
        (5, "5"),
        (2.5, "2.5"),
        (True, "true"),
        (None, "NULL"),
    ],
)
def test_athena_literals(value: Any, literal: str) -> None:
    # GIVEN a Python value THEN its Athena literal text
    assert athena_literal(value) == literal


def test_report_queries_on_athena_report_their_execution_ids(athena: Any) -> None:
    # GIVEN a queued result for each of the three report queries
    for _ in REPORT_NAMES:
        queue(athena, [("guild_name", "varchar"), ("members", "bigint")], [["g", "1"]])
    engine = AthenaEngine(SETTINGS, session=boto3.session.Session())

    # WHEN the report handler fetches its tables through the Athena engine
    def runner(name: str, params: Any, settings: Settings) -> pa.Table:
        return run_query(name, params, settings=settings, engine=engine)

    _, query_ids = fetch_tables(SETTINGS, date(2026, 11, 27), runner)

    # THEN each report ran as of that date and names the Athena execution that produced it
    executions = {e.query: e.id for e in athena.executions.values()}
    sent = {
        name: resolve_sql(name).replace(":as_of", "'2026-11-27'").replace(":application_id", "''")
        for name in REPORT_NAMES
    }
    assert query_ids == {name: executions[sql] for name, sql in sent.items()}
