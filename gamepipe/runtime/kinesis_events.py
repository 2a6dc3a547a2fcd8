"""Lambda's Kinesis event: built from GetRecords records within the payload limit, and how
Lambda reads the reply."""

from __future__ import annotations

import base64
import time
from collections.abc import Iterable
from datetime import datetime
from typing import Any

MAX_PAYLOAD_BYTES = 6 * 1024 * 1024  # Lambda's synchronous invoke payload limit


def lambda_record(
    record: dict[str, Any], *, shard_id: str, stream_arn: str, region: str, role_arn: str
) -> dict[str, Any]:
    """One GetRecords record as the ``Records[]`` item of a Lambda Kinesis event."""
    arrival = record.get("ApproximateArrivalTimestamp")
    if isinstance(arrival, datetime):
        arrival_ts = arrival.timestamp()
    else:
        arrival_ts = float(arrival) if arrival is not None else time.time()
    seq = record["SequenceNumber"]
    return {
        "kinesis": {
            "kinesisSchemaVersion": "1.0",
            "partitionKey": record["PartitionKey"],
            "sequenceNumber": seq,
            "data": base64.b64encode(record["Data"]).decode("ascii"),
            "approximateArrivalTimestamp": arrival_ts,
        },
        "eventSource": "aws:kinesis",
        "eventVersion": "1.0",
        "eventID": f"{shard_id}:{seq}",
        "eventName": "aws:kinesis:record",
        "invokeIdentityArn": role_arn,
        "awsRegion": region,
        "eventSourceARN": stream_arn,
    }


def kinesis_event(
    records: Iterable[dict[str, Any]],
    *,
    shard_id: str,
    stream_arn: str,
    region: str,
    role_arn: str,
) -> dict[str, Any]:
    """The Lambda Kinesis event of one shard's batch of GetRecords records."""
    where = {"shard_id": shard_id, "stream_arn": stream_arn, "region": region}
    return {"Records": [lambda_record(r, **where, role_arn=role_arn) for r in records]}


def fitting(
    records: list[dict[str, Any]], max_payload_bytes: int = MAX_PAYLOAD_BYTES
) -> list[dict[str, Any]]:
    """The leading ``records`` whose event stays within the payload limit (at least one)."""
    batch: list[dict[str, Any]] = []
    size = 0
    for rec in records:
        # base64 grows data by 4/3; ~300 bytes of envelope per record
        rec_size = len(rec["Data"]) * 4 // 3 + 300
        if batch and size + rec_size > max_payload_bytes:
            break
        batch.append(rec)
        size += rec_size
    return batch


def first_failure(response: Any, sequence_numbers: list[str]) -> int | None:
    """Index of the first record to redeliver, or None if the whole batch succeeded.

    Lambda's rules: no/empty ``batchItemFailures`` = success; an identifier that is empty
    or not in the batch fails the whole batch; else redeliver from the lowest one.
    """
    failures = response.get("batchItemFailures") if isinstance(response, dict) else None
    if not failures:
        return None
    index = {seq: i for i, seq in enumerate(sequence_numbers)}
    positions = []
    for item in failures:
        ident = item.get("itemIdentifier") if isinstance(item, dict) else None
        if not ident or ident not in index:
            return 0
        positions.append(index[ident])
    return min(positions)
