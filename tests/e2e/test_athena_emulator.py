"""The Athena API of our moto server, over real HTTP with boto3: queries run on the lake and
answer as Athena does (states, reasons, result files, pages, types, CTAS, cancel)."""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from gamepipe.athena import moto_athena
from gamepipe.athena.engine import LocalEngine
from tests import helpers_sql

pytestmark = pytest.mark.e2e
OUT = "s3://results/athena/"


@pytest.fixture(scope="module")
def server() -> Iterator[dict[str, Any]]:
    """An in-process moto server with the emulator and a small lake in database gamepipe."""
    with helpers_sql.moto_server_env() as endpoint:
        session = boto3.session.Session()
        s3, glue = session.client("s3"), session.client("glue")
        s3.create_bucket(Bucket="lake")
        s3.create_bucket(Bucket="results")
        events = helpers_sql.make_events(600, 40, seed=11)
        helpers_sql.write_lake_s3(
            helpers_sql.table_rows(events),
            s3=s3,
            glue=glue,
            bucket="lake",
            prefix="tables",
            database="gamepipe",
        )
        yield {"endpoint": endpoint, "s3": s3, "glue": glue, "athena": session.client("athena")}


@pytest.fixture
def athena(server: dict[str, Any]) -> Any:
    return server["athena"]


@pytest.fixture
def no_long_poll(monkeypatch: pytest.MonkeyPatch) -> None:
    """GetQueryExecution answers at once (as Athena does), so each state can be seen."""
    active = moto_athena.active()
    monkeypatch.setattr(active, "config", dataclasses.replace(active.config, long_poll_seconds=0))


def start(athena: Any, sql: str, **kwargs: Any) -> str:
    args: dict[str, Any] = {
        "QueryString": sql,
        "QueryExecutionContext": {"Database": "gamepipe"},
        "ResultConfiguration": {"OutputLocation": OUT},
        **kwargs,
    }
    return str(athena.start_query_execution(**args)["QueryExecutionId"])


def wait(athena: Any, query_id: str, timeout: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        execution = athena.get_query_execution(QueryExecutionId=query_id)["QueryExecution"]
        if execution["Status"]["State"] in ("SUCCEEDED", "FAILED", "CANCELLED"):
            return dict(execution)
        assert time.monotonic() < deadline, execution["Status"]
        time.sleep(0.05)


def reason_of(athena: Any, sql: str, **kwargs: Any) -> str:
    execution = wait(athena, start(athena, sql, **kwargs))
    assert execution["Status"]["State"] == "FAILED", execution["Status"]
    assert (
        execution["Status"]["AthenaError"]["ErrorMessage"]
        == execution["Status"]["StateChangeReason"]
    )
    return str(execution["Status"]["StateChangeReason"])


def local_rows(sql: str) -> list[dict[str, Any]]:
    """The same SQL on the local engine over the same server (the reference answer)."""
    from chalicelib.settings import Settings

    engine = LocalEngine(Settings(glue_database="gamepipe"))
    try:
        return engine.execute(sql).to_pylist()
    finally:
        engine.close()


def test_a_query_succeeds_with_athena_results_files_and_statistics(
    server: dict[str, Any], athena: Any
) -> None:
    # GIVEN a grouped query over the lake
    sql = (
        "SELECT userid, count(*) AS n, max(event_ts) AS last_seen FROM character_events"
        " GROUP BY userid ORDER BY n DESC, userid LIMIT 5"
    )
    # WHEN it runs through StartQueryExecution
    query_id = start(athena, sql)
    execution = wait(athena, query_id)

    # THEN it SUCCEEDED with Athena's fields
    assert execution["Status"]["State"] == "SUCCEEDED"
    assert execution["StatementType"] == "DML"
    assert execution["ResultConfiguration"]["OutputLocation"] == f"{OUT}{query_id}.csv"
    stats = execution["Statistics"]
    assert stats["TotalExecutionTimeInMillis"] >= stats["EngineExecutionTimeInMillis"] > 0
    assert stats["DataScannedInBytes"] > 0  # an estimate from the files' sizes
    assert execution["Status"]["CompletionDateTime"] >= execution["Status"]["SubmissionDateTime"]
    # AND the CSV is where Athena puts it: header, every value quoted, as the engine answers
    body = server["s3"].get_object(Bucket="results", Key=f"athena/{query_id}.csv")["Body"]
    text = body.read().decode()
    assert text.splitlines()[0] == '"userid","n","last_seen"'
    rows = list(csv.DictReader(io.StringIO(text)))
    expected = local_rows(sql)
    assert [r["userid"] for r in rows] == [r["userid"] for r in expected]
    assert [int(r["n"]) for r in rows] == [r["n"] for r in expected]
    assert rows[0]["last_seen"] == expected[0]["last_seen"].isoformat(" ", "milliseconds")
    meta = server["s3"].get_object(Bucket="results", Key=f"athena/{query_id}.csv.metadata")
    assert [c["Type"] for c in json.loads(meta["Body"].read())["ColumnInfo"]] == [
        "varchar",
        "bigint",
        "timestamp",
    ]


def test_results_page_with_header_first_and_athena_types(athena: Any) -> None:
    # GIVEN a query with one column of each common type and 12 rows
    sql = (
        "SELECT userid, count(*) AS n, avg(level) AS avg_level, max(level) > 5 AS high,"
        " max(dt) AS dt, CAST(max(dt) AS date) AS day, CAST(NULL AS varchar) AS nothing"
        " FROM character_stats GROUP BY userid ORDER BY userid LIMIT 12"
    )
    query_id = start(athena, sql)
    wait(athena, query_id)

    # WHEN the results are read 5 rows at a time
    pages, token = [], None
    while True:
        kwargs = {"NextToken": token} if token else {}
        page = athena.get_query_results(QueryExecutionId=query_id, MaxResults=5, **kwargs)
        pages.append(page)
        token = page.get("NextToken")
        if not token:
            break

    # THEN 13 rows (the header first) came in pages of 5, 5, 3
    assert [len(p["ResultSet"]["Rows"]) for p in pages] == [5, 5, 3]
    rows = [
        [d.get("VarCharValue") for d in r["Data"]] for p in pages for r in p["ResultSet"]["Rows"]
    ]
    assert rows[0] == ["userid", "n", "avg_level", "high", "dt", "day", "nothing"]
    info = pages[0]["ResultSet"]["ResultSetMetadata"]["ColumnInfo"]
    assert [c["Type"] for c in info] == [
        "varchar", "bigint", "double", "boolean", "varchar", "date", "varchar"
    ]  # fmt: skip
    # AND the values are Athena's text: NULL has no VarCharValue, booleans are lower case
    expected = local_rows(sql)
    assert [r[0] for r in rows[1:]] == [r["userid"] for r in expected]
    assert all(r[6] is None for r in rows[1:])
    assert {r[3] for r in rows[1:]} <= {"true", "false"}
    assert [float(r[2]) for r in rows[1:]] == pytest.approx([r["avg_level"] for r in expected])


@pytest.mark.parametrize(
    ("sql", "reason"),
    [
        ("SELEC userid FROM character_events", "SYNTAX_ERROR: line 1:1: mismatched input 'SELEC'"),
        ("SELECT userid FROM character_events WHERE", "SYNTAX_ERROR: line 1:"),
        (
            "SELECT userid FROM x",
            "TABLE_NOT_FOUND: line 1:20: Table 'awsdatacatalog.gamepipe.x' does not exist",
        ),
        (
            "SELECT nope FROM character_events",
            "COLUMN_NOT_FOUND: line 1:8: Column 'nope' cannot be resolved",
        ),
        ("SELECT\n  no_such_fn(userid) FROM events", "FUNCTION_NOT_FOUND: line 2:3: Function"),
        ("INSERT INTO events SELECT * FROM events", "NOT_SUPPORTED: line 1:1:"),
        ("SELECT CAST('x' AS integer)", "INVALID_CAST_ARGUMENT: "),
        ("   ", "SYNTAX_ERROR"),
        ("SELECT 1; SELECT 2", "NOT_SUPPORTED"),
        ("SELECT 'unterminated", "SYNTAX_ERROR"),
    ],
)
def test_a_bad_statement_ends_failed_with_athenas_kind_of_reason(
    athena: Any, sql: str, reason: str
) -> None:
    # GIVEN a statement Athena would reject
    # WHEN it runs THEN the query FAILED (not the API call) with a reason naming the problem
    assert reason_of(athena, sql).startswith(reason)


def test_missing_database_is_schema_not_found(athena: Any) -> None:
    # GIVEN a context database that does not exist
    # WHEN a query names a table THEN Athena's SCHEMA_NOT_FOUND
    reason = reason_of(
        athena, "SELECT * FROM events", QueryExecutionContext={"Database": "nowhere"}
    )
    assert reason == "SCHEMA_NOT_FOUND: line 1:15: Schema 'nowhere' does not exist"


def test_client_errors_are_4xx(athena: Any) -> None:
    # GIVEN requests Athena refuses outright
    # WHEN made THEN each is a 400 InvalidRequestException, never a 5xx
    with pytest.raises(ClientError) as no_output:
        athena.start_query_execution(QueryString="SELECT 1")
    with pytest.raises(ClientError) as unknown:
        athena.get_query_execution(QueryExecutionId="00000000-0000-0000-0000-000000000000")
    failed = start(athena, "SELECT nope FROM events")
    wait(athena, failed)
    with pytest.raises(ClientError) as not_succeeded:
        athena.get_query_results(QueryExecutionId=failed)
    for exc in (no_output, unknown, not_succeeded):
        assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
        assert exc.value.response["Error"]["Code"] == "InvalidRequestException"
    assert "No output location provided" in str(no_output.value)
    assert "FAILED" in str(not_succeeded.value)


def test_execution_parameters_bind_in_order(athena: Any) -> None:
    # GIVEN a qmark query and its ExecutionParameters (SQL literals, as Athena takes them)
    sql = "SELECT count(*) AS n FROM character_events WHERE event_type = ? AND dt <= ?"
    query_id = start(athena, sql, ExecutionParameters=["'defeat_enemy'", "'2026-11-26'"])
    # WHEN it runs
    execution = wait(athena, query_id)
    # THEN the values were bound in order and the parameters are echoed
    assert execution["ExecutionParameters"] == ["'defeat_enemy'", "'2026-11-26'"]
    rows = athena.get_query_results(QueryExecutionId=query_id)["ResultSet"]["Rows"]
    expected = local_rows(sql.replace("?", "'defeat_enemy'", 1).replace("?", "'2026-11-26'"))
    assert rows[1]["Data"][0]["VarCharValue"] == str(expected[0]["n"])
    assert expected[0]["n"] > 0
    # AND a missing parameter or a non-literal fails the query
    assert reason_of(athena, sql, ExecutionParameters=["'x'"]).startswith(
        "INVALID_PARAMETER_USAGE: line 1:75: Incorrect number of parameters: expected 2 but found 1"
    )
    assert "not a SQL literal" in reason_of(
        athena, sql, ExecutionParameters=["'x'", "(SELECT max(dt) FROM events)"]
    )
    # AND an error after a parameter points into the text as sent
    assert (
        reason_of(
            athena, "SELECT ? AS a, nope FROM events", ExecutionParameters=["'a long literal'"]
        )
        == "COLUMN_NOT_FOUND: line 1:16: Column 'nope' cannot be resolved"
    )


def test_workgroup_result_location_and_enforcement(server: dict[str, Any], athena: Any) -> None:
    # GIVEN a workgroup that enforces its own result location
    athena.create_work_group(
        Name="enforced",
        Configuration={
            "ResultConfiguration": {"OutputLocation": "s3://results/wg/"},
            "EnforceWorkGroupConfiguration": True,
        },
    )
    # WHEN a query names another location THEN the workgroup's wins
    query_id = start(athena, "SELECT 1 AS one", WorkGroup="enforced")
    execution = wait(athena, query_id)
    assert execution["ResultConfiguration"]["OutputLocation"] == f"s3://results/wg/{query_id}.csv"
    assert execution["WorkGroup"] == "enforced"
    server["s3"].head_object(Bucket="results", Key=f"wg/{query_id}.csv")
    # AND ListQueryExecutions of the workgroup lists it
    listed = athena.list_query_executions(WorkGroup="enforced")["QueryExecutionIds"]
    assert query_id in listed
    # AND BatchGetQueryExecution describes it (and reports an unknown id as unprocessed)
    batch = athena.batch_get_query_execution(QueryExecutionIds=[query_id, "missing"])
    assert [e["QueryExecutionId"] for e in batch["QueryExecutions"]] == [query_id]
    assert [u["QueryExecutionId"] for u in batch["UnprocessedQueryExecutionIds"]] == ["missing"]


@pytest.fixture
def gate(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, threading.Event]]:
    """Holds every LocalEngine.execute until released (so states can be observed)."""
    events = {"entered": threading.Event(), "release": threading.Event()}
    original = LocalEngine.execute

    def held(self: LocalEngine, sql: str, params: Any = None) -> Any:
        events["entered"].set()
        assert events["release"].wait(60)
        return original(self, sql, params)

    monkeypatch.setattr(LocalEngine, "execute", held)
    yield events
    events["release"].set()


def state(athena: Any, query_id: str) -> str:
    execution = athena.get_query_execution(QueryExecutionId=query_id)["QueryExecution"]
    return str(execution["Status"]["State"])


def test_states_queued_running_succeeded_and_stop(
    athena: Any, no_long_poll: None, gate: dict[str, threading.Event]
) -> None:
    # GIVEN a query held inside the engine, and two more behind it on the same database
    first = start(athena, "SELECT count(*) AS n FROM events")
    assert gate["entered"].wait(30)
    second = start(athena, "SELECT count(*) AS n FROM guild_events")
    third = start(athena, "SELECT count(*) AS n FROM character_events")
    # THEN the first is RUNNING and the others QUEUED (one engine per database)
    assert state(athena, first) == "RUNNING"
    assert state(athena, second) == state(athena, third) == "QUEUED"

    # WHEN the queued third and the running first are stopped
    athena.stop_query_execution(QueryExecutionId=third)
    athena.stop_query_execution(QueryExecutionId=first)
    assert state(athena, third) == "CANCELLED"
    gate["release"].set()

    # THEN the first ends CANCELLED, the second SUCCEEDED, and stopping a finished query
    # changes nothing
    assert wait(athena, first)["Status"]["State"] == "CANCELLED"
    assert wait(athena, second)["Status"]["State"] == "SUCCEEDED"
    athena.stop_query_execution(QueryExecutionId=second)
    assert state(athena, second) == "SUCCEEDED"
    with pytest.raises(ClientError, match="CANCELLED"):
        athena.get_query_results(QueryExecutionId=first)


def test_stop_interrupts_a_long_running_query(athena: Any, no_long_poll: None) -> None:
    # GIVEN a query that would run for a very long time (a 4-way cross join)
    sql = (
        "SELECT count(*) AS n FROM events a CROSS JOIN events b CROSS JOIN events c"
        " CROSS JOIN events d WHERE a.userid <> b.userid || c.userid || d.userid"
    )
    query_id = start(athena, sql)
    deadline = time.monotonic() + 30
    while state(athena, query_id) == "QUEUED":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    time.sleep(0.5)  # inside DuckDB by now
    # WHEN it is stopped
    athena.stop_query_execution(QueryExecutionId=query_id)
    # THEN DuckDB is interrupted and the query ends CANCELLED (well before it could finish)
    assert wait(athena, query_id, timeout=30)["Status"]["State"] == "CANCELLED"


def test_ctas_writes_parquet_registers_the_table_and_a_manifest(
    server: dict[str, Any], athena: Any
) -> None:
    # GIVEN a CTAS as awswrangler writes it, with a partition column
    sql = (
        'CREATE TABLE "gamepipe"."ctas_levels"\nWITH(\n'
        "    external_location = 's3://results/tables-out/ctas_levels',\n"
        "    partitioned_by = ARRAY['dt'],\n"
        "    write_compression = 'SNAPPY',\n"
        "    format = 'PARQUET')\n"
        "AS SELECT userid, max(level) AS level, dt FROM character_stats GROUP BY userid, dt"
    )
    # WHEN it runs
    query_id = start(athena, sql)
    execution = wait(athena, query_id)

    # THEN it SUCCEEDED as DDL with a data manifest listing the Parquet files it wrote
    assert execution["Status"]["State"] == "SUCCEEDED", execution["Status"]
    assert execution["StatementType"] == "DDL"
    assert execution["SubstatementType"] == "CREATE_TABLE_AS_SELECT"
    manifest = execution["Statistics"]["DataManifestLocation"]
    assert manifest == f"{OUT}tables/{query_id}-manifest.csv"
    body = server["s3"].get_object(Bucket="results", Key=f"athena/tables/{query_id}-manifest.csv")
    files = body["Body"].read().decode().split()
    assert files and all(f.startswith("s3://results/tables-out/ctas_levels/dt=") for f in files)
    # AND Glue has the table with its columns and partitions, and it answers like its query
    table = server["glue"].get_table(DatabaseName="gamepipe", Name="ctas_levels")["Table"]
    columns = [(c["Name"], c["Type"]) for c in table["StorageDescriptor"]["Columns"]]
    assert columns == [("userid", "string"), ("level", "bigint")]
    assert [k["Name"] for k in table["PartitionKeys"]] == ["dt"]
    parts = server["glue"].get_partitions(DatabaseName="gamepipe", TableName="ctas_levels")
    assert len(parts["Partitions"]) == len(files)
    source = "SELECT userid, max(level) AS level, dt FROM character_stats GROUP BY userid, dt"
    copy = local_rows("SELECT userid, level, dt FROM ctas_levels ORDER BY dt, userid")
    assert copy == local_rows(f"SELECT * FROM ({source}) ORDER BY dt, userid")
    # AND its result is the row count
    result = athena.get_query_results(QueryExecutionId=query_id)
    assert result["UpdateCount"] == len(copy)

    # WHEN the same CTAS runs again THEN it fails as Athena's does; DROP TABLE removes it
    assert reason_of(athena, sql).startswith("TABLE_ALREADY_EXISTS:")
    assert wait(athena, start(athena, "DROP TABLE ctas_levels"))["Status"]["State"] == "SUCCEEDED"
    assert reason_of(athena, "DROP TABLE ctas_levels").startswith("TABLE_NOT_FOUND")
    assert reason_of(athena, sql).startswith("HIVE_PATH_ALREADY_EXISTS:")  # data stays (external)


@pytest.mark.parametrize(
    ("query", "reason"),
    [
        ("SELECT userid, count(*) FROM events GROUP BY 1", "MISSING_COLUMN_NAME"),
        ("SELECT userid, userid AS USERID FROM events", "DUPLICATE_COLUMN_NAME"),
        ("SELECT NULL AS nothing", "COLUMN_TYPE_UNKNOWN"),
    ],
)
def test_ctas_refuses_what_athena_refuses(athena: Any, query: str, reason: str) -> None:
    # GIVEN a CTAS whose query Athena cannot store as a table
    # WHEN it runs THEN it fails with the reason awswrangler looks for
    sql = f"CREATE TABLE bad_ctas WITH (format = 'PARQUET') AS {query}"
    assert reason_of(athena, sql).startswith(reason)
