"""put_records: call batching, per-record retry, permanent failures (no AWS)."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError, EndpointConnectionError

from chalicelib.kinesis_writer import MAX_BYTES_PER_CALL, batches, put_records
from tests.helpers_ingest import FakeKinesis

NO_SLEEP = {"sleep": lambda s: None}


def test_batches_respect_500_records_and_5_mb():
    # GIVEN 1,200 small records and 12 records of 1 MB
    small = [("k", b"x")] * 1200
    big = [("k", b"x" * 1_000_000)] * 12
    # THEN calls hold at most 500 records / 5 MB, in order, each record once
    assert [len(b) for b in batches(small, range(1200))] == [500, 500, 200]
    sizes = [sum(len(big[i][1]) + 1 for i in b) for b in batches(big, range(12))]
    assert all(s <= MAX_BYTES_PER_CALL for s in sizes) and len(sizes) == 3


def test_success_counts_events_in_ndjson_records():
    fake = FakeKinesis()
    summary = put_records(fake, "s", [("a", b"{}\n{}\n{}"), ("b", b"{}")], **NO_SLEEP)
    assert summary.ok and summary.attempts == 1
    assert (summary.records_sent, summary.events_sent) == (2, 4)


def test_only_failed_records_are_resent_with_backoff():
    # GIVEN a stream that fails records 0 and 2 on the first call and record 0 again
    fake = FakeKinesis(fail_plan={0: {0, 2}, 1: {0}})
    waits: list[float] = []
    records = [(f"k{i}", f"r{i}".encode()) for i in range(4)]
    summary = put_records(fake, "s", records, max_attempts=5, sleep=waits.append)
    # THEN the resends carry just the failed records, and all land in the end
    assert [[r["Data"] for r in c] for c in fake.calls] == [
        [b"r0", b"r1", b"r2", b"r3"],
        [b"r0", b"r2"],
        [b"r0"],
    ]
    assert summary.ok and summary.retried_records == 3 and summary.attempts == 3
    assert len(waits) == 2 and all(0 <= w <= 2.0 for w in waits)


def test_gives_up_after_max_attempts():
    fake = FakeKinesis(always_fail=True)
    summary = put_records(fake, "s", [("a", b"1"), ("b", b"2\n3")], max_attempts=4, **NO_SLEEP)
    assert len(fake.calls) == 4
    assert summary.failed_indexes == [0, 1] and summary.events_failed == 3
    assert summary.errors[0] == "ProvisionedThroughputExceededException"


class _Raising:
    def __init__(self, exc: Exception, times: int = 99):
        self.exc, self.times, self.calls = exc, times, 0
        self.inner = FakeKinesis()

    def put_records(self, **kw: Any) -> dict[str, Any]:
        self.calls += 1
        if self.calls <= self.times:
            raise self.exc
        return self.inner.put_records(**kw)


def test_missing_stream_fails_at_once_without_retries():
    err = ClientError({"Error": {"Code": "ResourceNotFoundException"}}, "PutRecords")
    client = _Raising(err)
    summary = put_records(client, "nope", [("a", b"1")], max_attempts=5, **NO_SLEEP)
    assert client.calls == 1
    assert summary.failed_indexes == [0] and summary.errors[0] == "ResourceNotFoundException"
    assert summary.records_sent == 0


def test_connection_errors_are_retried():
    client = _Raising(EndpointConnectionError(endpoint_url="http://x"), times=1)
    summary = put_records(client, "s", [("a", b"1")], max_attempts=3, **NO_SLEEP)
    assert client.calls == 2 and summary.ok


def test_oversized_record_fails_alone_without_being_sent():
    from chalicelib.kinesis_writer import MAX_RECORD_BYTES

    fake = FakeKinesis()
    records = [("a", b"x" * MAX_RECORD_BYTES), ("b", b"ok")]
    summary = put_records(fake, "s", records, **NO_SLEEP)
    assert [[r["Data"] for r in c] for c in fake.calls] == [[b"ok"]]
    assert summary.failed_indexes == [0] and summary.errors == {0: "RecordTooLarge"}
    assert summary.records_sent == 1


def test_stops_at_the_time_budget(monkeypatch):
    # GIVEN a stream that always throttles, and a clock that each backoff moves by 10 s
    import tenacity

    clock = [1000.0]
    monkeypatch.setattr(tenacity.time, "monotonic", lambda: clock[0])

    def sleep(seconds: float) -> None:
        clock[0] += 10

    fake = FakeKinesis(always_fail=True)
    # WHEN the budget is 15 s but 50 attempts are allowed
    summary = put_records(fake, "s", [("a", b"1")], max_attempts=50, max_seconds=15, sleep=sleep)
    # THEN it gives up after the round that ends past 15 s: 3 calls, not 50
    assert len(fake.calls) == 3
    assert summary.records_failed == 1
