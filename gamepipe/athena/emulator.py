"""Athena's query API inside our moto server, answered by the local engine.

moto's Athena accepts queries and runs none (0 rows). With :func:`install`, the server's
StartQueryExecution runs the statement in a worker thread through the same translation as
``gamepipe query`` (:class:`gamepipe.athena.engine.LocalEngine`) against the server's own
Glue catalog and the S3 endpoint the stack uses; results are written where Athena writes
them (``<OutputLocation>/<id>.csv`` + ``.csv.metadata``; CTAS: Parquet, the Glue table and
``tables/<id>-manifest.csv``); GetQueryExecution reports state, reason, timings and a
data-scanned estimate; GetQueryResults pages text rows with ColumnInfo; StopQueryExecution
interrupts DuckDB. A statement that cannot run ends FAILED with an Athena-style reason,
never a 5xx. Every other Athena call (workgroups, named queries, ...) stays moto's.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import boto3
import pyarrow as pa
import sqlglot
from botocore.config import Config
from botocore.exceptions import ClientError
from moto.athena.models import AthenaBackend
from moto.athena.responses import AthenaResponse
from moto.core.exceptions import JsonRESTError
from moto.moto_api._internal import mock_random
from sqlglot import exp

from gamepipe.athena import ENV_EMULATOR_S3_ENDPOINT, ctas
from gamepipe.athena.catalog import LakeCatalog, TableInfo, load_glue_catalog
from gamepipe.athena.results import cells, column_info, csv_bytes, rows_from_csv
from gamepipe.athena.runs import FINAL_STATES, QueryRun, ResultData
from gamepipe.athena.statements import (
    Statement,
    parse_statement,
    referenced_tables,
    substitute_parameters,
)
from gamepipe.athena.translate import ATHENA_CATALOG, UnsupportedSqlError, line_col

logger = logging.getLogger(__name__)

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


@dataclass
class _Slot:
    """One database's engine; queries on it take turns (one DuckDB connection).

    ``wanted``: the tables the current query names. Only those are read from Glue and
    S3 and made into views: DuckDB reads every file's footer when it creates a view, so
    loading every table for each query costs more than the query.
    """

    engine: Any = None
    lock: threading.Lock = field(default_factory=threading.Lock)
    current: str | None = None
    wanted: frozenset[str] = frozenset()


class Emulator:
    """Runs the queries of every account/region of this moto process."""

    def __init__(self, config: EmulatorConfig) -> None:
        self.config = config
        self._pool = ThreadPoolExecutor(config.workers, thread_name_prefix="athena-emulator")
        self._lock = threading.RLock()  # _slot() builds clients under it
        self._slots: dict[tuple[str, str], _Slot] = {}
        self._clients: dict[tuple[str, str], Any] = {}
        self._kept: OrderedDict[str, QueryRun] = OrderedDict()

    # -- API -----------------------------------------------------------------------------

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
        statement = self._classify(run)
        backend.executions[run.id] = run  # type: ignore[assignment]
        self._pool.submit(self._execute, run, backend.region_name, statement)
        return run.id

    def get(self, backend: AthenaBackend, run_id: str) -> QueryRun:
        """The run (after waiting briefly for a running one to finish; see ENV_LONG_POLL)."""
        run = self._run(backend, run_id)
        if run.status not in FINAL_STATES and self.config.long_poll_seconds > 0:
            run.done.wait(self.config.long_poll_seconds)
        return run

    def stop(self, backend: AthenaBackend, run_id: str) -> None:
        """StopQueryExecution: cancel a queued run, interrupt a running one."""
        run = self._run(backend, run_id)
        if run.request_cancel():
            with self._lock:
                slots = [s for s in self._slots.values() if s.current == run.id]
            for slot in slots:
                slot.engine.interrupt()

    def results(
        self, backend: AthenaBackend, run_id: str, max_results: int | None, token: str | None
    ) -> dict[str, Any]:
        """GetQueryResults: one page of rows (the header row first) with ColumnInfo."""
        run = self._run(backend, run_id)
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
        with self._lock:
            for slot in self._slots.values():
                slot.engine.interrupt()
                slot.engine.close()
            self._slots.clear()

    # -- running -------------------------------------------------------------------------

    def _classify(self, run: QueryRun) -> Statement | UnsupportedSqlError:
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

    def _execute(self, run: QueryRun, region: str, statement: Any) -> None:
        # A run stays QUEUED until its database's engine is free (one DuckDB connection
        # per database; Athena queues for capacity the same way).
        slot = self._slot(region, run.database) if isinstance(statement, Statement) else None
        with slot.lock if slot is not None else contextlib.nullcontext():
            if not run.start_running():
                return
            if slot is not None:
                slot.current = run.id
            try:
                self._dispatch(run, region, statement, slot)
            finally:
                if slot is not None:
                    slot.current = None
        self._keep(run)

    def _dispatch(self, run: QueryRun, region: str, statement: Any, slot: _Slot | None) -> None:
        try:
            if isinstance(statement, UnsupportedSqlError):
                raise statement
            assert slot is not None
            if statement.kind == "query":
                self._select(run, region, statement, slot)
            elif statement.kind == "ctas":
                self._ctas(run, region, statement, slot)
            else:
                self._drop(run, region, statement)
        except UnsupportedSqlError as exc:
            if exc.offset is not None and run.to_original is not None:
                exc.offset = run.to_original(exc.offset)  # back to the text the client sent
            run.finish("FAILED", _reason(exc, run.query), 2)
        except _Cancelled:
            run.finish("CANCELLED")
        except ClientError as exc:
            run.finish("FAILED", _client_error_reason(exc), 2)
        except Exception as exc:  # a bug or an engine error: FAILED, never a 5xx
            category = _engine_error_category(exc)
            run.finish("FAILED", _engine_error_reason(exc), category)
            if category == 1:
                logger.exception("query %s failed inside the emulator", run.id)
        else:
            run.finish("SUCCEEDED")

    def _select(self, run: QueryRun, region: str, statement: Statement, slot: _Slot) -> None:
        table = self._query(run, region, statement, slot)
        started = time.perf_counter()
        rows = cells(table)
        header = table.column_names
        s3 = self._client("s3", region)
        bucket, key = ctas.split_s3(str(run.config["OutputLocation"]))
        s3.put_object(Bucket=bucket, Key=key, Body=csv_bytes(header, rows))
        columns = column_info(table.schema)
        s3.put_object(
            Bucket=bucket,
            Key=key + ".metadata",
            Body=json.dumps({"ColumnInfo": columns}).encode(),
        )
        run.result = ResultData(columns, [list(header), *rows])
        run.service_ms = int((time.perf_counter() - started) * 1000)

    def _ctas(self, run: QueryRun, region: str, statement: Statement, slot: _Slot) -> None:
        glue, s3 = self._client("glue", region), self._client("s3", region)
        target = ctas.plan(statement, run.database, run.output_root, run.id)
        ctas.check_target(glue, s3, target)
        table = self._query(run, region, statement, slot)
        inner = statement.tree.args.get("expression") if statement.tree is not None else None
        ctas.check_columns(inner, table.schema, target)
        if not statement.with_data:
            table = table.slice(0, 0)
        started = time.perf_counter()
        files = ctas.write(glue, s3, target, table, run.id)
        columns = column_info(table.schema)
        run.manifest_location = ctas.write_manifest(
            s3, run.output_root, run.id, files, {"ColumnInfo": columns}
        )
        count = table.num_rows
        run.result = ResultData(
            column_info(pa.schema([("rows", pa.int64())])), [["rows"], [str(count)]], count
        )
        run.service_ms = int((time.perf_counter() - started) * 1000)

    def _drop(self, run: QueryRun, region: str, statement: Statement) -> None:
        glue, s3 = self._client("glue", region), self._client("s3", region)
        database = (statement.database or run.database).lower()
        try:
            glue.delete_table(DatabaseName=database, Name=str(statement.table).lower())
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "EntityNotFoundException":
                raise
            if not statement.if_exists:
                raise UnsupportedSqlError(
                    f"Table '{ATHENA_CATALOG}.{database}.{str(statement.table).lower()}'"
                    " does not exist",
                    code="TABLE_NOT_FOUND",
                    offset=0,
                ) from exc
        bucket, key = ctas.split_s3(str(run.config["OutputLocation"]))
        s3.put_object(Bucket=bucket, Key=key, Body=b"")  # Athena's DDL result: a .txt file
        run.result = ResultData([], [])

    def _query(self, run: QueryRun, region: str, statement: Statement, slot: _Slot) -> pa.Table:
        """Run the statement's query on the run's database; time it; estimate the scan."""
        tree = _parse(statement)
        tables = referenced_tables(tree)
        if tables and not _database_exists(self._client("glue", region), run.database):
            raise UnsupportedSqlError(
                f"Schema '{tables[0].db or run.database}' does not exist",
                code="SCHEMA_NOT_FOUND",
                offset=_table_offset(tables[0], statement),
            )
        slot.wanted = frozenset(t.name.lower() for t in tables)
        try:
            planning = time.perf_counter()
            slot.engine.refresh()  # Athena reads the catalog for every query
            slot.engine.translate(statement.query)
            running = time.perf_counter()
            table = slot.engine.execute(statement.query)
            done = time.perf_counter()
        except UnsupportedSqlError as exc:
            if exc.offset is not None:
                exc.offset += statement.query_offset
            raise
        except Exception as exc:
            if run.cancel_requested and type(exc).__name__ == "InterruptException":
                raise _Cancelled from exc
            raise
        if run.cancel_requested:
            raise _Cancelled
        run.planning_ms = int((running - planning) * 1000)
        run.engine_ms = int((done - planning) * 1000)
        run.scanned_bytes = estimate_scanned_bytes(tree, slot.engine.loaded_tables())
        return table

    # -- plumbing ------------------------------------------------------------------------

    def _run(self, backend: AthenaBackend, run_id: str) -> QueryRun:
        run = backend.executions.get(run_id)
        if not isinstance(run, QueryRun):
            raise _invalid(f"QueryExecution {run_id} was not found")
        return run

    def _slot(self, region: str, database: str) -> _Slot:
        from chalicelib.settings import Settings
        from gamepipe.athena.engine import LocalEngine  # DuckDB: only once a query runs

        key = (region, database)
        with self._lock:
            if key not in self._slots:
                glue, s3 = self._client("glue", region), self._client("s3", region)
                slot = _Slot()

                def load() -> LakeCatalog:
                    if not slot.wanted:
                        return LakeCatalog({}, {})
                    return load_glue_catalog(database, glue, s3, only=slot.wanted)

                slot.engine = LocalEngine(
                    Settings(glue_database=database, region=region),
                    session=self._session(region),
                    ttl_seconds=3600,  # refreshed explicitly before each query
                    s3_endpoint=self.config.s3_endpoint,
                    catalog_loader=load,
                )
                self._slots[key] = slot
            return self._slots[key]

    def _session(self, region: str) -> boto3.session.Session:
        return boto3.session.Session(
            aws_access_key_id=os.environ.get("AWS_ACCESS_KEY_ID") or "test",
            aws_secret_access_key=os.environ.get("AWS_SECRET_ACCESS_KEY") or "test",
            region_name=region,
        )

    def _client(self, service: str, region: str) -> Any:
        key = (service, region)
        with self._lock:
            if key not in self._clients:
                endpoint = self.config.s3_endpoint if service == "s3" else self.config.endpoint
                self._clients[key] = self._session(region).client(
                    service,
                    endpoint_url=endpoint,
                    config=Config(retries={"max_attempts": 3}, max_pool_connections=16),
                )
            return self._clients[key]

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
        s3 = self._client("s3", run.workgroup.region_name if run.workgroup else "us-east-1")
        body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        meta = json.loads(s3.get_object(Bucket=bucket, Key=key + ".metadata")["Body"].read())
        return ResultData(meta["ColumnInfo"], rows_from_csv(body))


def _datum(cell: str | None) -> dict[str, str]:
    return {} if cell is None else {"VarCharValue": cell}


class _Cancelled(Exception):
    """StopQueryExecution reached the run."""


def _parse(statement: Statement) -> exp.Expr:
    tree = statement.tree.args.get("expression") if statement.tree is not None else None
    if isinstance(tree, exp.Expr):
        return tree
    try:
        return sqlglot.parse_one(statement.query, read="athena")
    except sqlglot.errors.ParseError:
        return exp.Select()  # the engine reports the syntax error with its position


def _table_offset(table: exp.Table, statement: Statement) -> int | None:
    start = table.this.meta.get("start") if isinstance(table.this, exp.Expr) else None
    if start is None:
        return None
    return int(start) + (0 if statement.kind == "ctas" else statement.query_offset)


def _database_exists(glue: Any, database: str) -> bool:
    try:
        glue.get_database(Name=database)
    except ClientError as exc:
        if exc.response["Error"]["Code"] == "EntityNotFoundException":
            return False
        raise
    return True


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


def _reason(exc: UnsupportedSqlError, query: str) -> str:
    where = ""
    if exc.offset is not None:
        line, col = line_col(query, exc.offset)
        where = f"line {line}:{col}: "
    return f"{exc.code}: {where}{exc}"


def _client_error_reason(exc: ClientError) -> str:
    error = exc.response.get("Error", {})
    bucket = (exc.response.get("Error") or {}).get("BucketName")
    if error.get("Code") == "NoSuchBucket":
        return f"Unable to verify/create output bucket {bucket or ''}".rstrip()
    return f"HIVE_CANNOT_OPEN_SPLIT: {error.get('Code')}: {error.get('Message')}"


def _engine_error_category(exc: Exception) -> int:
    # DuckDB's errors about the SQL or its data are the user's; anything else is ours.
    user = {"ConversionException", "InvalidInputException", "BinderException",
            "ParserException", "OutOfRangeException", "ConstraintException",
            "NotImplementedException", "CatalogException"}  # fmt: skip
    return 2 if type(exc).__name__ in user else 1


def _engine_error_reason(exc: Exception) -> str:
    name = type(exc).__name__
    message = str(exc).splitlines()[0] if str(exc) else name
    codes = {
        "ConversionException": "INVALID_CAST_ARGUMENT",
        "OutOfRangeException": "NUMERIC_VALUE_OUT_OF_RANGE",
        "ParserException": "SYNTAX_ERROR",
        "BinderException": "GENERIC_USER_ERROR",
        "InvalidInputException": "INVALID_FUNCTION_ARGUMENT",
        "NotImplementedException": "NOT_SUPPORTED",
        "CatalogException": "GENERIC_USER_ERROR",
    }
    if "division by zero" in message.lower():
        return f"DIVISION_BY_ZERO: {message}"
    code = codes.get(name, "GENERIC_INTERNAL_ERROR")
    return f"{code}: {message}"


def estimate_scanned_bytes(tree: exp.Expr, tables: dict[str, TableInfo]) -> int:
    """An ESTIMATE of Athena's DataScannedInBytes: for each table the query reads, the size
    of all its registered files times the share of its data columns the query names (all
    of them under ``SELECT *``). Partition pruning and Parquet statistics are ignored, so
    it over-states queries that filter on ``dt``; it is not what Athena would bill."""
    names = {t.name.lower() for t in referenced_tables(tree)}
    mentioned = {c.name.lower() for c in tree.find_all(exp.Column)}
    star = any(
        isinstance(p, exp.Star) or (isinstance(p, exp.Column) and isinstance(p.this, exp.Star))
        for select in tree.find_all(exp.Select)
        for p in select.expressions
    )
    total = 0.0
    for name in names:
        info = tables.get(name)
        if info is None or not info.columns:
            continue
        size = sum(p.size_bytes for p in info.partitions)
        used = len(info.columns) if star else len({c for c, _ in info.columns} & mentioned)
        total += size * used / len(info.columns)
    return int(total)


# -- moto integration ----------------------------------------------------------------------

_ACTIVE: Emulator | None = None
_ORIGINALS: dict[tuple[type, str], Any] = {}


def active() -> Emulator:
    """The installed emulator (RuntimeError if none)."""
    if _ACTIVE is None:
        raise RuntimeError("the Athena emulator is not installed")
    return _ACTIVE


def _start_query_execution(self: AthenaBackend, *args: Any, **kwargs: Any) -> str:
    # moto's signature: query, context, config, workgroup, execution_parameters
    return active().start(self, *args, **kwargs)


def _get_query_execution(self: AthenaBackend, exec_id: str) -> QueryRun:
    return active().get(self, exec_id)


def _stop_query_execution(self: AthenaBackend, exec_id: str) -> None:
    active().stop(self, exec_id)


def _respond_get_query_execution(self: AthenaResponse) -> str:
    run = active().get(self.athena_backend, self._get_param("QueryExecutionId"))
    return json.dumps({"QueryExecution": run.describe()})


def _respond_batch_get_query_execution(self: AthenaResponse) -> str:
    found: list[dict[str, Any]] = []
    missing: list[dict[str, str]] = []
    for run_id in self._get_param("QueryExecutionIds") or []:
        run = self.athena_backend.executions.get(run_id)
        if isinstance(run, QueryRun):
            found.append(run.describe())
        else:
            missing.append({"QueryExecutionId": run_id, "ErrorCode": "INVALID_INPUT",
                            "ErrorMessage": f"QueryExecution {run_id} was not found"})  # fmt: skip
    return json.dumps({"QueryExecutions": found, "UnprocessedQueryExecutionIds": missing})


def _respond_get_query_results(self: AthenaResponse) -> str:
    reply = active().results(
        self.athena_backend,
        self._get_param("QueryExecutionId"),
        self._get_param("MaxResults"),
        self._get_param("NextToken"),
    )
    return json.dumps(reply)


_PATCHES: dict[tuple[type, str], Any] = {
    (AthenaBackend, "start_query_execution"): _start_query_execution,
    (AthenaBackend, "get_query_execution"): _get_query_execution,
    (AthenaBackend, "stop_query_execution"): _stop_query_execution,
    (AthenaResponse, "get_query_execution"): _respond_get_query_execution,
    (AthenaResponse, "get_query_results"): _respond_get_query_results,
    (AthenaResponse, "batch_get_query_execution"): _respond_batch_get_query_execution,
}


def install(config: EmulatorConfig) -> Emulator:
    """Make this process's moto Athena run queries (until :func:`uninstall`)."""
    global _ACTIVE
    uninstall()
    _ACTIVE = Emulator(config)
    for (cls, name), func in _PATCHES.items():
        _ORIGINALS[(cls, name)] = cls.__dict__.get(name)
        setattr(cls, name, func)
    return _ACTIVE


def uninstall() -> None:
    """Give moto its own Athena back and stop the emulator's workers and engines."""
    global _ACTIVE
    for (cls, name), original in _ORIGINALS.items():
        if original is None:
            delattr(cls, name)
        else:
            setattr(cls, name, original)
    _ORIGINALS.clear()
    if _ACTIVE is not None:
        _ACTIVE.close()
        _ACTIVE = None


@contextmanager
def installed(config: EmulatorConfig) -> Iterator[Emulator]:
    """:func:`install` for the duration of a ``with`` block."""
    emulator = install(config)
    try:
        yield emulator
    finally:
        uninstall()
