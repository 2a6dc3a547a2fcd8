"""Issue 16's acceptance: on a running local stack, ``wr.athena.read_sql_query`` (its default
CTAS path and ``ctas_approach=False``) returns the rows ``gamepipe query NAME --format json``
returns, for the 7 questions, the 3 reports (``:as_of`` and ``:application_id`` bound with
paramstyle="named"), the 7 KPIs (``:start``/``:end`` over the lake's two days) and the seed's
7 statements. Embedded (our moto server as a child
process) and LocalStack (S3 there, Glue and Athena from the moto sidecar).
"""

from __future__ import annotations

import json
import os
import re
import warnings
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import awswrangler as wr
import boto3
import pytest
from click.testing import CliRunner

from chalicelib import aws, query
from chalicelib.query.params import bind_for
from chalicelib.statements import KPIS, QUESTION_NAMES, REPORT_NAMES
from gamepipe.commands.query import query as query_command
from gamepipe.stack.targets import make_target
from tests import helpers_sql

pytestmark = pytest.mark.e2e

DATABASE = "gamepipe_wr"
AS_OF = "2026-11-26"  # the first of the lake's two days: the reports' dt filter matters
KPI_RANGE = {"start": "2026-11-26", "end": "2026-11-27"}  # the lake's two days
KPI_STATEMENTS = tuple(k.name for k in KPIS)
SEED = tuple(f"seed/q{n}" for n in range(1, 8))
STATEMENTS = (*QUESTION_NAMES, *REPORT_NAMES, *KPI_STATEMENTS, *SEED)
# The seed's statements without ORDER BY (any row order is right) and its top-N ones whose
# ORDER BY leaves ties (Athena may return any of the tied rows at the cut).
SEED_UNORDERED = {"seed/q1", "seed/q2", "seed/q7"}
SEED_TOP_N = {"seed/q3", "seed/q4", "seed/q5", "seed/q6"}
# seed/q2 leaves a column unnamed: Athena (and the emulator) refuse it as a CTAS table.
UNNAMED_COLUMNS = {"seed/q2"}


@pytest.fixture(
    scope="module", params=["embedded", pytest.param("localstack", marks=pytest.mark.localstack)]
)
def stack(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Any]]:
    """A started target with a loaded lake; the process env points at it meanwhile."""
    if request.param == "localstack":
        request.getfixturevalue("localstack_installed")
    saved = dict(os.environ)
    for key in [k for k in os.environ if k.startswith("AWS_ENDPOINT_URL")]:
        del os.environ[key]
    os.environ.update({"AWS_DEFAULT_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "test",
                       "AWS_SECRET_ACCESS_KEY": "test", "GAMEPIPE_GLUE_DATABASE": DATABASE,
                       "GAMEPIPE_STATE_DIR": str(tmp_path_factory.mktemp("state"))})  # fmt: skip
    target = make_target(request.param, Path(tmp_path_factory.mktemp(request.param)))
    try:
        os.environ.update(target.start())
        aws.reset()
        session = boto3.session.Session()
        s3 = session.client("s3")
        s3.create_bucket(Bucket="wr-lake")
        s3.create_bucket(Bucket="wr-results")
        events = helpers_sql.make_events(1500, 80, seed=23, resend_fraction=0.05, bad_fraction=0.03)
        helpers_sql.write_lake_s3(
            helpers_sql.table_rows(events),
            s3=s3,
            glue=session.client("glue"),
            bucket="wr-lake",
            prefix="tables",
            database=DATABASE,
        )
        yield {"session": session, "env": target.env, "name": request.param}
    finally:
        target.stop()
        query.reset()
        os.environ.clear()
        os.environ.update(saved)
        aws.reset()


def cli_rows(name: str) -> list[dict[str, Any]]:
    """What ``gamepipe query NAME --format json`` prints (the local engine, same stack)."""
    args = [name, "--format", "json"]
    if name in REPORT_NAMES:
        args += ["--as-of", AS_OF]
    if name in KPI_STATEMENTS:
        args += ["--start", KPI_RANGE["start"], "--end", KPI_RANGE["end"]]
    result = CliRunner().invoke(query_command, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return list(json.loads(result.output))


def wrangler_rows(stack: dict[str, Any], name: str, *, ctas: bool) -> list[dict[str, Any]]:
    """The statement through Athena with awswrangler, as a notebook would call it."""
    sql = query.resolve_sql(name)
    # bound as the code binds them: the reports' :as_of, the KPIs' :start/:end, and
    # :application_id '' (every application) wherever the statement has the filter
    fixed = {"as_of": AS_OF} if name in REPORT_NAMES else None
    params = bind_for(sql, KPI_RANGE if name in KPI_STATEMENTS else fixed)
    kwargs: dict[str, Any] = {"params": dict(params), "paramstyle": "named"} if params else {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pandas' deprecation notes from inside awswrangler
        frame = wr.athena.read_sql_query(
            sql,
            database=DATABASE,
            ctas_approach=ctas,
            s3_output="s3://wr-results/athena/",
            boto3_session=stack["session"],
            **kwargs,
        )
    assert frame.query_metadata["Status"]["State"] == "SUCCEEDED"
    return list(json.loads(frame.to_json(orient="records", date_format="iso", double_precision=15)))


def assert_same_answer(
    name: str, expected: list[dict[str, Any]], got: list[dict[str, Any]]
) -> None:
    """Equal rows in equal order; where the SQL leaves order or ties open, equal up to that."""
    assert expected, f"{name}: the lake gives no rows, the comparison would prove nothing"
    assert [list(r) for r in got[:1]] == [list(r) for r in expected[:1]], "column names"
    if name in SEED_UNORDERED:
        assert Counter(map(_key, got)) == Counter(map(_key, expected))
    elif name in SEED_TOP_N:
        # Same ranked values in order; the same rows above the cut (in any order among
        # equal values); rows at the cut may be any of the tied ones, so each must be a
        # row of the statement without its LIMIT.
        ranked = list(expected[0])[-1]
        assert [r[ranked] for r in got] == [r[ranked] for r in expected]
        cut = expected[-1][ranked]
        above = Counter(_key(r) for r in expected if r[ranked] != cut)
        assert Counter(_key(r) for r in got if r[ranked] != cut) == above
        unlimited = re.sub(r"LIMIT\s+\d+\s*$", "", query.resolve_sql(name).strip(), flags=re.I)
        everything = {_key(r) for r in _cli_sql(unlimited)}
        assert {_key(r) for r in got if r[ranked] == cut} <= everything
    else:
        assert got == expected


def _cli_sql(sql: str) -> list[dict[str, Any]]:
    result = CliRunner().invoke(query_command, ["--sql", sql, "--format", "json"])
    assert result.exit_code == 0, result.output
    return list(json.loads(result.output))


def _key(row: dict[str, Any]) -> str:
    return json.dumps(row, sort_keys=True)


@pytest.mark.parametrize("name", STATEMENTS)
def test_read_sql_query_without_ctas_returns_what_gamepipe_query_returns(
    stack: dict[str, Any], name: str
) -> None:
    # GIVEN a named statement and its answer from `gamepipe query NAME --format json`
    expected = cli_rows(name)
    # WHEN awswrangler runs it on the stack's Athena and reads the CSV result
    got = wrangler_rows(stack, name, ctas=False)
    # THEN the rows are the same
    assert_same_answer(name, expected, got)


@pytest.mark.parametrize("name", STATEMENTS)
def test_read_sql_query_default_ctas_returns_what_gamepipe_query_returns(
    stack: dict[str, Any], name: str
) -> None:
    # GIVEN a named statement and its answer from `gamepipe query NAME --format json`
    expected = cli_rows(name)
    glue = stack["session"].client("glue")
    before = {t["Name"] for t in glue.get_tables(DatabaseName=DATABASE)["TableList"]}
    if name in UNNAMED_COLUMNS:
        # THEN a statement with an unnamed column cannot be a CTAS table (as on Athena)
        with pytest.raises(wr.exceptions.InvalidArgumentValue, match="define all columns"):
            wrangler_rows(stack, name, ctas=True)
        return
    # WHEN awswrangler runs it its default way: CTAS to Parquet, read, drop the temp table
    got = wrangler_rows(stack, name, ctas=True)
    # THEN the rows are the same, and the temporary Glue table is gone again
    assert_same_answer(name, expected, got)
    after = {t["Name"] for t in glue.get_tables(DatabaseName=DATABASE)["TableList"]}
    assert after == before


def test_a_syntax_error_comes_back_as_a_failed_query(stack: dict[str, Any]) -> None:
    # GIVEN a statement with a typo
    # WHEN awswrangler runs it THEN Athena's failure reason reaches the caller, no 5xx
    with pytest.raises(wr.exceptions.QueryFailed, match=r"SYNTAX_ERROR: line 1:8"):
        wr.athena.read_sql_query(
            "SELECT FROM purchase_events",
            database=DATABASE,
            ctas_approach=False,
            s3_output="s3://wr-results/athena/",
            boto3_session=stack["session"],
        )
