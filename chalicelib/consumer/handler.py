"""The batch loop: decode, route, write Parquet and dead letters, register partitions.

Partial failure (see docs/design-consumer.md): when an object or a partition cannot be
written, the first record contributing to it is k; every object already written is cut
back to records < k under the same key, and Lambda is told to redeliver from k.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
from botocore.exceptions import BotoCoreError, ClientError

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

    def response(self) -> dict[str, Any]:
        """Lambda partial batch response (ReportBatchItemFailures)."""
        failures = [] if self.failed_from is None else [{"itemIdentifier": self.failed_from}]
        return {"batchItemFailures": failures}

    def summary(self) -> dict[str, Any]:
        """The JSON summary logged once per batch."""
        return {"message": "consumer batch", **self.__dict__}


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


def write_plan(plan: BatchPlan, settings: Settings, s3: Any, catalog: Catalog) -> int | None:
    """Register partitions and write the objects; the first record to redeliver, or None."""
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
    if not failures:
        return None
    k = min(failures)
    # Cut what was written back to the committed prefix (records < k), same keys.
    cut = [o for o in written if int(o.record.max()) >= k]
    if any(e is not None for e in _run_all([_put(s3, settings.data_bucket, o, k) for o in cut])):
        return 0  # could not even cut back: redeliver the whole batch (same keys)
    return k


def process_records(
    records: list[KinesisRecord], settings: Settings, s3: Any, catalog: Catalog
) -> BatchResult:
    """Write one batch to the lake and say where redelivery must start (if anywhere)."""
    start = time.perf_counter()
    plan = plan_batch(records, settings)
    k = write_plan(plan, settings, s3, catalog) if plan.objects else None
    rows: dict[str, int] = {}
    for obj in plan.objects:
        if obj.partition is not None:
            rows[obj.partition[0]] = rows.get(obj.partition[0], 0) + obj.rows(k)
    return BatchResult(
        shard_id=records[0].shard_id if records else "",
        first_sequence=records[0].sequence_number if records else "",
        records_in=len(records),
        events_in=plan.events + len(plan.dead_letters) + plan.duplicates,
        rows=rows,
        dead_lettered=len(plan.dead_letters),
        duplicates_dropped=plan.duplicates,
        objects_written=len(plan.objects),
        failed_from=None if k is None else records[k].sequence_number,
        ms=round((time.perf_counter() - start) * 1000, 1),
    )


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
    return result.response()


def _log_error(what: str, exc: BaseException) -> None:
    print(json.dumps({"message": "consumer write failed", "what": what, "error": str(exc)}),
          file=sys.stderr, flush=True)  # fmt: skip
