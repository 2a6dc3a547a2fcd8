"""What the lake knows about itself: dirty-partition markers and the event-id index.

Both live in the data bucket under ``maintenance/``, outside every table's location (Glue
and Athena never see them).

*Dirty markers* (``maintenance/dirty/<time>-<shard>-<first sequence>-<nonce>.json``): the
consumer writes one per batch, after the batch's objects, naming the (table, dt) partitions
it wrote and the batch's figures (``gamepipe status`` reads them). Compaction reads the
markers, compacts those partitions and deletes exactly the markers it read: a batch that
lands during compaction leaves a marker the run never saw, so its partition stays dirty.
The nonce makes every write a new marker, so a redelivered batch (same objects, same keys)
never re-uses a marker compaction is about to delete.

*Event-id index* (``maintenance/ids/received=<date>/dt=<dt>.parquet``): ``event_id``,
``dt`` and ``received_at`` of the ``events`` table, rewritten for a partition whenever
compaction rewrites it (idempotent, never stale). It answers "was this event_id received
near that time in another partition?" by reading only the received dates around the new
rows, not every partition an event-time window allows (see chalicelib/compaction.py).
"""

from __future__ import annotations

import io
import json
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

MAINTENANCE_PREFIX = "maintenance"
DIRTY_PREFIX = f"{MAINTENANCE_PREFIX}/dirty/"
IDS_PREFIX = f"{MAINTENANCE_PREFIX}/ids/"
# Where Lambda's S3 on-failure destination puts failed Kinesis batches (fixed by Lambda:
# aws/lambda/<ESM-UUID>/<shardID>/YYYY/MM/DD/YYYY-MM-DDTHH.MM.SS-<Random UUID>).
FAILED_PREFIX = "aws/lambda/"
# One receipt per replayed failed batch: how `gamepipe replay failed` knows it is done.
REPLAYED_PREFIX = f"{MAINTENANCE_PREFIX}/replayed/"
_DELETE_BATCH = 1000  # DeleteObjects limit
ID_SCHEMA = pa.schema(
    [
        pa.field("event_id", pa.string()),
        pa.field("dt", pa.string()),
        pa.field("received_at", pa.timestamp("us")),
    ]
)


@dataclass(frozen=True)
class Marker:
    """One batch's dirty marker: the partitions it wrote and its figures."""

    key: str
    partitions: tuple[tuple[str, str], ...]
    figures: dict[str, Any] = field(default_factory=dict)


def marker_key(shard_id: str, first_sequence: str, now: datetime | None = None) -> str:
    """A new marker key, sortable by write time (the newest lists last)."""
    now = now or datetime.now(UTC)
    nonce = uuid.uuid4().hex[:8]
    return f"{DIRTY_PREFIX}{now:%Y%m%dT%H%M%S.%f}-{shard_id}-{first_sequence}-{nonce}.json"


def write_marker(
    s3: Any, bucket: str, partitions: Iterable[tuple[str, str]], figures: dict[str, Any]
) -> str:
    """Record that ``partitions`` received rows (after those rows were written)."""
    body = {"partitions": sorted({tuple(p) for p in partitions}), **figures}
    key = marker_key(str(figures.get("shard_id", "")), str(figures.get("first_sequence", "")))
    s3.put_object(
        Bucket=bucket, Key=key, Body=json.dumps(body).encode(), ContentType="application/json"
    )
    return key


def list_keys(s3: Any, bucket: str, prefix: str) -> list[dict[str, Any]]:
    """Every object under ``prefix`` (Key, Size, LastModified, ETag), in key order."""
    out: list[dict[str, Any]] = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        out.extend(page.get("Contents", []))
    return out


def read_markers(s3: Any, bucket: str) -> list[Marker]:
    """Every dirty marker, oldest first."""
    markers = []
    for obj in list_keys(s3, bucket, DIRTY_PREFIX):
        body = json.loads(s3.get_object(Bucket=bucket, Key=obj["Key"])["Body"].read())
        parts = tuple((str(t), str(d)) for t, d in body.pop("partitions", []))
        markers.append(Marker(obj["Key"], parts, body))
    return markers


def dirty_partitions(markers: Iterable[Marker]) -> list[tuple[str, str]]:
    """The (table, dt) partitions the markers name, sorted."""
    return sorted({p for m in markers for p in m.partitions})


def delete_keys(s3: Any, bucket: str, keys: list[str]) -> None:
    """Delete objects in batches of 1,000 (a missing key is not an error)."""
    for i in range(0, len(keys), _DELETE_BATCH):
        chunk = keys[i : i + _DELETE_BATCH]
        s3.delete_objects(
            Bucket=bucket, Delete={"Objects": [{"Key": k} for k in chunk], "Quiet": True}
        )


# -- event-id index ------------------------------------------------------------------------


def index_key(received: str, dt: str) -> str:
    """The index object of partition ``dt``'s rows received on ``received``."""
    return f"{IDS_PREFIX}received={received}/dt={dt}.parquet"


def write_index(s3: Any, bucket: str, dt: str, ids: pa.Table) -> list[str]:
    """Replace partition ``dt``'s index with ``ids`` (event_id, received_at): one file per
    received date; files of dates no longer present are deleted."""
    days = pc.strftime(ids.column("received_at"), format="%Y-%m-%d") if ids.num_rows else None
    written = []
    if days is not None:
        with_dt = pa.table(
            {
                "event_id": ids.column("event_id"),
                "dt": pa.array([dt] * ids.num_rows, pa.string()),
                "received_at": ids.column("received_at").cast(pa.timestamp("us")),
            },
            schema=ID_SCHEMA,
        )
        for day in sorted(pc.unique(days).to_pylist()):
            part = with_dt.filter(pc.equal(days, day))
            sink = pa.BufferOutputStream()
            pq.write_table(part, sink, compression="snappy")
            key = index_key(day, dt)
            s3.put_object(Bucket=bucket, Key=key, Body=sink.getvalue().to_pybytes())
            written.append(key)
    stale = [
        o["Key"]
        for o in list_keys(s3, bucket, IDS_PREFIX)
        if o["Key"].endswith(f"/dt={dt}.parquet") and o["Key"] not in written
    ]
    delete_keys(s3, bucket, stale)
    return written


def read_index(s3: Any, bucket: str, first: date, last: date) -> pa.Table:
    """Index rows of every partition for rows received from ``first`` to ``last`` (UTC)."""
    parts = []
    day = first
    while day <= last:
        for obj in list_keys(s3, bucket, f"{IDS_PREFIX}received={day.isoformat()}/"):
            body = s3.get_object(Bucket=bucket, Key=obj["Key"])["Body"].read()
            parts.append(pq.read_table(io.BytesIO(body)).cast(ID_SCHEMA))
        day += timedelta(days=1)
    return pa.concat_tables(parts) if parts else ID_SCHEMA.empty_table()


def prune_index(s3: Any, bucket: str, keep_from: date) -> int:
    """Delete index files of rows received before ``keep_from``; how many were deleted."""
    old = []
    for obj in list_keys(s3, bucket, IDS_PREFIX):
        received = obj["Key"][len(IDS_PREFIX) :].split("/", 1)[0].removeprefix("received=")
        if received < keep_from.isoformat():
            old.append(obj["Key"])
    delete_keys(s3, bucket, old)
    return len(old)
