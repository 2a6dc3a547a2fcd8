"""Kinesis batch -> typed contract events (one msgspec call per chunk) or dead-letter items."""

from __future__ import annotations

import base64
import binascii
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import msgspec

from chalicelib.contract import (
    DEFAULT_LIMITS,
    Event,
    EventBase,
    Limits,
    ValidationFailure,
    Window,
    check_line,
    raw_problem,
    utf8_problem,
)

# Namespace of the ids given to stream events that arrived without an event_id.
EVENT_ID_NAMESPACE = uuid.UUID("6f1d7c52-2a43-4a8e-9d0e-7c1f3b0e5a11")
# The contract's own models, patterns included; decode_lines reads NDJSON as it is.
_LINES_DECODER = msgspec.json.Decoder(Event)


@dataclass(frozen=True, slots=True)
class KinesisRecord:
    """One Kinesis record of a Lambda batch, its data already base64-decoded."""

    shard_id: str
    sequence_number: str
    data: bytes
    arrival: float  # approximateArrivalTimestamp, epoch seconds
    bad_base64: bool = False


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """A line (or whole record) that could not become an event, and why."""

    reason: str
    data: bytes
    record: int  # index of the record in the batch
    line: int | None  # line index inside the record; None = the whole record


@dataclass(slots=True)
class DecodedBatch:
    """Valid events in batch order, each with its raw line (the payload), record and line."""

    records: list[KinesisRecord]
    events: list[EventBase] = field(default_factory=list)
    payloads: list[bytes] = field(default_factory=list)
    record_index: list[int] = field(default_factory=list)
    line_index: list[int] = field(default_factory=list)
    dead_letters: list[DeadLetter] = field(default_factory=list)
    duplicates: int = 0

    @property
    def count(self) -> int:
        """Valid events kept (after dedupe)."""
        return len(self.events)


def parse_records(event: dict[str, Any]) -> list[KinesisRecord]:
    """Extract the records of a Lambda Kinesis event (``{"Records": [...]}``)."""
    out: list[KinesisRecord] = []
    for rec in event.get("Records") or []:
        kin = rec.get("kinesis") or {}
        # eventID is "shardId-000000000006:<sequence number>".
        shard_id = str(rec.get("eventID", "")).split(":", 1)[0] or "shard-unknown"
        raw = kin.get("data", "")
        try:
            data, bad = base64.b64decode(raw, validate=True), False
        except (binascii.Error, ValueError, TypeError):
            data, bad = str(raw).encode("utf-8", "replace"), True
        out.append(
            KinesisRecord(
                shard_id=shard_id,
                sequence_number=str(kin.get("sequenceNumber", "")),
                data=data,
                arrival=float(kin.get("approximateArrivalTimestamp") or 0.0),
                bad_base64=bad,
            )
        )
    return out


def decode_batch(
    records: list[KinesisRecord],
    start: int = 0,
    stop: int | None = None,
    limits: Limits = DEFAULT_LIMITS,
) -> DecodedBatch:
    """Split ``records[start:stop]`` into NDJSON lines and validate them against the contract.

    All the lines are decoded in one msgspec ``decode_lines`` call; if anything is bad,
    the chunk is decoded again line by line, so each bad line gets its own dead-letter
    reason and the good ones still land. Either way each event then passes the contract's
    byte and time rules (the API's own: ``chalicelib.contract.rules``). Record indexes
    refer to the whole ``records``.
    """
    out = DecodedBatch(records=records)
    datas: list[bytes] = []
    owners: list[int] = []
    for r in range(start, len(records) if stop is None else min(stop, len(records))):
        rec = records[r]
        data = rec.data.strip()
        if rec.bad_base64:
            reason = "record data is not valid base64"
            out.dead_letters.append(DeadLetter(reason, rec.data, r, None))
        elif not data:
            out.dead_letters.append(DeadLetter("empty record", rec.data, r, None))
        else:
            datas.append(data)
            owners.append(r)
    if not datas:
        return out
    joined = b"\n".join(datas)
    per_record = [data.split(b"\n") for data in datas]
    lines = [line for split in per_record for line in split]
    rec_idx = [r for r, split in zip(owners, per_record, strict=True) for _ in split]
    line_idx = [n for split in per_record for n in range(len(split))]
    events = _decode_all(joined, lines)
    if events is not None and _all_keep_the_rules(joined, lines, events, rec_idx, records, limits):
        out.events, out.payloads = events, lines
        out.record_index, out.line_index = rec_idx, line_idx
        return out
    for line, r, n in zip(lines, rec_idx, line_idx, strict=True):
        if not line.strip():
            continue  # a blank line between events is not an event
        reason, event = _decode_one(line, records[r], limits)
        if event is None:
            out.dead_letters.append(DeadLetter(reason, line, r, n))
        else:
            out.events.append(event)
            out.payloads.append(line)
            out.record_index.append(r)
            out.line_index.append(n)
    # Dead letters in batch order (record, line): whole-record ones came first above.
    out.dead_letters.sort(key=lambda d: (d.record, -1 if d.line is None else d.line))
    return out


def _decode_all(joined: bytes, lines: list[bytes]) -> list[EventBase] | None:
    """Every line's event in one call, or None when any line needs the per-line path."""
    # Each line must give exactly one event: a blank line gives none and `{..} {..}` two,
    # so every line must start with `{` and there must be as many events as lines.
    if not all([line[:1] == b"{" for line in lines]):
        return None
    # msgspec skips unknown fields without checking their UTF-8, and the raw line is
    # stored as the payload string: the whole chunk must be UTF-8 (isascii is one scan).
    if utf8_problem(joined) is not None:
        return None
    try:
        events: list[EventBase] = _LINES_DECODER.decode_lines(joined)
    except (msgspec.DecodeError, msgspec.ValidationError, ValueError):
        return None
    return events if len(events) == len(lines) else None


def _all_keep_the_rules(
    joined: bytes,
    lines: list[bytes],
    events: list[EventBase],
    rec_idx: list[int],
    records: list[KinesisRecord],
    limits: Limits,
) -> bool:
    """Whether every decoded line keeps the contract's byte and time rules (as ``check_line``
    applies them); False sends the chunk down the per-line path, which names each reason.

    Cheap on the common chunk: one scan says no line can break a byte rule (ASCII, no
    escape, every line within the unknown-field cap), and the lines of one API request
    share their receive time, so each window is built once per run of equal times.
    """
    plain = (
        joined.isascii()
        and b"\\" not in joined
        and max(map(len, lines)) <= limits.max_unknown_bytes
    )
    last: tuple[datetime | None, bool] | None = None
    window: Window | None = None
    for line, event, r in zip(lines, events, rec_idx, strict=True):
        if not plain and raw_problem(line, event, limits) is not None:
            return False
        key = (event.received_at or _arrival(records[r]), bool(event.backfill))
        if key != last:
            last = key
            window = None if key[0] is None else Window.around(key[0], limits, backfill=key[1])
        if window is not None:
            ts = event.event_ts
            if ts > window.latest or (window.earliest is not None and ts < window.earliest):
                return False
    return True


def _arrival(record: KinesisRecord) -> datetime | None:
    """When the record reached the stream (None when Lambda did not say)."""
    return datetime.fromtimestamp(record.arrival, UTC) if record.arrival > 0 else None


def _decode_one(line: bytes, record: KinesisRecord, limits: Limits) -> tuple[str, EventBase | None]:
    try:
        return "", check_line(line, _arrival(record), limits)
    except ValidationFailure as exc:
        return str(exc), None
    except ValueError as exc:  # defensive: any other decoding error is bad data too
        return f"invalid event: {exc}", None


def assign_ids_and_dedupe(batch: DecodedBatch, seen: set[str] | None = None) -> DecodedBatch:
    """Fill missing event_ids deterministically and drop repeated ids (first one kept).

    A missing id becomes a UUIDv5 of (shard, sequence number, line index), so a
    redelivered batch gives its events the same ids. ``seen`` holds the ids of earlier
    chunks of the same batch (this chunk's are added).
    """
    seen = set() if seen is None else seen
    keep: list[int] = []
    for n, event in enumerate(batch.events):
        if event.event_id is None:
            rec = batch.records[batch.record_index[n]]
            name = f"{rec.shard_id}:{rec.sequence_number}:{batch.line_index[n]}"
            event.event_id = str(uuid.uuid5(EVENT_ID_NAMESPACE, name))
        if event.event_id not in seen:
            seen.add(event.event_id)
            keep.append(n)
    if len(keep) < len(batch.events):
        batch.duplicates += len(batch.events) - len(keep)
        batch.events = [batch.events[n] for n in keep]
        batch.payloads = [batch.payloads[n] for n in keep]
        batch.record_index = [batch.record_index[n] for n in keep]
        batch.line_index = [batch.line_index[n] for n in keep]
    return batch
