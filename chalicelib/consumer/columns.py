"""Arrow columns of the five lake tables, built column by column from typed events.

``pa.Table.from_pylist`` is the known bottleneck (~235k rows/s); here each column is one
list comprehension over the events and one ``pa.array`` call. The rows of a chunk are
first put in *routing-group* order (see ``GROUPS``) so that every table's rows are one
contiguous run: columns shared by all tables are built once, for all events, and each
table gets zero-copy slices of them instead of a ``take`` per column.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
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
_SEED_TABLES = tuple(t for t in TABLES.values() if t.name != EVENTS.name)


def arrow_schema(table: Table) -> pa.Schema:
    """The Arrow schema of a lake table's Parquet files (storage columns, no ``dt``)."""
    return pa.schema([pa.field(c.name, ARROW_TYPES[c.type]) for c in table.columns])


# Routing group: an event class, split by "carries stats" where routing depends on it
# (enemy_attack: False/True; None for the other classes). Every event of a group lands in
# the same seed tables. Ordered by the first and last seed table they land in, each
# table's groups are consecutive (checked below), so a chunk sorted by group gives each
# table one run of rows.
Group = tuple[type[EventBase], bool | None]


def _routing_groups() -> tuple[tuple[Group, ...], dict[str, range]]:
    groups: list[Group] = []
    for cls in _CLASSES:
        split = any(only_with_stats(t.name, cls) for t in _SEED_TABLES)
        groups.extend([(cls, False), (cls, True)] if split else [(cls, None)])

    def lands_in(group: Group, table: Table) -> bool:
        cls, stats = group
        return cls in classes_for_table(table.name) and (
            stats is True or not only_with_stats(table.name, cls)
        )

    def span(group: Group) -> tuple[int, int]:
        hits = [i for i, t in enumerate(_SEED_TABLES) if lands_in(group, t)]
        return (min(hits), max(hits)) if hits else (len(_SEED_TABLES), len(_SEED_TABLES))

    groups.sort(key=span)  # stable: class order within equal spans
    runs: dict[str, range] = {}
    for table in _SEED_TABLES:
        members = [g for g, group in enumerate(groups) if lands_in(group, table)]
        if members != list(range(members[0], members[-1] + 1)):
            raise RuntimeError(f"routing of {table.name} is not a consecutive run of groups")
        runs[table.name] = range(members[0], members[-1] + 1)
    return tuple(groups), runs


GROUPS, TABLE_GROUPS = _routing_groups()
# Class code -> group of its events (the "without stats" group for split classes), and
# the classes whose events move to another group when they carry stats.
_GROUP_OF_CODE = np.array(
    [GROUPS.index((cls, None if (cls, None) in GROUPS else False)) for cls in _CLASSES],
    dtype=np.int8,
)
_STATS_GROUP = {_CODE[cls]: GROUPS.index((cls, True)) for cls, s in GROUPS if s is True}


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
    """Arrow rows of every table that gets at least one row from the batch.

    The ``events`` table holds the chunk's events grouped by routing group (arrival
    order within a group); row order inside a Parquet file carries no meaning. Columns
    the decoder already built (all of them from the native decoder) are taken once in
    that order; the others are gathered from the typed events.
    """
    if not batch.count:
        return {}
    events = batch.events
    codes, stats = _codes_and_stats(batch)
    groups = _GROUP_OF_CODE[codes]
    for code, group in _STATS_GROUP.items():
        pos = np.flatnonzero(codes == code)
        if len(pos):
            groups[pos[stats(pos)]] = group
    order = np.argsort(groups, kind="stable")
    ordered = list(map(events.__getitem__, order.tolist())) if events else []
    bounds = np.searchsorted(groups[order], np.arange(len(GROUPS) + 1))
    record = batch.record_index[order]
    rows_in_order = batch.rows(order)  # composed once; each column is one take
    shared = _shared_columns(batch, ordered, codes[order], rows_in_order, record)
    dt = shared["event_ts"].cast(pa.date32())
    everything = [shared[c] for c in EVENTS.column_names]
    out = {
        EVENTS.name: TableRows(
            pa.Table.from_arrays(everything, schema=arrow_schema(EVENTS)), dt, record
        )
    }
    for table in _SEED_TABLES:
        run = TABLE_GROUPS[table.name]
        start, stop = int(bounds[run.start]), int(bounds[run.stop])
        if stop == start:
            continue
        rows = ordered[start:stop]
        arrays = [
            shared[c.name].slice(start, stop - start)
            if c.name in shared
            else batch.column(c.name, rows_in_order.slice(start, stop - start))
            if c.name in batch.raw_arrays
            else pa.array(list(map(attrgetter(c.name), rows)), ARROW_TYPES[c.type])
            for c in table.columns
        ]
        out[table.name] = TableRows(
            pa.Table.from_arrays(arrays, schema=arrow_schema(table)),
            dt.slice(start, stop - start),
            record[start:stop],
        )
    return out


def _codes_and_stats(
    batch: DecodedBatch,
) -> tuple[np.ndarray, Callable[[np.ndarray], np.ndarray]]:
    """Each event's class code, and a function telling which of the given rows carry
    stats (only asked for the classes routed by it)."""
    if batch.codes is not None:  # native decoder: codes and the stats columns are built
        kept = batch.kept
        codes = batch.codes if kept is None else batch.codes[kept]
        level = batch.raw_arrays["level"].is_valid().to_numpy(zero_copy_only=False)
        has_level = level if kept is None else level[kept]
        return codes, lambda pos: has_level[pos]
    events = batch.events
    codes = np.fromiter(map(_CODE.__getitem__, map(type, events)), np.int8, len(events))

    def stats(pos: np.ndarray) -> np.ndarray:
        return np.array([events[i].has_stats for i in pos.tolist()], dtype=bool)  # type: ignore[attr-defined]

    return codes, stats


def _shared_columns(
    batch: DecodedBatch,
    ordered: list[EventBase],
    codes: np.ndarray,
    rows: pa.Array,
    record: np.ndarray,
) -> dict[str, pa.Array]:
    cols: dict[str, pa.Array] = {
        "event_type": _TAGS.take(pa.array(codes)),
        # The raw lines (UTF-8 checked by the decoder) and the fields it built already.
        **{name: batch.column(name, rows) for name in _SHARED if name in batch.raw_arrays},
    }
    for name in ("userid", "host", "user_agent", "app_version", "description"):
        if name not in cols:
            cols[name] = pa.array(list(map(attrgetter(name), ordered)), pa.string())
    for name in ("event_ts", "received_at"):
        if name not in cols:
            cols[name] = timestamps(list(map(attrgetter(name), ordered)))
    received = cols["received_at"]
    if received.null_count:
        # Events sent straight to the stream have no server time: use Kinesis arrival.
        arrival = np.array([r.arrival for r in batch.records], dtype=np.float64)
        arrival_us = np.round(arrival * 1e6).astype(np.int64)[record]
        received = pc.fill_null(received, pa.array(arrival_us, pa.timestamp("us")))
    cols["received_at"] = received
    return cols


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
