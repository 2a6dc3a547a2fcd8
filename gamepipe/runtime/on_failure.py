"""The on-failure destination of a Kinesis mapping: what Lambda stores for a discarded batch.

After the retry cap, Lambda's S3 destination stores the invocation record (the whole event
as ``payload``, unlike SQS/SNS destinations) under
``aws/lambda/<ESM-UUID>/<shardID>/YYYY/MM/DD/YYYY-MM-DDTHH.MM.SS-<uuid>``.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

# (shard id, invocation record) -> stores it, or raises (then the shard waits and retries)
OnFailure = Callable[[str, dict[str, Any]], None]


def invocation_record(
    failed: list[dict[str, Any]],
    event: dict[str, Any],
    attempts: int,
    shard_id: str,
    stream_arn: str,
    function_arn: str,
) -> dict[str, Any]:
    """What Lambda's S3 on-failure destination stores for a discarded Kinesis batch:
    ``failed``, the records of ``event`` that were given up after ``attempts``."""
    return {
        "requestContext": {
            "requestId": str(uuid.uuid4()),
            "functionArn": function_arn,
            "condition": "RetryAttemptsExhausted",
            "approximateInvokeCount": attempts,
        },
        "responseContext": {
            "statusCode": 200,
            "executedVersion": "$LATEST",
            "functionError": "Unhandled",
        },
        "version": "1.0",
        "timestamp": _iso_ms(datetime.now(UTC)),
        "KinesisBatchInfo": {
            "shardId": shard_id,
            "startSequenceNumber": failed[0]["SequenceNumber"],
            "endSequenceNumber": failed[-1]["SequenceNumber"],
            "approximateArrivalOfFirstRecord": _iso_ms(_arrival(failed[0])),
            "approximateArrivalOfLastRecord": _iso_ms(_arrival(failed[-1])),
            "batchSize": len(failed),
            "streamArn": stream_arn,
        },
        # the S3 destination (unlike SQS/SNS) keeps the whole invocation event
        "payload": json.dumps(event),
    }


def failed_batch_key(esm_uuid: str, shard_id: str, when: datetime) -> str:
    """Lambda's key for a failed batch at an S3 destination (a new UUID per batch)."""
    when = when.astimezone(UTC)
    return (
        f"aws/lambda/{esm_uuid}/{shard_id}/{when:%Y/%m/%d}/{when:%Y-%m-%dT%H.%M.%S}-{uuid.uuid4()}"
    )


def s3_on_failure(s3: Any, bucket: str, esm_uuid: str) -> OnFailure:
    """An on-failure destination storing invocation records in ``bucket`` as Lambda does."""

    def store(shard_id: str, record: dict[str, Any]) -> None:
        key = failed_batch_key(esm_uuid, shard_id, datetime.now(UTC))
        s3.put_object(Bucket=bucket, Key=key, Body=json.dumps(record).encode())

    return store


def _arrival(record: dict[str, Any]) -> datetime:
    arrival = record.get("ApproximateArrivalTimestamp")
    if isinstance(arrival, datetime):
        return arrival.astimezone(UTC)
    return datetime.fromtimestamp(float(arrival or time.time()), UTC)


def _iso_ms(when: datetime) -> str:
    return when.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
