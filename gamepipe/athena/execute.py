"""One query execution on a worker thread: a query, a CTAS or a DROP TABLE.

A run ends SUCCEEDED with its result where Athena writes it (``<id>.csv`` +
``.csv.metadata``; CTAS: Parquet, the Glue table and ``tables/<id>-manifest.csv``; DROP:
an empty ``<id>.txt``), FAILED with an Athena-style reason (``reasons``; nothing is raised
out of the worker), or CANCELLED when StopQueryExecution reached it.
"""

from __future__ import annotations

import contextlib
import json
import logging
import time
from typing import Any

import pyarrow as pa
import sqlglot
from botocore.exceptions import ClientError
from sqlglot import exp

from gamepipe.athena import ctas, reasons
from gamepipe.athena.connections import Connections, Slot
from gamepipe.athena.results import cells, column_info, csv_bytes
from gamepipe.athena.runs import QueryRun, ResultData
from gamepipe.athena.scan_estimate import estimate_scanned_bytes
from gamepipe.athena.statements import Statement, referenced_tables
from gamepipe.athena.translate import ATHENA_CATALOG, UnsupportedSqlError

logger = logging.getLogger(__name__)


class Cancelled(Exception):
    """StopQueryExecution reached the run."""


class Executor:
    """Runs the statements of query executions on the engines of ``connections``."""

    def __init__(self, connections: Connections) -> None:
        self.connections = connections

    def execute(self, run: QueryRun, region: str, statement: Any) -> None:
        """Run ``statement`` (or fail the run with the error parsing left) to a final state."""
        # A run stays QUEUED until its database's engine is free (one DuckDB connection
        # per database; Athena queues for capacity the same way).
        is_statement = isinstance(statement, Statement)
        slot = self.connections.slot(region, run.database) if is_statement else None
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

    def _dispatch(self, run: QueryRun, region: str, statement: Any, slot: Slot | None) -> None:
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
            run.finish("FAILED", reasons.sql_reason(exc, run.query), reasons.USER)
        except Cancelled:
            run.finish("CANCELLED")
        except ClientError as exc:
            run.finish("FAILED", reasons.client_error_reason(exc), reasons.USER)
        except Exception as exc:  # a bug or an engine error: FAILED, never a 5xx
            reason, category = reasons.engine_failure(exc)
            run.finish("FAILED", reason, category)
            if category == reasons.SYSTEM:
                logger.exception("query %s failed inside the emulator", run.id)
        else:
            run.finish("SUCCEEDED")

    def _select(self, run: QueryRun, region: str, statement: Statement, slot: Slot) -> None:
        table = self._query(run, region, statement, slot)
        started = time.perf_counter()
        rows = cells(table)
        header = table.column_names
        s3 = self.connections.client("s3", region)
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

    def _ctas(self, run: QueryRun, region: str, statement: Statement, slot: Slot) -> None:
        glue, s3 = self.connections.client("glue", region), self.connections.client("s3", region)
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
        glue, s3 = self.connections.client("glue", region), self.connections.client("s3", region)
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

    def _query(self, run: QueryRun, region: str, statement: Statement, slot: Slot) -> pa.Table:
        """Run the statement's query on the run's database; time it; estimate the scan."""
        tree = _parse(statement)
        tables = referenced_tables(tree)
        if tables and not _database_exists(self.connections.client("glue", region), run.database):
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
                raise Cancelled from exc
            raise
        if run.cancel_requested:
            raise Cancelled
        run.planning_ms = int((running - planning) * 1000)
        run.engine_ms = int((done - planning) * 1000)
        run.scanned_bytes = estimate_scanned_bytes(tree, slot.engine.loaded_tables())
        return table


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
