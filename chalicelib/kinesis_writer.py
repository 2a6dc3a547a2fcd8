"""Kinesis records: NDJSON lines packed per partition key, PutRecords in batches, retrying
the records a call reports as failed.

botocore retries a PutRecords *call* that fails as a whole (throttling, 5xx), but a call
that succeeds can still report individual records as failed
(``ProvisionedThroughputExceededException`` / ``InternalFailure`` per record); only the
caller can resend those, so this module does, with exponential backoff and full jitter.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_result,
    stop_after_attempt,
    stop_after_delay,
    wait_random_exponential,
)

# Kinesis service limits for one PutRecords call and one record.
MAX_RECORDS_PER_CALL = 500
MAX_BYTES_PER_CALL = 5 * 1024 * 1024
MAX_RECORD_BYTES = 1024 * 1024  # data blob + partition key

# Whole-call errors that are worth resending after a pause; anything else (missing
# stream, access denied, bad request) fails the records at once.
_RETRYABLE_CALL_ERRORS = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "LimitExceededException",
        "InternalFailure",
        "ServiceUnavailable",
        "KMSThrottlingException",
    }
)

Record = tuple[str, bytes]  # (partition key, data)


def group_records(lines: Sequence[Record]) -> tuple[list[Record], list[list[int]]]:
    """Join ``(partition_key, line)`` pairs into NDJSON records, one per key, each ≤ 1 MiB.

    Returns the records and, for each, the indexes of the lines it holds. A line that
    alone exceeds the record limit gets a record of its own (PutRecords will refuse it).
    """
    by_key: dict[str, list[int]] = {}
    for i, (key, _) in enumerate(lines):
        by_key.setdefault(key, []).append(i)
    records: list[Record] = []
    members: list[list[int]] = []
    for key, idxs in by_key.items():
        limit = MAX_RECORD_BYTES - len(key.encode())
        chunk: list[int] = []
        size = 0
        for i in idxs:
            n = len(lines[i][1])
            if chunk and size + 1 + n > limit:
                records.append((key, b"\n".join(lines[j][1] for j in chunk)))
                members.append(chunk)
                chunk, size = [], 0
            size += n + (1 if chunk else 0)
            chunk.append(i)
        records.append((key, b"\n".join(lines[j][1] for j in chunk)))
        members.append(chunk)
    return records, members


@dataclass
class PutSummary:
    """What a ``put_records`` run achieved; indexes refer to the input sequence."""

    records_sent: int = 0  # records Kinesis accepted
    records_failed: int = 0  # records still failed after the last attempt
    events_sent: int = 0  # newline-delimited events inside the accepted records
    events_failed: int = 0
    attempts: int = 0  # PutRecords calls made
    retried_records: int = 0  # record resends (a record resent twice counts twice)
    failed_indexes: list[int] = field(default_factory=list)
    errors: dict[int, str] = field(default_factory=dict)  # index -> last error code

    @property
    def ok(self) -> bool:
        """Whether every record landed."""
        return self.records_failed == 0


def batches(records: Sequence[Record], indexes: Sequence[int]) -> list[list[int]]:
    """Split record indexes into PutRecords calls of ≤ 500 records and ≤ 5 MB."""
    out: list[list[int]] = []
    current: list[int] = []
    size = 0
    for i in indexes:
        key, data = records[i]
        rec_size = len(data) + len(key.encode())
        if current and (
            len(current) >= MAX_RECORDS_PER_CALL or size + rec_size > MAX_BYTES_PER_CALL
        ):
            out.append(current)
            current, size = [], 0
        current.append(i)
        size += rec_size
    if current:
        out.append(current)
    return out


def put_records(
    client: Any,
    stream: str,
    records: Sequence[Record],
    *,
    max_attempts: int = 8,
    wait_base: float = 0.05,
    wait_max: float = 2.0,
    max_seconds: float = 20.0,
    sleep: Callable[[float], None] = time.sleep,
) -> PutSummary:
    """Write ``(partition_key, data)`` records to ``stream``; resend failed ones with backoff.

    Stops after ``max_attempts`` rounds or once ``max_seconds`` have passed (botocore's own
    retries of a throttled call count too), so an API request ends well inside API
    Gateway's 29 s.
    """
    summary = PutSummary()
    pending: list[int] = []
    for i, (key, data) in enumerate(records):
        # Kinesis refuses the whole call if one record is over the limit: fail it alone.
        if len(data) + len(key.encode()) > MAX_RECORD_BYTES:
            summary.errors[i] = "RecordTooLarge"
            summary.failed_indexes.append(i)
        else:
            pending.append(i)

    def attempt() -> list[int]:
        # One round: every pending record is sent once (in ≤500/5 MB calls).
        nonlocal pending
        if summary.attempts:
            summary.retried_records += len(pending)
        still_failed: list[int] = []
        for batch in batches(records, pending):
            still_failed.extend(_put_batch(client, stream, records, batch, summary))
        pending = still_failed
        return still_failed

    def give_up(state: RetryCallState) -> list[int]:
        return pending

    retrying = Retrying(
        stop=stop_after_attempt(max(1, max_attempts)) | stop_after_delay(max_seconds),
        wait=wait_random_exponential(multiplier=wait_base, max=wait_max),
        retry=retry_if_result(bool),
        retry_error_callback=give_up,
        sleep=sleep,
        reraise=True,
    )
    failed = retrying(attempt)
    # Permanently failed records were parked in failed_indexes by _put_batch.
    failed_set = set(failed) | set(summary.failed_indexes)
    for i, (_, data) in enumerate(records):
        n_events = data.count(b"\n") + 1
        if i in failed_set:
            summary.records_failed += 1
            summary.events_failed += n_events
        else:
            summary.records_sent += 1
            summary.events_sent += n_events
    summary.failed_indexes = sorted(failed_set)
    summary.errors = {i: summary.errors[i] for i in summary.failed_indexes if i in summary.errors}
    return summary


def _put_batch(
    client: Any, stream: str, records: Sequence[Record], batch: list[int], summary: PutSummary
) -> list[int]:
    """One PutRecords call; return the input indexes that failed and may be retried."""
    summary.attempts += 1
    entries = [{"PartitionKey": records[i][0], "Data": records[i][1]} for i in batch]
    try:
        response = client.put_records(StreamName=stream, Records=entries)
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "ClientError")
        for i in batch:
            summary.errors[i] = code
        if code in _RETRYABLE_CALL_ERRORS:
            return batch
        _fail_permanently(batch, summary)
        return []
    except BotoCoreError as exc:
        # Connection trouble after botocore's own retries: worth another round.
        for i in batch:
            summary.errors[i] = type(exc).__name__
        return batch
    if not response.get("FailedRecordCount"):
        return []
    failed: list[int] = []
    for i, result in zip(batch, response["Records"], strict=True):
        if "ErrorCode" in result:
            summary.errors[i] = result["ErrorCode"]
            failed.append(i)
    return failed


def _fail_permanently(batch: list[int], summary: PutSummary) -> None:
    # Parked here rather than returned, so a missing stream does not trigger more rounds.
    summary.failed_indexes.extend(batch)
