"""CREATE TABLE ... AS <query>, the way Athena does it: Parquet files under the table's
location, the table (and its partitions) in Glue, a data manifest listing the files.

awswrangler's default read (``ctas_approach=True``) depends on each of these: it reads
``Statistics.DataManifestLocation``, then the Parquet files the manifest lists, and for an
empty result the Glue table's column types; then it deletes the Glue table.
"""

from __future__ import annotations

import io
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from botocore.exceptions import ClientError
from sqlglot import exp

from gamepipe.athena.results import glue_type
from gamepipe.athena.statements import Statement
from gamepipe.athena.translate import ATHENA_CATALOG, UnsupportedSqlError

# write_compression -> pyarrow codec; Athena's default for Parquet is GZIP.
_CODECS = {"GZIP": "gzip", "SNAPPY": "snappy", "ZSTD": "zstd", "LZ4": "lz4", "NONE": "none"}
_SERDE = "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"
_INPUT = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat"
_OUTPUT = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat"
_SUPPORTED = {"external_location", "format", "write_compression", "partitioned_by", "table_type"}


@dataclass(frozen=True)
class CtasTarget:
    """Where a CTAS writes and what it registers."""

    database: str
    table: str
    location: str  # s3://bucket/prefix/ (ends with "/")
    codec: str
    partitioned_by: tuple[str, ...]

    @property
    def qualified(self) -> str:
        """The name as Athena's messages spell it."""
        return f"{ATHENA_CATALOG}.{self.database}.{self.table}"


def plan(stmt: Statement, database: str, output_root: str, run_id: str) -> CtasTarget:
    """The target of a CTAS statement; NOT_SUPPORTED for properties the emulator lacks."""
    props = stmt.properties
    unknown = sorted(set(props) - _SUPPORTED)
    if unknown:
        raise UnsupportedSqlError(
            f"CTAS properties {', '.join(unknown)} are not supported by the local Athena emulator"
        )
    fmt = str(props.get("format") or "PARQUET").upper()
    table_type = str(props.get("table_type") or "HIVE").upper()
    if fmt != "PARQUET" or table_type != "HIVE":
        raise UnsupportedSqlError(
            f"the local Athena emulator writes CTAS tables as Hive Parquet only, not {fmt}"
            f" / {table_type}"
        )
    compression = str(props.get("write_compression") or "GZIP").upper()
    if compression not in _CODECS:
        raise UnsupportedSqlError(f"write_compression {compression!r} is not supported")
    location = str(props.get("external_location") or f"{output_root}tables/{run_id}/")
    partitioned = props.get("partitioned_by") or []
    if not isinstance(partitioned, list):
        raise UnsupportedSqlError("partitioned_by takes ARRAY['column', ...]")
    return CtasTarget(
        database=(stmt.database or database).lower(),
        table=str(stmt.table).lower(),
        location=location if location.endswith("/") else location + "/",
        codec=_CODECS[compression],
        partitioned_by=tuple(str(c).lower() for c in partitioned),
    )


def check_target(glue: Any, s3: Any, target: CtasTarget) -> None:
    """The database exists, the table does not, and the location is empty (as Athena checks)."""
    try:
        glue.get_database(Name=target.database)
    except ClientError as exc:
        if exc.response["Error"]["Code"] == "EntityNotFoundException":
            raise UnsupportedSqlError(
                f"Schema '{target.database}' does not exist", code="SCHEMA_NOT_FOUND", offset=0
            ) from exc
        raise
    try:
        glue.get_table(DatabaseName=target.database, Name=target.table)
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "EntityNotFoundException":
            raise
    else:
        raise UnsupportedSqlError(
            f"Table '{target.qualified}' already exists", code="TABLE_ALREADY_EXISTS", offset=0
        )
    bucket, prefix = split_s3(target.location)
    listed = s3.list_objects_v2(Bucket=bucket, Prefix=prefix, MaxKeys=1)
    if listed.get("KeyCount", 0):
        raise UnsupportedSqlError(
            f"Target directory for table '{target.database}.{target.table}' already exists:"
            f" {target.location}",
            code="HIVE_PATH_ALREADY_EXISTS",
        )


def check_columns(query: exp.Expr | None, schema: pa.Schema, target: CtasTarget) -> None:
    """Every column named, once, with a known type; partition columns last (Athena's rules)."""
    select = query
    while isinstance(select, exp.SetOperation):
        select = select.this  # a UNION's columns are its first branch's
    if isinstance(select, exp.Select):
        for i, projection in enumerate(select.expressions, start=1):
            if not isinstance(projection, exp.Alias | exp.Column | exp.Star):
                raise UnsupportedSqlError(
                    f"Column name not specified at position {i}",
                    code="MISSING_COLUMN_NAME",
                    offset=_first_offset(projection),
                )
            if isinstance(projection, exp.Alias) and isinstance(projection.this, exp.Null):
                # DuckDB would pick a type; Athena's NULL literal has none to store.
                raise UnsupportedSqlError(
                    f"Column type is unknown: {projection.alias}",
                    code="COLUMN_TYPE_UNKNOWN",
                    offset=_first_offset(projection),
                )
    seen: set[str] = set()
    for f in schema:
        name = f.name.lower()
        if name in seen:
            raise UnsupportedSqlError(
                f"Column name '{name}' specified more than once", code="DUPLICATE_COLUMN_NAME"
            )
        seen.add(name)
        if pa.types.is_null(f.type):
            raise UnsupportedSqlError(f"Column type is unknown: {name}", code="COLUMN_TYPE_UNKNOWN")
    names = [f.name.lower() for f in schema]
    keys = list(target.partitioned_by)
    if keys and names[-len(keys) :] != keys:
        raise UnsupportedSqlError(
            f"Partition keys must be the last columns in the table and in the same order as"
            f" the table properties: {keys}",
            code="HIVE_COLUMN_ORDER_MISMATCH",
        )
    if keys and len(keys) == len(names):
        raise UnsupportedSqlError("Table contains only partition columns", code="NOT_SUPPORTED")


def _first_offset(node: exp.Expr) -> int | None:
    for part in node.walk():
        start = part.meta.get("start") if isinstance(part, exp.Expr) else None
        if start is not None:
            return int(start)
    return None


def write(glue: Any, s3: Any, target: CtasTarget, table: pa.Table, run_id: str) -> list[str]:
    """Write the rows as Parquet, register the table (and partitions); return the files."""
    keys = list(target.partitioned_by)
    data_schema = pa.schema([f for f in table.schema if f.name.lower() not in keys])
    files: list[str] = []
    partitions: list[tuple[list[str], str]] = []
    if not keys:
        if table.num_rows:
            files.append(_put_parquet(s3, target.location, run_id, table, target.codec))
    else:
        groups = table.group_by(keys).aggregate([]) if table.num_rows else None
        for values in groups.to_pylist() if groups is not None else []:
            mask = None
            for k in keys:
                cond = pc.is_null(table[k]) if values[k] is None else pc.equal(table[k], values[k])
                mask = cond if mask is None else pc.and_(mask, cond)
            part = table.filter(mask).select(data_schema.names)
            texts = [
                "__HIVE_DEFAULT_PARTITION__" if values[k] is None else str(values[k]) for k in keys
            ]
            location = (
                target.location
                + "/".join(f"{k}={v}" for k, v in zip(keys, texts, strict=True))
                + "/"
            )
            files.append(_put_parquet(s3, location, run_id, part, target.codec))
            partitions.append((texts, location))
    _register(glue, target, table.schema, data_schema)
    if partitions:
        _add_partitions(glue, target, data_schema, partitions)
    return files


def _partition_text(value: object) -> str:
    return "__HIVE_DEFAULT_PARTITION__" if value is None else str(value)


def _put_parquet(s3: Any, location: str, run_id: str, table: pa.Table, codec: str) -> str:
    buf = io.BytesIO()
    pq.write_table(table, buf, compression=codec)
    bucket, prefix = split_s3(location)
    # Athena names its files after the query, without an extension.
    key = f"{prefix}{run_id}_00000"
    s3.put_object(Bucket=bucket, Key=key, Body=buf.getvalue())
    return f"s3://{bucket}/{key}"


def _storage(columns: Sequence[pa.Field], location: str) -> dict[str, Any]:
    return {
        "Columns": [{"Name": f.name.lower(), "Type": glue_type(f.type)} for f in columns],
        "Location": location.rstrip("/"),
        "InputFormat": _INPUT,
        "OutputFormat": _OUTPUT,
        "SerdeInfo": {"SerializationLibrary": _SERDE, "Parameters": {"serialization.format": "1"}},
    }


def _register(glue: Any, target: CtasTarget, schema: pa.Schema, data: pa.Schema) -> None:
    keys = (
        [schema.field(schema.get_field_index(k)) for k in target.partitioned_by]
        if (target.partitioned_by)
        else []
    )
    glue.create_table(
        DatabaseName=target.database,
        TableInput={
            "Name": target.table,
            "TableType": "EXTERNAL_TABLE",
            "Parameters": {
                "classification": "parquet",
                "has_encrypted_data": "false",
                "parquet.compression": target.codec.upper(),
            },
            "StorageDescriptor": _storage(list(data), target.location),
            "PartitionKeys": [{"Name": f.name.lower(), "Type": glue_type(f.type)} for f in keys],
        },
    )


def _add_partitions(
    glue: Any, target: CtasTarget, data: pa.Schema, partitions: list[tuple[list[str], str]]
) -> None:
    for start in range(0, len(partitions), 100):  # Glue's batch limit
        glue.batch_create_partition(
            DatabaseName=target.database,
            TableName=target.table,
            PartitionInputList=[
                {"Values": values, "StorageDescriptor": _storage(list(data), location)}
                for values, location in partitions[start : start + 100]
            ],
        )


def write_manifest(
    s3: Any, output_root: str, run_id: str, files: Sequence[str], metadata: dict[str, Any]
) -> str:
    """``tables/<id>-manifest.csv`` (one written file per line) and ``tables/<id>.metadata``."""
    bucket, prefix = split_s3(output_root)
    manifest = f"{prefix}tables/{run_id}-manifest.csv"
    s3.put_object(Bucket=bucket, Key=manifest, Body="".join(f + "\n" for f in files).encode())
    s3.put_object(
        Bucket=bucket,
        Key=f"{prefix}tables/{run_id}.metadata",
        Body=json.dumps(metadata).encode(),
    )
    return f"s3://{bucket}/{manifest}"


def split_s3(uri: str) -> tuple[str, str]:
    """(bucket, key or prefix) of an s3:// URI."""
    parsed = urlparse(uri)
    if parsed.scheme not in ("s3", "s3a", "s3n") or not parsed.netloc:
        raise UnsupportedSqlError(f"not an S3 location: {uri!r}", code="INVALID_LOCATION")
    return parsed.netloc, parsed.path.lstrip("/")
