"""The Athena engine: awswrangler with one reused boto3 session, results as Arrow."""

from __future__ import annotations

import datetime as dt
import decimal
from collections.abc import Mapping
from typing import Any

import pyarrow as pa

from chalicelib import aws
from chalicelib.query.params import Params
from chalicelib.settings import Settings


class AthenaEngine:
    """Runs statements on Athena in ``settings.glue_database`` / ``athena_workgroup``."""

    name = "athena"

    def __init__(self, settings: Settings, *, session: Any = None) -> None:
        self.settings = settings
        # One session for every call: awswrangler builds a new one per call otherwise
        # (botocore model loading costs seconds).
        self._session = session or aws.session()

    def execute(self, sql: str, params: Params = None) -> pa.Table:
        """Run ``sql``; a list binds ``?`` as Athena execution parameters, a dict ``:name``."""
        import awswrangler as wr  # heavy (pandas): only when Athena is actually used

        kwargs: dict[str, Any] = {}
        if isinstance(params, Mapping):
            # awswrangler formats named values client-side, quoting strings.
            kwargs = {"params": dict(params), "paramstyle": "named"}
        elif params is not None:
            kwargs = {"params": [athena_literal(v) for v in params], "paramstyle": "qmark"}
        frame = wr.athena.read_sql_query(
            sql,
            database=self.settings.glue_database,
            workgroup=self.settings.athena_workgroup,
            s3_output=self.settings.athena_output or None,
            ctas_approach=False,
            boto3_session=self._session,
            **kwargs,
        )
        table = pa.Table.from_pandas(frame, preserve_index=False).replace_schema_metadata(None)
        # pandas 3 strings arrive as large_string; keep the local engine's plain string type.
        schema = pa.schema(
            [
                f.with_type(pa.string()) if pa.types.is_large_string(f.type) else f
                for f in table.schema
            ]
        )
        table = table.cast(schema)
        # awswrangler attaches the execution's metadata to the frame; the id goes into the
        # schema metadata, where the report handler finds it for its manifest.
        query_id = (getattr(frame, "query_metadata", None) or {}).get("QueryExecutionId")
        if query_id:
            table = table.replace_schema_metadata({b"query_execution_id": str(query_id).encode()})
        return table

    def refresh(self) -> None:
        """Nothing cached: Athena reads the catalog on each query."""

    def close(self) -> None:
        """Nothing to close."""


def athena_literal(value: Any) -> str:
    """An Athena SQL literal for a Python value (execution parameters are literal text)."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | decimal.Decimal):
        return str(value)
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(dt.UTC).replace(tzinfo=None)
        return f"TIMESTAMP '{value.isoformat(sep=' ', timespec='milliseconds')}'"
    if isinstance(value, dt.date):
        return f"DATE '{value.isoformat()}'"
    return "'" + str(value).replace("'", "''") + "'"
