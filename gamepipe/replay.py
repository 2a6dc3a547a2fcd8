"""Replay what the pipeline set aside: failed batches and dead letters, through the consumer.

*Failed batches* are the invocation records Lambda's S3 on-failure destination stored
(``aws/lambda/<ESM-UUID>/<shard>/YYYY/MM/DD/...``; the local trigger writes the same). Each
is fed to the consumer's own ``process_records`` with its original shard and sequence
numbers, so its objects get the keys the failed invocation would have written (a redelivery
overwrites, never duplicates) and events without an id get the same UUIDv5. A replayed
batch gets a receipt (``maintenance/replayed/<its key>.json``, the consumer's figures):
that is how a second replay knows to skip it. Even a forced second run changes no data —
the same keys receive the same rows — and compaction drops any copy of a row already
compacted (same event_id, same received_at).

*Dead letters* (``deadletter/dt=<received date>/...ndjson``) are re-validated with
today's contract; the lines that now pass go through ``process_records`` as one batch per
dead-letter object (a shard id ``deadletter-replay`` and sequence numbers derived from the
object and the lines, so a re-run writes the same keys), and the object is rewritten with
the lines that still fail (deleted when none is left). A line is either in the lake or
still in the dead letters, never both for long, never neither.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from chalicelib import lake_state
from chalicelib.consumer import process_records
from chalicelib.consumer.decode import KinesisRecord, parse_records
from chalicelib.contract import ValidationFailure, decode_event
from chalicelib.glue_catalog import Catalog
from chalicelib.metrics import reason_category
from chalicelib.settings import Settings

REPLAY_SHARD = "deadletter-replay"
Progress = Callable[[Iterable[Any]], Iterable[Any]]


def _plain(items: Iterable[Any]) -> Iterable[Any]:
    return items


@dataclass
class ReplaySummary:
    """What a replay did, in counts."""

    found: int = 0  # failed batches or dead-letter objects looked at
    skipped: int = 0  # already replayed (receipts) or filtered out
    replayed: int = 0
    failed: int = 0  # could not be written this time (run again)
    records: int = 0
    lines_valid_now: int = 0
    lines_still_invalid: int = 0
    events_in: int = 0
    rows: Counter[str] = field(default_factory=Counter)
    dead_lettered: int = 0
    duplicates_dropped: int = 0
    still_invalid: Counter[str] = field(default_factory=Counter)

    def as_dict(self) -> dict[str, Any]:
        """JSON-able figures."""
        out = dict(self.__dict__)
        out["rows"] = dict(self.rows)
        out["still_invalid"] = dict(self.still_invalid)
        return out


def receipt_key(failed_key: str) -> str:
    """Where the receipt of a replayed failed batch lives."""
    return f"{lake_state.REPLAYED_PREFIX}{failed_key}.json"


def failed_batches(s3: Any, bucket: str, since: date | None = None) -> list[str]:
    """Keys of stored failed batches (optionally stored on or after ``since``), oldest first."""
    keys = []
    for obj in lake_state.list_keys(s3, bucket, lake_state.FAILED_PREFIX):
        when = obj["LastModified"].date() if isinstance(obj["LastModified"], datetime) else None
        if since is None or when is None or when >= since:
            keys.append(obj["Key"])
    return keys


def not_replayed(s3: Any, bucket: str, keys: list[str]) -> list[str]:
    """The failed batches among ``keys`` that have no receipt yet (waiting for replay)."""
    receipts = {o["Key"] for o in lake_state.list_keys(s3, bucket, lake_state.REPLAYED_PREFIX)}
    return [k for k in keys if receipt_key(k) not in receipts]


def batch_records(record: dict[str, Any]) -> list[KinesisRecord]:
    """The Kinesis records of a stored invocation record (payload as text or as JSON)."""
    payload = record.get("payload")
    event = json.loads(payload) if isinstance(payload, str) else payload or {}
    return parse_records(event)


def replay_failed(
    s3: Any,
    settings: Settings,
    catalog: Catalog,
    *,
    since: date | None = None,
    force: bool = False,
    progress: Progress = _plain,
) -> ReplaySummary:
    """Run every stored failed batch not yet replayed through the consumer."""
    bucket = settings.data_bucket
    keys = failed_batches(s3, bucket, since)
    todo = keys if force else not_replayed(s3, bucket, keys)
    summary = ReplaySummary(found=len(keys), skipped=len(keys) - len(todo))
    for key in progress(todo):
        record = json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
        records = batch_records(record)
        result = process_records(records, settings, s3, catalog)
        summary.records += len(records)
        if result.failed_from is not None:
            summary.failed += 1  # no receipt: the next run tries it again (same keys)
            continue
        s3.put_object(
            Bucket=bucket,
            Key=receipt_key(key),
            Body=json.dumps({"failed_batch": key, **result.summary()}).encode(),
            ContentType="application/json",
        )
        summary.replayed += 1
        _add(summary, result)
    return summary


def _add(summary: ReplaySummary, result: Any) -> None:
    summary.events_in += result.events_in
    summary.rows.update(result.rows)
    summary.dead_lettered += result.dead_lettered
    summary.duplicates_dropped += result.duplicates_dropped


def deadletter_objects(s3: Any, settings: Settings, since: date | None = None) -> list[str]:
    """Dead-letter object keys (optionally received on or after ``since``)."""
    prefix = f"{settings.deadletter_prefix}/dt="
    keys = []
    for obj in lake_state.list_keys(s3, settings.data_bucket, prefix):
        day = obj["Key"][len(prefix) :].split("/", 1)[0]
        if since is None or day >= since.isoformat():
            keys.append(obj["Key"])
    return keys


def _line_bytes(item: dict[str, Any]) -> bytes:
    data = str(item.get("data", ""))
    if item.get("data_encoding") == "base64":
        return base64.b64decode(data)
    return data.encode("utf-8")


def _arrival(item: dict[str, Any]) -> float:
    text = item.get("approximate_arrival")
    return datetime.fromisoformat(text).timestamp() if isinstance(text, str) else 0.0


def _valid_now(data: bytes) -> str | None:
    """None if the line passes today's contract, else the reason it still fails."""
    try:
        decode_event(data.strip())
    except ValidationFailure as exc:
        return str(exc)
    return None


def replay_deadletters(
    s3: Any,
    settings: Settings,
    catalog: Catalog,
    *,
    since: date | None = None,
    reason: str | None = None,
    progress: Progress = _plain,
) -> ReplaySummary:
    """Re-ingest the dead letters today's contract accepts; keep the others where they are."""
    bucket = settings.data_bucket
    keys = deadletter_objects(s3, settings, since)
    summary = ReplaySummary(found=len(keys))
    for key in progress(keys):
        lines = s3.get_object(Bucket=bucket, Key=key)["Body"].read().splitlines()
        keep: list[bytes] = []
        passing: list[dict[str, Any]] = []
        for raw in lines:
            if not raw.strip():
                continue
            item = json.loads(raw)
            if reason and reason.lower() not in str(item.get("reason", "")).lower():
                keep.append(raw)
                continue
            still = _valid_now(_line_bytes(item))
            if still is None:
                passing.append(item)
            else:
                keep.append(raw)
                summary.still_invalid[reason_category(still)] += 1
                summary.lines_still_invalid += 1
        if not passing:
            summary.skipped += 1
            continue
        records = _records(key, passing)
        result = process_records(records, settings, s3, catalog)
        if result.failed_from is not None:
            summary.failed += 1  # the object is untouched: the next run writes the same keys
            continue
        if keep:
            s3.put_object(Bucket=bucket, Key=key, Body=b"\n".join(keep) + b"\n")
        else:
            s3.delete_object(Bucket=bucket, Key=key)
        summary.replayed += 1
        summary.records += len(records)
        summary.lines_valid_now += len(passing)
        _add(summary, result)
    return summary


def _records(key: str, items: list[dict[str, Any]]) -> list[KinesisRecord]:
    """The passing lines as one batch whose keys depend only on the object and the lines."""
    datas = [_line_bytes(i) for i in items]
    digest = hashlib.sha256(key.encode() + b"\0" + b"\n".join(datas)).hexdigest()[:24]
    return [
        KinesisRecord(
            shard_id=REPLAY_SHARD,
            sequence_number=f"{digest}-{n:06d}",
            data=data,
            arrival=_arrival(item),
        )
        for n, (data, item) in enumerate(zip(datas, items, strict=True))
    ]
