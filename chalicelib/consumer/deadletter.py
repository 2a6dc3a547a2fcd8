"""Dead-letter lines: invalid input kept as NDJSON with its reason and origin."""

from __future__ import annotations

import base64
from collections import defaultdict
from datetime import UTC, datetime

import msgspec

from chalicelib.consumer.decode import DeadLetter, KinesisRecord
from chalicelib.settings import Settings

_encoder = msgspec.json.Encoder()


def deadletter_key(settings: Settings, dt: str, shard_id: str, first_sequence: str) -> str:
    """Key of a batch's dead letters for one received date (UTC)."""
    return f"{settings.deadletter_prefix}/dt={dt}/{shard_id}-{first_sequence}.ndjson"


def received_date(record: KinesisRecord) -> str:
    """UTC date the record reached Kinesis, ``YYYY-MM-DD``."""
    return datetime.fromtimestamp(record.arrival, UTC).date().isoformat()


def encode_item(item: DeadLetter, record: KinesisRecord) -> bytes:
    """One NDJSON line: reason, original bytes (text if UTF-8, else base64), origin."""
    try:
        data, encoding = item.data.decode("utf-8"), "text"
    except UnicodeDecodeError:
        data, encoding = base64.b64encode(item.data).decode("ascii"), "base64"
    return _encoder.encode(
        {
            "reason": item.reason,
            "data": data,
            "data_encoding": encoding,
            "shard_id": record.shard_id,
            "sequence_number": record.sequence_number,
            "line": item.line,
            "approximate_arrival": datetime.fromtimestamp(record.arrival, UTC).isoformat(),
        }
    )


def group_by_day(
    items: list[DeadLetter], records: list[KinesisRecord]
) -> dict[str, list[tuple[int, bytes]]]:
    """Dead letters per received date: (record index, encoded line) in batch order."""
    out: dict[str, list[tuple[int, bytes]]] = defaultdict(list)
    for item in items:
        rec = records[item.record]
        out[received_date(rec)].append((item.record, encode_item(item, rec)))
    return dict(out)
