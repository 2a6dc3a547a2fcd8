"""Athena's query API inside our moto server, answered by the local engine.

moto's Athena accepts queries and runs none (0 rows). Once installed in moto
(:mod:`gamepipe.athena.moto_athena`), StartQueryExecution records the run here and a worker
thread runs it (:mod:`gamepipe.athena.execute`) through the same translation as ``gamepipe
query`` (:class:`gamepipe.athena.engine.LocalEngine`) against the server's own Glue catalog
and the S3 endpoint the stack uses; GetQueryExecution reports state, reason, timings and a
data-scanned estimate; GetQueryResults pages text rows with ColumnInfo; StopQueryExecution
interrupts DuckDB. A statement that cannot run ends FAILED with an Athena-style reason,
never a 5xx. Every other Athena call (workgroups, named queries, ...) stays moto's.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from moto.athena.models import AthenaBackend
from moto.core.exceptions import JsonRESTError
from moto.moto_api._internal import mock_random

from gamepipe.athena import ENV_EMULATOR_S3_ENDPOINT, ctas
from gamepipe.athena.connections import Connections
from gamepipe.athena.execute import Executor
from gamepipe.athena.results import rows_from_csv
from gamepipe.athena.runs import FINAL_STATES, QueryRun, ResultData
from gamepipe.athena.statements import Statement, parse_statement, substitute_parameters
from gamepipe.athena.translate import UnsupportedSqlError

# How long GetQueryExecution waits for a running query to finish before answering. Athena
# answers at once; awswrangler then sleeps 1 s between polls, which would make every local
# query take >= 1 s. Default 2 s; 0 turns the wait off.
ENV_LONG_POLL = "GAMEPIPE_ATHENA_LONG_POLL_SECONDS"
_DDL_WORDS = ("ALTER", "CREATE", "DESCRIBE", "DROP", "MSCK", "SHOW")


@dataclass(frozen=True)
class EmulatorConfig:
    """Where the emulator reads the catalog (this server) and S3 (the stack's S3)."""

    endpoint: str
    s3_endpoint: str
    long_poll_seconds: float = 2.0
    workers: int = 4
    kept_results: int = 256  # results held in memory for GetQueryResults; older: from S3

    @classmethod
    def from_env(cls, endpoint: str, env: dict[str, str] | None = None) -> EmulatorConfig:
        """Config for a server at ``endpoint``; S3 from GAMEPIPE_ATHENA_S3_ENDPOINT if set."""
        env = dict(os.environ) if env is None else env
        return cls(
            endpoint=endpoint,
            s3_endpoint=env.get(ENV_EMULATOR_S3_ENDPOINT) or endpoint,
            long_poll_seconds=float(env.get(ENV_LONG_POLL) or 2.0),
        )


def _invalid(message: str) -> JsonRESTError:
    return JsonRESTError("InvalidRequestException", message)


class Emulator:
    """Runs the queries of every account/region of this moto process."""

    def __init__(self, config: EmulatorConfig) -> None:
        self.config = config
        self._pool = ThreadPoolExecutor(config.workers, thread_name_prefix="athena-emulator")
        self._connections = Connections(config.endpoint, config.s3_endpoint)
        self._executor = Executor(self._connections)
        self._lock = threading.Lock()
        self._kept: OrderedDict[str, QueryRun] = OrderedDict()

    def start(
        self,
        backend: AthenaBackend,
        query: str,
        context: dict[str, Any] | None,
        config: dict[str, Any] | None,
        workgroup: str | None,
        execution_parameters: list[str] | None,
    ) -> str:
        """StartQueryExecution: record the run (QUEUED) and hand it to a worker."""
        group = backend.work_groups.get(workgroup or "primary")
        if group is None:
            raise _invalid(f"WorkGroup {workgroup} is not found.")
        result_config = _result_configuration(group.configuration, config or {})
        root = str(result_config["OutputLocation"])
        run = QueryRun(
            id=str(mock_random.uuid4()),
            query=query,
            context=context,
            config=result_config,
            workgroup=group,
            execution_parameters=execution_parameters,
            output_root=root if root.endswith("/") else root + "/",
        )
        statement = _classify(run)
        backend.executions[run.id] = run  # type: ignore[assignment]
        self._pool.submit(self._execute, run, backend.region_name, statement)
        return run.id

    def get(self, backend: AthenaBackend, run_id: str) -> QueryRun:
        """The run (after waiting briefly for a running one to finish; see ENV_LONG_POLL)."""
        run = _run(backend, run_id)
        if run.status not in FINAL_STATES and self.config.long_poll_seconds > 0:
            run.done.wait(self.config.long_poll_seconds)
        return run

    def stop(self, backend: AthenaBackend, run_id: str) -> None:
        """StopQueryExecution: cancel a queued run, interrupt a running one."""
        run = _run(backend, run_id)
        if run.request_cancel():
            self._connections.interrupt(run.id)

    def results(
        self, backend: AthenaBackend, run_id: str, max_results: int | None, token: str | None
    ) -> dict[str, Any]:
        """GetQueryResults: one page of rows (the header row first) with ColumnInfo."""
        run = _run(backend, run_id)
        if run.status != "SUCCEEDED":
            raise _invalid(
                f"Query has not yet finished. Current state: {run.status}"
                if run.status not in FINAL_STATES
                else f"Query did not finish successfully. Final query state: {run.status}"
            )
        data = run.result or self._reload(run)
        size = min(max(int(max_results or 1000), 1), 1000)
        try:
            start = int(token) if token else 0
        except ValueError:
            raise _invalid("The NextToken is not valid.") from None
        rows = data.rows[start : start + size]
        reply: dict[str, Any] = {
            "ResultSet": {
                "Rows": [
                    {"Data": [{} if c is None else {"VarCharValue": c} for c in r]} for r in rows
                ],
                "ResultSetMetadata": {"ColumnInfo": data.columns},
            }
        }
        if data.update_count is not None:
            reply["UpdateCount"] = data.update_count
        if start + size < len(data.rows):
            reply["NextToken"] = str(start + size)
        return reply

    def close(self) -> None:
        """Stop the workers and close every engine."""
        self._pool.shutdown(wait=False, cancel_futures=True)
        self._connections.close()

    def _execute(self, run: QueryRun, region: str, statement: Any) -> None:
        self._executor.execute(run, region, statement)
        self._keep(run)

    def _keep(self, run: QueryRun) -> None:
        """Hold the latest results in memory; older ones are re-read from their CSV."""
        with self._lock:
            self._kept[run.id] = run
            while len(self._kept) > self.config.kept_results:
                _, old = self._kept.popitem(last=False)
                if old.substatement_type == "SELECT":
                    old.result = None

    def _reload(self, run: QueryRun) -> ResultData:
        bucket, key = ctas.split_s3(str(run.config["OutputLocation"]))
        region = run.workgroup.region_name if run.workgroup else "us-east-1"
        s3 = self._connections.client("s3", region)
        body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        meta = json.loads(s3.get_object(Bucket=bucket, Key=key + ".metadata")["Body"].read())
        return ResultData(meta["ColumnInfo"], rows_from_csv(body))


def _classify(run: QueryRun) -> Statement | UnsupportedSqlError:
    """Parse at submission: the statement type and result file are known from the start.

    Errors are returned (the worker fails the run with them), never raised: a bad
    statement is a FAILED query, not an error of StartQueryExecution.
    """
    started = time.perf_counter()
    statement: Statement | UnsupportedSqlError
    try:
        text, run.to_original = substitute_parameters(run.query, run.execution_parameters)
        statement = parse_statement(text)
    except UnsupportedSqlError as exc:
        statement = exc
    if isinstance(statement, Statement):
        kind = statement.kind
    else:
        upper = run.query.lstrip().upper()
        kind = "drop_table" if upper.startswith(_DDL_WORDS) else "query"
    run.statement_type = "DML" if kind == "query" else "DDL"
    run.substatement_type = {
        "query": "SELECT",
        "ctas": "CREATE_TABLE_AS_SELECT",
        "drop_table": "DROP_TABLE",
    }[kind]
    name = {"query": f"{run.id}.csv", "ctas": f"tables/{run.id}", "drop_table": f"{run.id}.txt"}
    run.config = {**run.config, "OutputLocation": run.output_root + name[kind]}
    run.preprocessing_ms = int((time.perf_counter() - started) * 1000)
    return statement


def _run(backend: AthenaBackend, run_id: str) -> QueryRun:
    run = backend.executions.get(run_id)
    if not isinstance(run, QueryRun):
        raise _invalid(f"QueryExecution {run_id} was not found")
    return run


def _result_configuration(workgroup: dict[str, Any], request: dict[str, Any]) -> dict[str, Any]:
    """The ResultConfiguration a run uses: the workgroup's when it enforces its own."""
    own = dict(workgroup.get("ResultConfiguration") or {})
    enforced = workgroup.get("EnforceWorkGroupConfiguration") and own.get("OutputLocation")
    chosen = own if enforced else {**own, **request}
    if not chosen.get("OutputLocation"):
        raise _invalid(
            "No output location provided. An output location is required either through"
            " the Workgroup result configuration setting or as an API input."
        )
    return chosen
