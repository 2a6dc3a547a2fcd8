"""Lake maintenance: compact every dirty partition, each event_id once across partitions.

Which partitions: those named by the consumer's dirty markers (chalicelib/lake_state.py),
whatever their date: today's, yesterday's, a late event's from weeks ago. No lookback.

Which copy of an event_id wins: the **first received** (smallest ``received_at``, then the
earlier ``dt``), in every table. It is the rule the SQL applies within a day before
compaction (``min_by(..., received_at)``) and the oracle's (first occurrence in the order
sent), so compaction never changes an answer it should not; and a later copy never
displaces a compacted one, so a run rewrites only dirty partitions, except when a replayed
failed batch brings back an *earlier* copy (then the later one is removed from its
partition, which is rewritten too).

Where the other copy can be: a resend keeps its event_id but may carry another event_ts,
so another ``dt``. The event-time window (45 days back, 1 day ahead of ``received_at``)
puts two copies received together up to 46 days apart, and copies received at different
times further still. Looking through every partition in that window would read the
``event_id`` column of ~47 days per run; instead the copies are looked up by *received*
time in the event-id index: the new rows' received span ± ``dedupe_horizon_hours``. Copies
received further apart than the horizon (default 24 h) are not matched across partitions
(within one partition every copy is, at any distance). Figures: docs/design-consumer.md.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from chalicelib import lake_state
from chalicelib.compaction import CompactionResult, compact_partition, live_keys, read_table
from chalicelib.settings import Settings
from chalicelib.tables import EVENTS, TABLES

_ID_COLUMNS = ["event_id", "received_at"]


@dataclass
class CompactionRun:
    """What one run did: partitions compacted, rows dropped, markers cleared."""

    results: list[CompactionResult] = field(default_factory=list)
    markers_cleared: int = 0
    cross_partition_losers: int = 0
    index_files_pruned: int = 0

    def summary(self) -> dict[str, Any]:
        """Totals for the schedule's reply and the CLI."""
        done = [r for r in self.results if r.key]
        return {
            "partitions_compacted": len(done),
            "files_in": sum(r.files_in for r in done),
            "rows_in": sum(r.rows_in for r in done),
            "rows_out": sum(r.rows_out for r in done),
            "duplicates_dropped": sum(r.duplicates_dropped for r in done),
            "cross_partition_losers": self.cross_partition_losers,
            "markers_cleared": self.markers_cleared,
            "index_files_pruned": self.index_files_pruned,
        }


def new_ids(s3: Any, settings: Settings, dts: list[str]) -> pa.Table:
    """(event_id, dt, received_at) of the ``events`` rows not yet compacted in ``dts``."""
    parts = []
    for dt in dts:
        for key in live_keys(s3, settings, EVENTS.name, dt):
            ids = read_table(s3, settings.data_bucket, key).select(_ID_COLUMNS)
            parts.append(_with_dt(ids, dt))
    return pa.concat_tables(parts) if parts else lake_state.ID_SCHEMA.empty_table()


def _with_dt(ids: pa.Table, dt: str) -> pa.Table:
    return pa.table(
        {
            "event_id": ids.column("event_id"),
            "dt": pa.array([dt] * ids.num_rows, pa.string()),
            "received_at": ids.column("received_at").cast(pa.timestamp("us")),
        },
        schema=lake_state.ID_SCHEMA,
    )


def first_received(copies: pa.Table) -> pa.Table:
    """Of (event_id, dt, received_at) copies, the winner of every id seen more than once."""
    if copies.num_rows == 0:
        return lake_state.ID_SCHEMA.empty_table()
    distinct = copies.group_by(["event_id", "dt", "received_at"]).aggregate([])
    ordered = distinct.sort_by(
        [("event_id", "ascending"), ("received_at", "ascending"), ("dt", "ascending")]
    )
    ids = ordered.column("event_id").to_numpy(zero_copy_only=False)
    starts = np.ones(len(ids), dtype=bool)
    starts[1:] = ids[1:] != ids[:-1]
    multi = np.zeros(len(ids), dtype=bool)
    multi[:-1] = starts[:-1] & ~starts[1:]  # a group's first row followed by a second copy
    return ordered.filter(pa.array(multi)).select(["event_id", "dt", "received_at"])


def compact_dirty(
    s3: Any,
    settings: Settings,
    *,
    only: set[tuple[str, str]] | None = None,
    now: datetime | None = None,
) -> CompactionRun:
    """Compact the partitions the dirty markers name (or ``only`` those), matching copies
    across partitions; clear the markers whose partitions were all compacted."""
    now = now or datetime.now(UTC)
    bucket = settings.data_bucket
    run = CompactionRun()
    markers = lake_state.read_markers(s3, bucket)
    targets = set(only) if only is not None else set(lake_state.dirty_partitions(markers))
    dts = sorted({dt for _, dt in targets})
    fresh = new_ids(s3, settings, dts)
    nearby = _nearby(s3, settings, fresh, now)
    winners = first_received(pa.concat_tables([fresh, nearby]))
    # partitions holding a losing copy that are not being compacted anyway: rewrite them too
    losers = _losers(winners, nearby)
    run.cross_partition_losers = len(losers)
    extra = {(t, dt) for dt in {d for d, _ in losers} for t in TABLES}
    for table, dt in sorted(targets | extra, key=lambda p: (p[1], p[0])):
        result, kept = compact_partition(s3, settings, table, dt, winners)
        run.results.append(result)
        if table == EVENTS.name and kept is not None:
            _reindex(s3, settings, dt, kept, now)
    done = targets | extra
    cleared = [m.key for m in markers if set(m.partitions) <= done]
    lake_state.delete_keys(s3, bucket, cleared)
    run.markers_cleared = len(cleared)
    keep_from = now.date() - timedelta(days=settings.id_index_days)
    run.index_files_pruned = lake_state.prune_index(s3, bucket, keep_from)
    return run


def _span(fresh: pa.Table, hours: int) -> tuple[date, date] | None:
    if fresh.num_rows == 0:
        return None
    low, high = pc.min_max(fresh.column("received_at")).values()
    horizon = timedelta(hours=hours)
    return (low.as_py() - horizon).date(), (high.as_py() + horizon).date()


def _nearby(s3: Any, settings: Settings, fresh: pa.Table, now: datetime) -> pa.Table:
    """Index rows received within the horizon of the new rows, for the new rows' ids."""
    span = _span(fresh, settings.dedupe_horizon_hours)
    if span is None:
        return lake_state.ID_SCHEMA.empty_table()
    oldest_kept = now.date() - timedelta(days=settings.id_index_days)
    index = lake_state.read_index(s3, settings.data_bucket, max(span[0], oldest_kept), span[1])
    if index.num_rows == 0:
        return index
    return index.filter(pc.is_in(index.column("event_id"), value_set=fresh.column("event_id")))


def _losers(winners: pa.Table, nearby: pa.Table) -> list[tuple[str, str]]:
    """(dt, event_id) of already-compacted copies that lose to a winner."""
    if winners.num_rows == 0 or nearby.num_rows == 0:
        return []
    out = []
    win = {
        e: (d, r)
        for e, d, r in zip(
            winners.column("event_id").to_pylist(),
            winners.column("dt").to_pylist(),
            winners.column("received_at").to_pylist(),
            strict=True,
        )
    }
    for e, d, r in zip(
        nearby.column("event_id").to_pylist(),
        nearby.column("dt").to_pylist(),
        nearby.column("received_at").to_pylist(),
        strict=True,
    ):
        if e in win and win[e] != (d, r):
            out.append((d, e))
    return out


def _reindex(s3: Any, settings: Settings, dt: str, kept: pa.Table, now: datetime) -> None:
    """Rewrite partition ``dt``'s event-id index from its compacted rows (recent ones)."""
    keep_from = datetime.combine(
        now.date() - timedelta(days=settings.id_index_days), datetime.min.time()
    )
    ids = kept.select(_ID_COLUMNS)
    recent = ids.filter(pc.greater_equal(ids.column("received_at"), pa.scalar(keep_from)))
    lake_state.write_index(s3, settings.data_bucket, dt, recent)


def handle_scheduled_compaction(
    event: dict[str, Any], settings: Settings, s3: Any
) -> dict[str, Any]:
    """Scheduled-event entry point: compact every dirty partition, today's included."""
    when = event.get("time")
    now = (
        datetime.fromisoformat(when.replace("Z", "+00:00"))
        if isinstance(when, str)
        else datetime.now(UTC)
    )
    return compact_dirty(s3, settings, now=now).summary()
