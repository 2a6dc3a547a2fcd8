"""The batch loop: decode, route, write Parquet and dead letters, register partitions.

Partial failure (see docs/design-consumer.md): when an object or a partition cannot be
written, the first record contributing to it is k; every object already written is cut
back to records < k under the same key, and Lambda is told to redeliver from k.

After its objects, a batch writes a dirty marker (chalicelib/lake_state.py) naming the
partitions it committed rows to, so compaction knows what to merge; and it prints its
figures as a summary line and as CloudWatch metrics (chalicelib/metrics.py).
"""

from __future__ import annotations

import json
import sys
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from botocore.exceptions import BotoCoreError, ClientError

from chalicelib import lake_state, metrics
from chalicelib.consumer import deadletter, writer
from chalicelib.consumer.columns import TableRows, build_tables, concat_rows, split_by_dt
from chalicelib.consumer.decode import (
    DeadLetter,
    KinesisRecord,
    assign_ids_and_dedupe,
    decode_batch,
    parse_records,
)
from chalicelib.glue_catalog import Catalog
from chalicelib.settings import Settings

# Errors of AWS calls worth a redelivery; anything else is a bug and raises.
TRANSIENT_ERRORS = (ClientError, BotoCoreError)
_PARQUET = "application/vnd.apache.parquet"
_NDJSON = "application/x-ndjson"
# Records decoded at a time; ~5k events' Python objects alive at once (see plan_batch).
CHUNK_RECORDS = 1000
EVENTS_TABLE = "events"  # every valid event: its received_at span is the batch's


@dataclass
class PlannedObject:
    """One object a batch writes: Parquet rows of a partition, or dead-letter lines."""

    key: str
    record: np.ndarray  # source record index of each row/line
    table: pa.Table | None = None
    lines: list[bytes] | None = None
    partition: tuple[str, str] | None = None  # (table, dt) for Parquet objects

    @property
    def first_record(self) -> int:
        """Index of the first record contributing to this object."""
        return int(self.record.min())

    def rows(self, below: int | None = None) -> int:
        """Rows (or lines) from records before ``below`` (all when None)."""
        return len(self.record) if below is None else int((self.record < below).sum())

    def body(self, below: int | None = None) -> bytes | None:
        """The object's bytes, keeping only rows from records < ``below``; None if empty."""
        keep = None if below is None else self.record < below
        if keep is not None and not keep.any():
            return None
        if self.table is not None:
            table = self.table if keep is None else self.table.filter(pa.array(keep))
            return writer.parquet_bytes(table)
        assert self.lines is not None
        lines = self.lines
        if keep is not None:
            lines = [ln for ln, k in zip(lines, keep, strict=True) if k]
        return b"\n".join(lines) + b"\n"

    @property
    def content_type(self) -> str:
        """MIME type of the object."""
        return _PARQUET if self.table is not None else _NDJSON


@dataclass
class BatchPlan:
    """Everything a batch will write, computed without I/O."""

    events: int = 0  # valid events kept (after dedupe)
    duplicates: int = 0
    dead_letters: list[DeadLetter] = field(default_factory=list)
    objects: list[PlannedObject] = field(default_factory=list)
    received: tuple[float, float] | None = None  # oldest, newest received_at (epoch s)

    @property
    def partitions(self) -> list[tuple[str, str]]:
        """(table, dt) partitions the batch writes to."""
        return [o.partition for o in self.objects if o.partition is not None]


@dataclass
class BatchResult:
    """Outcome of one batch, and the figures of its summary log line."""

    shard_id: str
    first_sequence: str
    records_in: int
    events_in: int
    rows: dict[str, int]
    dead_lettered: int
    duplicates_dropped: int
    objects_written: int
    failed_from: str | None = None
    ms: float = 0.0
    dead_letter_reasons: dict[str, int] = field(default_factory=dict)
    oldest_received_at: str | None = None
    newest_received_at: str | None = None
    freshness_lag_s: float | None = None  # now - oldest received_at in the batch

    def response(self) -> dict[str, Any]:
        """Lambda partial batch response (ReportBatchItemFailures)."""
        failures = [] if self.failed_from is None else [{"itemIdentifier": self.failed_from}]
        return {"batchItemFailures": failures}

    def summary(self) -> dict[str, Any]:
        """The JSON summary logged once per batch."""
        return {"message": "consumer batch", **self.__dict__}

    def emit_metrics(self, stage: str) -> None:
        """The batch's CloudWatch metrics (EMF lines on stdout)."""
        values = {
            metrics.EVENTS_IN: self.events_in,
            metrics.ROWS: sum(self.rows.values()),
            metrics.DEAD_LETTERS: self.dead_lettered,
            metrics.DUPLICATES: self.duplicates_dropped,
            metrics.BATCH_MS: self.ms,
            metrics.FAILED_RECORDS: 0 if self.failed_from is None else 1,
        }
        if self.freshness_lag_s is not None:
            values[metrics.FRESHNESS] = self.freshness_lag_s
        metrics.emit(
            "consumer",
            stage,
            values,
            {
                metrics.ROWS_BY_TABLE: ("table", self.rows),
                metrics.DEAD_LETTERS_BY_REASON: ("reason", self.dead_letter_reasons),
            },
        )


def plan_batch(
    records: list[KinesisRecord], settings: Settings, chunk_records: int = CHUNK_RECORDS
) -> BatchPlan:
    """Decode, validate, dedupe and route a batch into the objects it writes (pure).

    Records are decoded in chunks so only one chunk's Python objects are alive at a
    time (a 10,000-record batch would otherwise hold ~1 KB of objects per event); the
    Arrow rows of the chunks are concatenated into one object per table partition.
    ``seen`` carries the event ids of earlier chunks, so dedupe spans the whole batch.
    """
    plan = BatchPlan()
    if not records:
        return plan
    seen: set[str] = set()
    parts: dict[str, list[TableRows]] = {}
    for start in range(0, len(records), chunk_records):
        decoded = decode_batch(records, start, start + chunk_records, settings.limits)
        assign_ids_and_dedupe(decoded, seen)
        plan.events += decoded.count
        plan.duplicates += decoded.duplicates
        plan.dead_letters.extend(decoded.dead_letters)
        for table, rows in build_tables(decoded).items():
            parts.setdefault(table, []).append(rows)
            if table == EVENTS_TABLE:
                plan.received = _widen(plan.received, rows.table.column("received_at"))
        del decoded
    shard, first = records[0].shard_id, records[0].sequence_number
    for table, chunks in parts.items():
        for dt, part, rec in split_by_dt(concat_rows(chunks)):
            key = writer.batch_key(settings, table, dt, shard, first)
            plan.objects.append(PlannedObject(key, rec, table=part, partition=(table, dt)))
    for dt, items in deadletter.group_by_day(plan.dead_letters, records).items():
        plan.objects.append(
            PlannedObject(
                deadletter.deadletter_key(settings, dt, shard, first),
                np.array([r for r, _ in items], dtype=np.int64),
                lines=[line for _, line in items],
            )
        )
    return plan


def _widen(span: tuple[float, float] | None, received: pa.ChunkedArray) -> tuple[float, float]:
    """The (oldest, newest) received_at so far, widened by a chunk's values (epoch s)."""
    low, high = pc.min_max(received).values()
    lo, hi = low.value / 1e6, high.value / 1e6  # timestamp[us]
    return (lo, hi) if span is None else (min(span[0], lo), max(span[1], hi))


def _run_all(tasks: list[Callable[[], None]]) -> list[BaseException | None]:
    """Run I/O tasks on a few threads; the error (or None) of each, in order."""

    def guard(task: Callable[[], None]) -> BaseException | None:
        try:
            task()
        except TRANSIENT_ERRORS as exc:
            return exc
        return None

    if len(tasks) <= 1:
        return [guard(t) for t in tasks]
    with ThreadPoolExecutor(max_workers=min(8, len(tasks))) as pool:
        return list(pool.map(guard, tasks))


def _put(s3: Any, bucket: str, obj: PlannedObject, below: int | None) -> Callable[[], None]:
    def task() -> None:
        body = obj.body(below)
        if body is None:
            writer.delete_object(s3, bucket, obj.key)
        else:
            writer.put_object(s3, bucket, obj.key, body, obj.content_type)

    return task


def write_plan(
    plan: BatchPlan,
    settings: Settings,
    s3: Any,
    catalog: Catalog,
    marker: dict[str, Any] | None = None,
) -> int | None:
    """Register partitions, write the objects, then the dirty marker (with ``marker``'s
    figures) for the partitions that got rows; the first record to redeliver, or None."""
    marker = marker or {}
    try:
        failed_parts = set(catalog.register(plan.partitions))
    except TRANSIENT_ERRORS as exc:
        _log_error("glue catalog", exc)
        return 0
    failures = [o.first_record for o in plan.objects if o.partition in failed_parts]
    errors = _run_all([_put(s3, settings.data_bucket, o, None) for o in plan.objects])
    written = []
    for obj, err in zip(plan.objects, errors, strict=True):
        if err is None:
            written.append(obj)
        else:
            _log_error(f"put {obj.key}", err)
            failures.append(obj.first_record)
    k = min(failures) if failures else None
    if k is not None:
        # Cut every object back to the committed prefix (records < k), same keys: the
        # failed ones too, since a put that raised may have stored its object all the same
        # (an ambiguous write); an object with nothing before k is deleted.
        cut = [o for o in plan.objects if int(o.record.max()) >= k]
        tasks = [_put(s3, settings.data_bucket, o, k) for o in cut]
        if any(e is not None for e in _run_all(tasks)):
            return 0  # could not even cut back: redeliver the whole batch (same keys)
    committed = [o for o in written if o.partition is not None and o.rows(k)]
    if committed:
        rows: Counter[str] = Counter()
        for obj in committed:
            rows[obj.partition[0]] += obj.rows(k)  # type: ignore[index]
        parts = [o.partition for o in committed if o.partition is not None]
        try:
            lake_state.write_marker(s3, settings.data_bucket, parts, {**marker, "rows": dict(rows)})
        except TRANSIENT_ERRORS as exc:
            _log_error("dirty marker", exc)
            return 0  # rows without a marker would never be compacted: redeliver all
    return k


def process_records(
    records: list[KinesisRecord], settings: Settings, s3: Any, catalog: Catalog
) -> BatchResult:
    """Write one batch to the lake and say where redelivery must start (if anywhere)."""
    start = time.perf_counter()
    plan = plan_batch(records, settings)
    result = BatchResult(
        shard_id=records[0].shard_id if records else "",
        first_sequence=records[0].sequence_number if records else "",
        records_in=len(records),
        events_in=plan.events + len(plan.dead_letters) + plan.duplicates,
        rows={},
        dead_lettered=len(plan.dead_letters),
        duplicates_dropped=plan.duplicates,
        objects_written=len(plan.objects),
        dead_letter_reasons=metrics.count_reasons(d.reason for d in plan.dead_letters),
    )
    if plan.received is not None:
        oldest, newest = plan.received
        result.oldest_received_at = _iso(oldest)
        result.newest_received_at = _iso(newest)
        result.freshness_lag_s = round(time.time() - oldest, 3)
    figures = {k: v for k, v in result.__dict__.items() if k not in ("rows", "failed_from")}
    k = write_plan(plan, settings, s3, catalog, figures) if plan.objects else None
    rows: Counter[str] = Counter()
    for obj in plan.objects:
        if obj.partition is not None:
            rows[obj.partition[0]] += obj.rows(k)
    result.rows = dict(rows)
    result.failed_from = None if k is None else records[k].sequence_number
    result.ms = round((time.perf_counter() - start) * 1000, 1)
    return result


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="milliseconds")


_default_catalogs: dict[Settings, Catalog] = {}


def default_catalog(settings: Settings) -> Catalog:
    """The process-wide catalog (cache of known partitions) for the shared Glue client."""
    from chalicelib import aws

    if settings not in _default_catalogs:
        _default_catalogs[settings] = Catalog(aws.client("glue"), settings)
    return _default_catalogs[settings]


def reset() -> None:
    """Forget the process-wide catalog cache (tests switching mocks call this)."""
    _default_catalogs.clear()


def handle_kinesis_event(
    event: dict[str, Any],
    settings: Settings,
    *,
    s3: Any = None,
    catalog: Catalog | None = None,
) -> dict[str, Any]:
    """Lambda entry: a Kinesis event in, ``{"batchItemFailures": [...]}`` out."""
    if s3 is None:
        from chalicelib import aws

        s3 = aws.client("s3")
    records = parse_records(event)
    result = process_records(records, settings, s3, catalog or default_catalog(settings))
    print(json.dumps(result.summary()), flush=True)
    result.emit_metrics(settings.stage)
    return result.response()


def _log_error(what: str, exc: BaseException) -> None:
    print(json.dumps({"message": "consumer write failed", "what": what, "error": str(exc)}),
          file=sys.stderr, flush=True)  # fmt: skip
