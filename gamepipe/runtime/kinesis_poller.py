"""A local Kinesis event-source mapping: what Lambda's poller does, for an in-process handler.

Per shard: GetShardIterator / GetRecords, build the exact Lambda Kinesis event, invoke the
function, honour batch size, batching window and the 6 MB payload limit, checkpoint after
each successful batch (so a restart resumes without loss), and on ``batchItemFailures``
(ReportBatchItemFailures) redeliver from the lowest failed sequence number. A function
error (an exception) bisects the batch first (BisectBatchOnFunctionError: halves are
retried without using the retry quota). After ``max_retries`` retries of the same record
the batch goes to the on-failure destination exactly as Lambda's S3 destination stores it
(:mod:`gamepipe.runtime.on_failure`) and only then does the shard move on: if the
destination cannot be written (a missing bucket), the checkpoint stays where it is and the
write is retried with a back-off.

Shards are polled round-robin in one thread: the handler runs in this process, and on a
2-core machine threads would buy nothing but lock contention.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from gamepipe.runtime.checkpoints import CheckpointStore
from gamepipe.runtime.kinesis_events import (
    MAX_PAYLOAD_BYTES,
    first_failure,
    fitting,
    kinesis_event,
)
from gamepipe.runtime.on_failure import OnFailure, invocation_record

log = logging.getLogger(__name__)

Invoke = Callable[[dict[str, Any]], Any]
ESM_NAMESPACE = uuid.UUID("0b9d3c1e-5f0a-4c55-9a57-1f0d6f1c2b7e")
DESTINATION_BACKOFF_S = (1.0, 30.0)  # first and longest wait before writing it again


@dataclass
class PollStats:
    """Counters of one poller's life: records delivered, invocations, failures, dead letters."""

    records_delivered: int = 0
    invocations: int = 0
    failed_invocations: int = 0
    records_dead_lettered: int = 0  # records of batches stored at the on-failure destination
    failed_batches_stored: int = 0
    destination_errors: int = 0
    bisections: int = 0


@dataclass
class _Shard:
    shard_id: str
    iterator: str | None
    buffer: list[dict[str, Any]] = field(default_factory=list)
    buffered_since: float | None = None
    failing_seq: str | None = None
    attempts: int = 0
    at_tip: bool = False
    last_seq: str | None = None  # last sequence number delivered (checkpointed)
    limit: int | None = None  # batch size cap while bisecting after a function error
    # a failed batch waiting for the on-failure destination: (record, its records, next try
    # at, back-off)
    pending: tuple[dict[str, Any], list[dict[str, Any]], float, float] | None = None

    @property
    def closed(self) -> bool:
        return self.iterator is None and not self.buffer

    def reopen(self, iterator: str | None) -> None:
        """Read again from ``iterator``: what was buffered is dropped and read again."""
        self.buffer.clear()
        self.buffered_since = None
        self.iterator = iterator

    def settled(self) -> None:
        """The failing record is done with (delivered or stored): no retry state."""
        self.failing_seq, self.attempts, self.limit = None, 0, None


class KinesisPoller:
    """Polls every shard of one stream and feeds batches to ``invoke`` (the Lambda handler)."""

    def __init__(
        self,
        kinesis: Any,
        stream_name: str,
        invoke: Invoke,
        *,
        checkpoints: CheckpointStore | None = None,
        checkpoint_path: Any = None,
        batch_size: int = 100,
        batch_window: float = 0.0,
        max_retries: int = 3,
        starting_position: str = "TRIM_HORIZON",
        on_failure: OnFailure | None = None,
        bisect_on_error: bool = True,
        function_name: str = "consume_events",
        poll_interval: float = 0.2,
        max_payload_bytes: int = MAX_PAYLOAD_BYTES,
    ) -> None:
        self.kinesis = kinesis
        self.stream_name = stream_name
        self.invoke = invoke
        self.batch_size = max(1, batch_size)
        self.batch_window = max(0.0, float(batch_window))
        self.max_retries = max_retries
        self.starting_position = starting_position
        self.on_failure = on_failure
        self.bisect_on_error = bisect_on_error
        self.function_name = function_name
        self.poll_interval = poll_interval
        self.max_payload_bytes = max_payload_bytes
        self.stats = PollStats()
        summary = kinesis.describe_stream_summary(StreamName=stream_name)[
            "StreamDescriptionSummary"
        ]
        self.stream_arn: str = summary["StreamARN"]
        self.region: str = self.stream_arn.split(":")[3]
        account = self.stream_arn.split(":")[4]
        self.role_arn = f"arn:aws:iam::{account}:role/{function_name}-local-role"
        self.function_arn = f"arn:aws:lambda:{self.region}:{account}:function:{function_name}"
        # the mapping's UUID names the failed batches' prefix: stable per stream + function
        self.esm_uuid = str(uuid.uuid5(ESM_NAMESPACE, f"{self.stream_arn}|{function_name}"))
        created = summary.get("StreamCreationTimestamp")
        created_key = created.isoformat() if isinstance(created, datetime) else str(created)
        if checkpoints is None and checkpoint_path is not None:
            checkpoints = CheckpointStore(checkpoint_path, f"{self.stream_arn}@{created_key}")
        self.checkpoints = checkpoints
        self._shards: list[_Shard] = []
        self._start_shards()

    # -- setup -------------------------------------------------------------------------
    def _start_shards(self) -> None:
        done = self.checkpoints.load() if self.checkpoints else {}
        shards: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {"StreamName": self.stream_name}
        while True:
            page = self.kinesis.list_shards(**kwargs)
            shards.extend(page["Shards"])
            token = page.get("NextToken")
            if not token:
                break
            kwargs = {"NextToken": token}
        for shard in shards:
            sid = shard["ShardId"]
            if sid in done:
                it = self._iterator(sid, "AFTER_SEQUENCE_NUMBER", done[sid])
            else:
                it = self._iterator(sid, self.starting_position)
            self._shards.append(_Shard(sid, it, last_seq=done.get(sid)))

    def _iterator(self, shard_id: str, kind: str, seq: str | None = None) -> str | None:
        kwargs: dict[str, Any] = {
            "StreamName": self.stream_name,
            "ShardId": shard_id,
            "ShardIteratorType": kind,
        }
        if seq is not None:
            kwargs["StartingSequenceNumber"] = seq
        it: str | None = self.kinesis.get_shard_iterator(**kwargs).get("ShardIterator")
        return it

    # -- polling -----------------------------------------------------------------------
    def poll_once(self) -> int:
        """One round over all shards (read, maybe invoke); returns records read."""
        read = 0
        for shard in self._shards:
            if shard.pending is not None:
                self._store_failed(shard)
                continue  # the shard moves on only once its failed batch is stored
            read += self._fetch(shard)
            if shard.buffer and self._batch_ready(shard):
                self._deliver(shard)
        return read

    def _fetch(self, shard: _Shard) -> int:
        if shard.iterator is None or len(shard.buffer) >= self.batch_size:
            return 0
        try:
            resp = self.kinesis.get_records(
                ShardIterator=shard.iterator, Limit=min(10_000, self.batch_size - len(shard.buffer))
            )
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code == "ExpiredIteratorException":
                # iterators live 5 min: re-open after what was delivered, re-read the buffer
                shard.reopen(
                    self._iterator(shard.shard_id, "AFTER_SEQUENCE_NUMBER", shard.last_seq)
                    if shard.last_seq
                    else self._iterator(shard.shard_id, self.starting_position)
                )
                return 0
            if code in ("ProvisionedThroughputExceededException", "LimitExceededException"):
                return 0  # 5 reads/s per shard on AWS: try again next round
            raise
        shard.iterator = resp.get("NextShardIterator")  # None once a closed shard is read
        records = resp.get("Records", [])
        shard.at_tip = not records and int(resp.get("MillisBehindLatest", 0) or 0) == 0
        if records:
            if not shard.buffer:
                shard.buffered_since = time.monotonic()
            shard.buffer.extend(records)
        return len(records)

    def _batch_ready(self, shard: _Shard) -> bool:
        if len(shard.buffer) >= self.batch_size or shard.iterator is None:
            return True
        if self.batch_window <= 0 or shard.buffered_since is None:
            return True
        return time.monotonic() - shard.buffered_since >= self.batch_window

    def _deliver(self, shard: _Shard) -> None:
        batch = fitting(shard.buffer[: shard.limit or self.batch_size], self.max_payload_bytes)
        seqs = [r["SequenceNumber"] for r in batch]
        event = kinesis_event(
            batch,
            shard_id=shard.shard_id,
            stream_arn=self.stream_arn,
            region=self.region,
            role_arn=self.role_arn,
        )
        self.stats.invocations += 1
        function_error = False
        try:
            response = self.invoke(event)
            failed_at = first_failure(response, seqs)
        except Exception:  # a raised error fails the whole batch, as in Lambda
            log.exception("%s raised on %s", self.function_name, shard.shard_id)
            failed_at, function_error = 0, True
        if failed_at is None:
            self._commit(shard, batch, len(batch))
            shard.settled()
            return
        self.stats.failed_invocations += 1
        self._commit(shard, batch, failed_at)
        failed_seq = seqs[failed_at]
        if function_error and self.bisect_on_error and len(batch) > 1:
            # BisectBatchOnFunctionError: retry the first half; halves use no retry quota
            shard.limit = max(1, len(batch) // 2)
            self.stats.bisections += 1
            self._reread(shard, failed_seq)
            return
        shard.attempts = shard.attempts + 1 if shard.failing_seq == failed_seq else 1
        shard.failing_seq = failed_seq
        if shard.attempts > self.max_retries:
            # retry cap reached: store the batch at the on-failure destination, then move on
            rest = batch[failed_at:]  # the buffer starts with it (the prefix is committed)
            record = invocation_record(
                rest, event, shard.attempts, shard.shard_id, self.stream_arn, self.function_arn
            )
            shard.pending = (record, rest, 0.0, DESTINATION_BACKOFF_S[0])
            self._store_failed(shard)
            return
        # redeliver from the first failed record: re-read it, as Lambda does
        self._reread(shard, failed_seq)

    def _reread(self, shard: _Shard, seq: str) -> None:
        shard.reopen(self._iterator(shard.shard_id, "AT_SEQUENCE_NUMBER", seq))
        shard.at_tip = False  # records are waiting again: not caught up until re-read

    def _store_failed(self, shard: _Shard) -> None:
        """Write the pending failed batch to the destination; checkpoint past it only then."""
        assert shard.pending is not None
        record, rest, not_before, wait = shard.pending
        if time.monotonic() < not_before:
            return
        info = record["KinesisBatchInfo"]
        try:
            if self.on_failure is not None:
                self.on_failure(shard.shard_id, record)
        except Exception as exc:  # the destination is down: keep the checkpoint, retry
            self.stats.destination_errors += 1
            log.error(
                "%s: cannot store failed batch %s..%s (%d records) at the on-failure "
                "destination: %s; checkpoint stays at %s, retrying in %.0f s",
                shard.shard_id,
                info["startSequenceNumber"],
                info["endSequenceNumber"],
                info["batchSize"],
                exc,
                shard.last_seq or "the stream's start",
                wait,
            )
            longest = DESTINATION_BACKOFF_S[1]
            shard.pending = (record, rest, time.monotonic() + wait, min(wait * 2, longest))
            return
        shard.pending = None
        self.stats.failed_batches_stored += 1
        self.stats.records_dead_lettered += info["batchSize"]
        log.warning(
            "%s: %d records stored at the on-failure destination after %d retries",
            shard.shard_id,
            info["batchSize"],
            self.max_retries,
        )
        self._commit(shard, rest, len(rest))  # stored: the failed records are done
        shard.settled()

    def _commit(self, shard: _Shard, batch: list[dict[str, Any]], upto: int) -> None:
        """Checkpoint ``batch[:upto]`` as done and drop it from the buffer."""
        if upto <= 0:
            return
        del shard.buffer[:upto]
        shard.buffered_since = time.monotonic() if shard.buffer else None
        self.stats.records_delivered += upto
        shard.last_seq = batch[upto - 1]["SequenceNumber"]
        if self.checkpoints is not None:
            self.checkpoints.save(shard.shard_id, batch[upto - 1]["SequenceNumber"])

    # -- loops -------------------------------------------------------------------------
    def caught_up(self) -> bool:
        """True when every shard was read to its tip and nothing is pending delivery."""
        return all(
            s.closed or (s.at_tip and not s.buffer and s.pending is None) for s in self._shards
        )

    def drain(self, timeout: float = 60.0) -> PollStats:
        """Poll until every shard is caught up (records put before the call are delivered)."""
        for s in self._shards:
            s.at_tip = False  # a tip seen before this call does not count
        deadline = time.monotonic() + timeout
        while True:
            read = self.poll_once()
            if self.caught_up():
                return self.stats
            if time.monotonic() > deadline:
                raise TimeoutError(f"stream {self.stream_name} not drained after {timeout}s")
            if read == 0:
                time.sleep(min(self.poll_interval, 0.05))

    def follow(self, stop: threading.Event | None = None) -> PollStats:
        """Poll until ``stop`` is set (Ctrl-C ends it too)."""
        stop = stop or threading.Event()
        while not stop.is_set():
            if self.poll_once() == 0:
                stop.wait(self.poll_interval)
        return self.stats
