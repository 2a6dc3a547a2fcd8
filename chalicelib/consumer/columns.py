"""Arrow columns of the five lake tables, built column by column from typed events.

``pa.Table.from_pylist`` is the known bottleneck (~235k rows/s); here each column is one
list comprehension over the events and one ``pa.array`` call, and the columns every
event has are built once and shared by all tables through ``take``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from operator import attrgetter

import msgspec
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from chalicelib.consumer.classify import classes_for_table, only_with_stats
from chalicelib.consumer.decode import DecodedBatch
from chalicelib.consumer.fastpath import TWINS
from chalicelib.contract import EventBase
from chalicelib.contract.models import EVENT_CLASSES
from chalicelib.tables import EVENTS, TABLES, Table

# Glue type -> Arrow type. Timestamps are stored UTC-normalised without a zone, which is
# what Glue/Athena's `timestamp` means (and DuckDB then reads TIMESTAMP, not TIMESTAMPTZ).
ARROW_TYPES: dict[str, pa.DataType] = {
    "string": pa.string(),
    "bigint": pa.int64(),
    "timestamp": pa.timestamp("us"),
}
_CLASSES: tuple[type[EventBase], ...] = tuple(EVENT_CLASSES.values())
_CODE = {cls: i for i, cls in enumerate(_CLASSES)}
_CODE.update({twin: _CODE[cls] for cls, twin in TWINS.items()})
_TAGS = pa.array(list(EVENT_CLASSES), pa.string())
# Columns every event has: built once per batch, shared by every table.
_SHARED = ("event_id", "event_type", "userid", "event_ts", "received_at", "host",
           "user_agent", "app_version", "description", "payload")  # fmt: skip


def arrow_schema(table: Table) -> pa.Schema:
    """The Arrow schema of a lake table's Parquet files (storage columns, no ``dt``)."""
    return pa.schema([pa.field(c.name, ARROW_TYPES[c.type]) for c in table.columns])


@dataclass(frozen=True, slots=True)
class TableRows:
    """One table's rows of a batch, with each row's partition date and source record."""

    table: pa.Table
    dt: pa.Array  # date32, UTC date of event_ts
    record: np.ndarray  # index of the Kinesis record each row came from


def timestamps(values: Sequence[datetime | None]) -> pa.Array:
    """tz-aware datetimes (or None) -> UTC timestamp[us] without zone.

    msgspec renders them as RFC 3339 in C and Arrow parses the offsets: ~10x faster
    than ``pa.array`` on tz-aware datetimes, which calls ``utcoffset()`` per value.
    """
    text = pa.array(msgspec.to_builtins(values), pa.string())
    return text.cast(pa.timestamp("us", "UTC")).cast(pa.timestamp("us"))


def build_tables(batch: DecodedBatch) -> dict[str, TableRows]:
    """Arrow rows of every table that gets at least one row from the batch."""
    events = batch.events
    if not events:
        return {}
    codes = np.array([_CODE[type(e)] for e in events], dtype=np.int8)
    record = batch.record_index
    shared = _shared_columns(batch, codes, record)
    dt = shared["event_ts"].cast(pa.date32())
    out: dict[str, TableRows] = {}
    out[EVENTS.name] = TableRows(
        pa.Table.from_arrays([shared[c] for c in EVENTS.column_names], schema=arrow_schema(EVENTS)),
        dt,
        record,
    )
    buckets: dict[type[EventBase], tuple[np.ndarray, list[EventBase]]] = {}
    for name, table in TABLES.items():
        if name == EVENTS.name:
            continue
        rows = _table_rows(table, events, codes, buckets, shared, dt, record)
        if rows is not None:
            out[name] = rows
    return out


def _shared_columns(
    batch: DecodedBatch, codes: np.ndarray, record: np.ndarray
) -> dict[str, pa.Array]:
    events = batch.events
    cols: dict[str, pa.Array] = {
        "event_type": _TAGS.take(pa.array(codes)),
        "event_ts": timestamps([e.event_ts for e in events]),
        # The raw lines (UTF-8 checked by the decoder), and the pattern-checked fields.
        **batch.arrays,
    }
    for name in ("userid", "host", "user_agent", "app_version", "description"):
        if name not in cols:
            cols[name] = pa.array(list(map(attrgetter(name), events)), pa.string())
    received = timestamps([e.received_at for e in events])
    if received.null_count:
        # Events sent straight to the stream have no server time: use Kinesis arrival.
        arrival = np.array([r.arrival for r in batch.records], dtype=np.float64)
        arrival_us = np.round(arrival * 1e6).astype(np.int64)[record]
        received = pc.fill_null(received, pa.array(arrival_us, pa.timestamp("us")))
    cols["received_at"] = received
    return cols


def _table_rows(
    table: Table,
    events: list[EventBase],
    codes: np.ndarray,
    buckets: dict[type[EventBase], tuple[np.ndarray, list[EventBase]]],
    shared: dict[str, pa.Array],
    dt: pa.Array,
    record: np.ndarray,
) -> TableRows | None:
    own = [c for c in table.columns if c.name not in _SHARED]
    positions: list[np.ndarray] = []
    parts: dict[str, list[pa.Array]] = {c.name: [] for c in own}
    for cls in classes_for_table(table.name):
        if cls not in buckets:
            pos = np.flatnonzero(codes == _CODE[cls])
            buckets[cls] = (pos, [events[i] for i in pos.tolist()])
        pos, bucket = buckets[cls]
        if only_with_stats(table.name, cls):
            keep = [j for j, e in enumerate(bucket) if e.level is not None]  # type: ignore[attr-defined]
            pos, bucket = pos[keep], [bucket[j] for j in keep]
        if not len(pos):
            continue
        positions.append(pos)
        for col in own:
            values = list(map(attrgetter(col.name), bucket))
            parts[col.name].append(pa.array(values, ARROW_TYPES[col.type]))
    if not positions:
        return None
    take = np.concatenate(positions)
    take_arr = pa.array(take)
    arrays = [
        shared[c.name].take(take_arr) if c.name in _SHARED else pa.concat_arrays(parts[c.name])
        for c in table.columns
    ]
    return TableRows(
        pa.Table.from_arrays(arrays, schema=arrow_schema(table)), dt.take(take_arr), record[take]
    )


def concat_rows(parts: list[TableRows]) -> TableRows:
    """One table's rows from several chunks of a batch, as one (zero-copy for Arrow)."""
    if len(parts) == 1:
        return parts[0]
    return TableRows(
        pa.concat_tables([p.table for p in parts]),
        pa.concat_arrays([p.dt for p in parts]),
        np.concatenate([p.record for p in parts]),
    )


def split_by_dt(rows: TableRows) -> list[tuple[str, pa.Table, np.ndarray]]:
    """Split a table's rows into its ``dt`` partitions: (``YYYY-MM-DD``, rows, records)."""
    days = pc.unique(rows.dt)
    if len(days) == 1:
        return [(days[0].as_py().isoformat(), rows.table, rows.record)]
    out = []
    dt_np = rows.dt.to_numpy(zero_copy_only=False)
    for day in sorted(d.as_py() for d in days):
        mask = dt_np == np.datetime64(day, "D")
        idx = np.flatnonzero(mask)
        out.append((day.isoformat(), rows.table.take(pa.array(idx)), rows.record[idx]))
    return out
