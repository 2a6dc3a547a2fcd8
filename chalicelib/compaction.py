"""Compaction: merge a partition's small batch files into one sorted, deduplicated file.

Each consumer batch writes one file per table partition, so a busy day has thousands of
small files (3–70x slower to query: bench/queries.py, live vs compacted). Compaction
reads them all, drops repeated event_ids (keeping the earliest ``received_at``), sorts by
(userid, event_ts), writes ``compacted.parquet`` and then deletes the inputs. Between the
write and the delete a reader can see rows twice; the question/report SQL counts each
event_id once, so answers do not change. Running it again is safe: the compacted file is
an input too.

Across partitions (a resend whose event_ts moved to another day) the copy to keep is
decided once for all tables by chalicelib/maintenance.py and passed in as ``winners``:
a row whose event_id has a winner elsewhere (another dt, or another received_at) goes.

Merge-on-read: on the four seed tables every row of the compacted file carries
``compacted = true`` (the consumer's batch files have no such column: NULL). The SQL
trusts a day whose rows are all compacted to hold each event_id once and dedupes only
the days that also have live rows (see athena_sql/README.md).
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from chalicelib.consumer.columns import arrow_schema
from chalicelib.consumer.writer import LOW_CARDINALITY, parquet_bytes, partition_prefix
from chalicelib.lake_state import delete_keys, list_keys
from chalicelib.settings import Settings
from chalicelib.tables import COMPACTED, PARTITION_KEY, TABLES

COMPACTED_NAME = "compacted.parquet"  # no leading "_" or ".": Athena skips such files


@dataclass(frozen=True)
class CompactionResult:
    """What compacting one partition did."""

    table: str
    dt: str
    files_in: int
    rows_in: int
    rows_out: int
    key: str | None  # the compacted object, None when there was nothing to do

    @property
    def duplicates_dropped(self) -> int:
        """Rows removed because their event_id was already present."""
        return self.rows_in - self.rows_out


def list_parquet_keys(s3: Any, bucket: str, prefix: str) -> list[str]:
    """Parquet object keys under a prefix, sorted."""
    keys: list[str] = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        keys.extend(o["Key"] for o in page.get("Contents", []) if o["Key"].endswith(".parquet"))
    return sorted(keys)


def list_partitions(s3: Any, settings: Settings, table: str) -> list[str]:
    """The ``dt`` values that have objects under a table, sorted."""
    prefix = f"{settings.data_prefix}/{table}/{PARTITION_KEY}="
    out = []
    pages = s3.get_paginator("list_objects_v2").paginate(
        Bucket=settings.data_bucket, Prefix=prefix, Delimiter="/"
    )
    for page in pages:
        for common in page.get("CommonPrefixes", []):
            out.append(common["Prefix"][len(prefix) :].rstrip("/"))
    return sorted(out)


def dedupe_earliest(table: pa.Table, order: np.ndarray) -> pa.Table:
    """Keep one row per event_id: the earliest received_at, then the earliest ``order``."""
    if table.num_rows == 0:
        return table
    work = table.append_column("__order", pa.array(order))
    idx = pc.sort_indices(
        work,
        sort_keys=[
            ("event_id", "ascending"),
            ("received_at", "ascending"),
            ("__order", "ascending"),
        ],
    )
    ids = table.column("event_id").take(idx).to_numpy(zero_copy_only=False)
    first = np.ones(len(ids), dtype=bool)
    first[1:] = ids[1:] != ids[:-1]
    return table.take(idx.filter(pa.array(first)))


def drop_losers(table: pa.Table, dt: str, winners: pa.Table | None) -> pa.Table:
    """Rows whose event_id has no winner, or whose (dt, received_at) is the winner's."""
    if winners is None or winners.num_rows == 0 or table.num_rows == 0:
        return table
    at = pc.index_in(table.column("event_id"), value_set=winners.column("event_id"))
    contested = pc.is_valid(at)
    if not pc.any(contested).as_py():
        return table
    index = pc.fill_null(at, 0)
    win_dt = pc.take(winners.column("dt"), index)
    win_received = pc.take(winners.column("received_at").cast(pa.int64()), index)
    mine = pc.and_(
        pc.equal(win_dt, dt), pc.equal(win_received, table.column("received_at").cast(pa.int64()))
    )
    return table.filter(pc.or_(pc.invert(contested), mine))


def merge_files(
    table: str, parts: list[pa.Table], dt: str = "", winners: pa.Table | None = None
) -> pa.Table:
    """One partition's files (in key order) as one sorted table, each event_id once.

    Copies that lose to a ``winners`` row (event_id, dt, received_at) are dropped first;
    of the rest the earliest ``received_at`` copy is kept (then the earliest file); the
    seed tables get ``compacted = true`` on every row.
    """
    schema = arrow_schema(TABLES[table])  # the batch files' columns: drops a stale flag
    parts = [drop_losers(_conform(p, schema), dt, winners) for p in parts]
    order = [np.full(p.num_rows, n, dtype=np.int64) for n, p in enumerate(parts)]
    merged = pa.concat_tables(parts) if parts else schema.empty_table()
    kept = dedupe_earliest(merged, np.concatenate(order) if order else np.empty(0, np.int64))
    kept = kept.sort_by([("userid", "ascending"), ("event_ts", "ascending")])
    if TABLES[table].merge_on_read:
        kept = kept.append_column(
            pa.field(COMPACTED, pa.bool_()), pa.array(np.ones(kept.num_rows, dtype=bool))
        )
    return kept


def _conform(part: pa.Table, schema: pa.Schema) -> pa.Table:
    """A file's rows with exactly ``schema``'s columns: NULL for a column added after the
    file was written (as Athena reads it), a column no longer in the table dropped."""
    for f in schema:
        if f.name not in part.column_names:
            part = part.append_column(f, pa.nulls(part.num_rows, f.type))
    return part.select(schema.names).cast(schema)


# Worth a dictionary once the file is sorted by (userid, event_ts): a player's rows are
# together, and so are a session's (~10 events each). kpi/sessions' distinct count was
# 1.4-1.5x q4's time with it, 2.1-2.4x without (bench/kpi.py's lake at 10M events).
SORTED_REPEATS = ("userid", "session_id")


def compacted_bytes(table: pa.Table) -> bytes:
    """The compacted file's Parquet bytes (dictionaries for the low-cardinality columns and
    for those that repeat once sorted)."""
    return parquet_bytes(
        table, dictionary=(*LOW_CARDINALITY, *SORTED_REPEATS), string_statistics=True
    )


def live_keys(s3: Any, settings: Settings, table: str, dt: str) -> list[str]:
    """The partition's batch files not yet compacted."""
    prefix = partition_prefix(settings, table, dt)
    keys = list_parquet_keys(s3, settings.data_bucket, prefix)
    return [k for k in keys if k != prefix + COMPACTED_NAME]


def compact_partition(
    s3: Any,
    settings: Settings,
    table: str,
    dt: str,
    winners: pa.Table | None = None,
) -> tuple[CompactionResult, pa.Table | None]:
    """Merge one partition's files into ``compacted.parquet``, then delete the others.

    Returns the result and the rows kept (None when nothing was written). A partition
    that is one compacted file and loses no row to ``winners`` is left as it is.
    """
    bucket = settings.data_bucket
    prefix = partition_prefix(settings, table, dt)
    target = prefix + COMPACTED_NAME
    listed = _list_etags(s3, bucket, prefix)
    keys = sorted(listed)
    if not keys or (keys == [target] and (winners is None or winners.num_rows == 0)):
        return CompactionResult(table, dt, len(keys), 0, 0, None), None
    parts = [read_table(s3, bucket, key) for key in keys]
    rows_in = sum(p.num_rows for p in parts)
    kept = merge_files(table, parts, dt, winners)
    if keys == [target] and kept.num_rows == rows_in:
        return CompactionResult(table, dt, 1, rows_in, rows_in, None), None
    body = compacted_bytes(kept)
    s3.put_object(
        Bucket=bucket, Key=target, Body=body, ContentType="application/vnd.apache.parquet"
    )
    # A batch redelivered while we merged may have rewritten an input under the same key:
    # delete only what is still the version we read (its marker keeps the partition dirty).
    now = _list_etags(s3, bucket, prefix)
    stale = [k for k in keys if k != target and now.get(k) == listed[k]]
    delete_keys(s3, bucket, stale)
    return CompactionResult(table, dt, len(keys), rows_in, kept.num_rows, target), kept


def _list_etags(s3: Any, bucket: str, prefix: str) -> dict[str, str]:
    return {
        o["Key"]: o.get("ETag", "")
        for o in list_keys(s3, bucket, prefix)
        if o["Key"].endswith(".parquet")
    }


def read_table(s3: Any, bucket: str, key: str) -> pa.Table:
    """One Parquet object of the lake, read whole."""
    return pq.read_table(io.BytesIO(s3.get_object(Bucket=bucket, Key=key)["Body"].read()))
