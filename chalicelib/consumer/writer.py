"""Parquet (Snappy) bytes and their deterministic S3 keys."""

from __future__ import annotations

from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from chalicelib.settings import Settings

# Dictionary-encode only columns with few distinct values: trying it on ids, payloads and
# timestamps costs ~30% of the write time for nothing (the dictionary overflows anyway).
LOW_CARDINALITY = ("event_type", "host", "user_agent", "app_version", "description",
                   "item_type", "guild_name")  # fmt: skip


def parquet_bytes(table: pa.Table, dictionary: tuple[str, ...] = LOW_CARDINALITY) -> bytes:
    """Serialise an Arrow table as one Snappy-compressed Parquet file."""
    sink = pa.BufferOutputStream()
    names = set(table.column_names)
    use_dictionary = [c for c in dictionary if c in names]
    # Min/max of whole JSON payloads help no query and bloat the footer.
    statistics = [c for c in table.column_names if c != "payload"]
    pq.write_table(
        table,
        sink,
        compression="snappy",
        use_dictionary=use_dictionary,
        write_statistics=statistics,
    )
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
