"""Parquet (Snappy) bytes and their deterministic S3 keys."""

from __future__ import annotations

from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from chalicelib.settings import Settings


def parquet_bytes(table: pa.Table) -> bytes:
    """Serialise an Arrow table as one Snappy-compressed Parquet file."""
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink, compression="snappy")
    return sink.getvalue().to_pybytes()  # type: ignore[no-any-return]


def partition_prefix(settings: Settings, table: str, dt: str) -> str:
    """Key prefix of one table partition: ``{data_prefix}/{table}/dt={dt}/``."""
    return f"{settings.data_prefix}/{table}/dt={dt}/"


def batch_key(settings: Settings, table: str, dt: str, shard_id: str, first_sequence: str) -> str:
    """The object key of a batch's rows of one partition; a redelivery reuses it."""
    return f"{partition_prefix(settings, table, dt)}{shard_id}-{first_sequence}.parquet"


def put_object(s3: Any, bucket: str, key: str, body: bytes, content_type: str) -> None:
    """Write (or overwrite) one object."""
    s3.put_object(Bucket=bucket, Key=key, Body=body, ContentType=content_type)


def delete_object(s3: Any, bucket: str, key: str) -> None:
    """Delete one object (a missing key is not an error in S3)."""
    s3.delete_object(Bucket=bucket, Key=key)
