"""The local Kinesis poller against moto: Lambda event shape, checkpoints, redelivery, retry cap."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from gamepipe.runtime.checkpoints import CheckpointStore
from gamepipe.runtime.kinesis_poller import KinesisPoller
from gamepipe.runtime.on_failure import s3_on_failure
from tests.helpers_runtime import RecordingHandler, put_events

STREAM = "test-events"


@pytest.fixture
def kinesis(fake_aws_env: None) -> Any:
    with mock_aws():
        client = boto3.client("kinesis", region_name="us-east-1")
        client.create_stream(StreamName=STREAM, ShardCount=3)
        yield client


def test_event_has_lambda_kinesis_shape(kinesis: Any, tmp_path: Path) -> None:
    # GIVEN one record on the stream
    put_events(kinesis, STREAM, 1)
    handler = RecordingHandler()
    poller = KinesisPoller(kinesis, STREAM, handler, checkpoint_path=tmp_path / "ckpt.json")
    # WHEN the poller drains the stream
    poller.drain(timeout=10)
    # THEN the handler got exactly Lambda's Kinesis event layout
    (event,) = handler.events
    (rec,) = event["Records"]
    assert set(rec) == {
        "kinesis",
        "eventSource",
        "eventVersion",
        "eventID",
        "eventName",
        "invokeIdentityArn",
        "awsRegion",
        "eventSourceARN",
    }
    assert rec["eventSource"] == "aws:kinesis"
    assert rec["eventName"] == "aws:kinesis:record"
    assert rec["eventVersion"] == "1.0"
    assert rec["awsRegion"] == "us-east-1"
    assert rec["eventSourceARN"].endswith(f":stream/{STREAM}")
    assert rec["invokeIdentityArn"].startswith("arn:aws:iam::")
    k = rec["kinesis"]
    assert k["kinesisSchemaVersion"] == "1.0"
    assert k["partitionKey"] == "user-0"
    assert rec["eventID"].startswith("shardId-") and rec["eventID"].endswith(
        ":" + k["sequenceNumber"]
    )
    assert json.loads(base64.b64decode(k["data"]))["event_id"] == "e00000"
    assert isinstance(k["approximateArrivalTimestamp"], float)


def test_batch_size_is_honoured(kinesis: Any, tmp_path: Path) -> None:
    # GIVEN 50 records
    ids = put_events(kinesis, STREAM, 50)
    handler = RecordingHandler()
    # WHEN drained with batch size 4
    poller = KinesisPoller(kinesis, STREAM, handler, batch_size=4, checkpoint_path=tmp_path / "c")
    stats = poller.drain(timeout=10)
    # THEN no batch is larger than 4 and every record is delivered once
    assert max(len(e["Records"]) for e in handler.events) <= 4
    assert sorted(handler.seen) == sorted(ids)
    assert stats.records_delivered == 50


def test_restart_resumes_from_checkpoint_without_loss_or_repeat(
    kinesis: Any, tmp_path: Path
) -> None:
    # GIVEN 30 records drained by a first poller that then "dies"
    ckpt = tmp_path / "ckpt.json"
    first_ids = put_events(kinesis, STREAM, 30, prefix="a")
    first = RecordingHandler()
    KinesisPoller(kinesis, STREAM, first, checkpoint_path=ckpt).drain(timeout=10)
    # AND 20 more records arrive while no poller runs
    later_ids = put_events(kinesis, STREAM, 20, prefix="b")
    # WHEN a new poller starts from the same checkpoint file
    second = RecordingHandler()
    KinesisPoller(kinesis, STREAM, second, checkpoint_path=ckpt).drain(timeout=10)
    # THEN it delivers exactly the records the first one had not
    assert sorted(first.seen) == sorted(first_ids)
    assert sorted(second.seen) == sorted(later_ids)


def test_checkpoints_are_scoped_to_the_stream_incarnation(tmp_path: Path) -> None:
    # GIVEN a checkpoint file holding positions of two stream incarnations
    path = tmp_path / "c.json"
    CheckpointStore(path, "arn@1").save("shardId-0", "111")
    CheckpointStore(path, "arn@2").save("shardId-0", "222")
    # THEN each incarnation sees only its own position
    assert CheckpointStore(path, "arn@1").load() == {"shardId-0": "111"}
    assert CheckpointStore(path, "arn@2").load() == {"shardId-0": "222"}
    assert CheckpointStore(path, "arn@3").load() == {}


def test_batch_item_failure_redelivers_from_first_failed_record(
    kinesis: Any, tmp_path: Path
) -> None:
    # GIVEN a handler that fails event e00010 once (reporting it in batchItemFailures)
    ids = put_events(kinesis, STREAM, 40)
    handler = RecordingHandler(fail_ids={"e00010"}, fail_times=1)
    poller = KinesisPoller(kinesis, STREAM, handler, checkpoint_path=tmp_path / "c")
    # WHEN drained
    stats = poller.drain(timeout=10)
    # THEN the failed record and everything after it on its shard is redelivered, nothing lost
    assert sorted(handler.seen) == sorted(ids)
    assert len(handler.seen) == len(set(handler.seen))
    assert stats.failed_invocations == 1
    redelivery = handler.events[-1] if len(handler.events) > 1 else None
    assert any(
        json.loads(base64.b64decode(r["kinesis"]["data"]))["event_id"] == "e00010"
        for e in handler.events[1:]
        for r in e["Records"]
    ), redelivery
    assert stats.records_dead_lettered == 0


def test_unknown_item_identifier_fails_whole_batch(kinesis: Any, tmp_path: Path) -> None:
    # GIVEN a handler that answers with an identifier not in the batch, once
    put_events(kinesis, STREAM, 5)
    calls: list[list[str]] = []

    def handler(event: dict[str, Any]) -> dict[str, Any]:
        calls.append([r["eventID"] for r in event["Records"]])
        return {"batchItemFailures": [{"itemIdentifier": "nope"}]} if len(calls) == 1 else {}

    # WHEN drained
    KinesisPoller(kinesis, STREAM, handler, checkpoint_path=tmp_path / "c").drain(timeout=10)
    # THEN the first batch was delivered again in full (in a later invocation)
    assert calls[0] in calls[1:]


def _stored(s3: Any, bucket: str) -> list[tuple[str, dict[str, Any]]]:
    contents = s3.list_objects_v2(Bucket=bucket).get("Contents", [])
    return [
        (o["Key"], json.loads(s3.get_object(Bucket=bucket, Key=o["Key"])["Body"].read()))
        for o in contents
    ]


def test_retry_cap_stores_the_whole_batch_as_lambdas_s3_destination_does(
    kinesis: Any, tmp_path: Path
) -> None:
    # GIVEN a handler that always fails e00003, and an S3 on-failure destination
    s3 = boto3.client("s3", region_name="us-east-1")
    s3.create_bucket(Bucket="lake")
    ids = put_events(kinesis, STREAM, 12)
    handler = RecordingHandler(fail_ids={"e00003"}, fail_times=10**6)
    poller = KinesisPoller(kinesis, STREAM, handler, checkpoint_path=tmp_path / "c", max_retries=2)
    poller.on_failure = s3_on_failure(s3, "lake", poller.esm_uuid)
    # WHEN drained
    stats = poller.drain(timeout=10)
    # THEN e00003 was tried 1 + 2 times, then its batch stored under Lambda's key layout
    assert handler._failed["e00003"] == 3
    ((key, record),) = _stored(s3, "lake")
    shard = record["KinesisBatchInfo"]["shardId"]
    assert key.startswith(f"aws/lambda/{poller.esm_uuid}/{shard}/")
    day, name = key.split("/")[-4:-1], key.split("/")[-1]
    assert name.startswith("-".join(day)) and name[10] == "T" and name[13] == "."
    # AND the record has Lambda's shape, with the whole invocation event as payload
    assert set(record) == {
        "requestContext", "responseContext", "version", "timestamp", "KinesisBatchInfo", "payload"
    }  # fmt: skip
    assert record["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert record["requestContext"]["approximateInvokeCount"] == 3
    payload = json.loads(record["payload"])
    parked = {
        json.loads(base64.b64decode(r["kinesis"]["data"]))["event_id"] for r in payload["Records"]
    }
    assert "e00003" in parked
    assert record["KinesisBatchInfo"]["batchSize"] == stats.records_dead_lettered >= 1
    # AND every other record was delivered (none lost), the shard moved on
    assert set(handler.seen) | parked == set(ids)


def test_a_destination_that_cannot_be_written_keeps_the_checkpoint(
    kinesis: Any, tmp_path: Path
) -> None:
    # GIVEN a failing record and an on-failure bucket that does not exist (yet)
    s3 = boto3.client("s3", region_name="us-east-1")
    put_events(kinesis, STREAM, 6)
    handler = RecordingHandler(fail_ids={"e00001"}, fail_times=10**6)
    store = CheckpointStore(tmp_path / "c", "k")
    poller = KinesisPoller(kinesis, STREAM, handler, checkpoints=store, max_retries=1)
    poller.on_failure = s3_on_failure(s3, "lake", poller.esm_uuid)
    # WHEN it polls for a while
    for _ in range(30):
        poller.poll_once()
    # THEN nothing crashed, the failing shard did not move past the failed record
    assert poller.stats.destination_errors >= 1 and poller.stats.failed_batches_stored == 0
    assert not poller.caught_up()
    failing = next(s for s in poller._shards if s.pending is not None)
    info = failing.pending[0]["KinesisBatchInfo"]  # type: ignore[index]
    saved = store.load().get(failing.shard_id)
    assert saved is None or int(saved) < int(info["startSequenceNumber"])
    # WHEN the bucket appears THEN the batch is stored and the shard moves on
    s3.create_bucket(Bucket="lake")
    poller.drain(timeout=10)
    assert poller.stats.failed_batches_stored == 1 and len(_stored(s3, "lake")) == 1
    assert store.load()[failing.shard_id] == info["endSequenceNumber"]


def test_function_error_bisects_the_batch_without_using_retries(
    kinesis: Any, tmp_path: Path
) -> None:
    # GIVEN a handler that raises whenever a batch holds more than 2 records
    ids = put_events(kinesis, STREAM, 24)
    sizes: list[int] = []
    seen: list[str] = []

    def handler(event: dict[str, Any]) -> None:
        sizes.append(len(event["Records"]))
        if len(event["Records"]) > 2:
            raise RuntimeError("timed out")
        seen.extend(
            json.loads(base64.b64decode(r["kinesis"]["data"]))["event_id"] for r in event["Records"]
        )

    # WHEN drained with a retry cap of 0
    poller = KinesisPoller(
        kinesis, STREAM, handler, checkpoint_path=tmp_path / "c", batch_size=8, max_retries=0
    )
    stats = poller.drain(timeout=10)
    # THEN batches were halved until they passed, nothing was given up, nothing lost
    assert stats.bisections >= 1 and stats.failed_batches_stored == 0
    assert sorted(seen) == sorted(ids)
    assert min(sizes) <= 2 < max(sizes)


def test_handler_exception_is_a_whole_batch_failure(kinesis: Any, tmp_path: Path) -> None:
    # GIVEN a handler that raises on its first call
    ids = put_events(kinesis, STREAM, 6)
    seen: list[str] = []

    def handler(event: dict[str, Any]) -> None:
        if not seen and not getattr(handler, "raised", False):
            handler.raised = True  # type: ignore[attr-defined]
            raise RuntimeError("boom")
        seen.extend(
            json.loads(base64.b64decode(r["kinesis"]["data"]))["event_id"] for r in event["Records"]
        )

    # WHEN drained
    stats = KinesisPoller(kinesis, STREAM, handler, checkpoint_path=tmp_path / "c").drain(
        timeout=10
    )
    # THEN the batch was retried and all records arrived exactly once
    assert stats.failed_invocations == 1
    assert sorted(seen) == sorted(ids)


class _ExpiringKinesis:
    """moto's client, except that the second GetRecords call says the iterator expired."""

    def __init__(self, real: Any) -> None:
        self._real = real
        self.calls = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)

    def get_records(self, **kwargs: Any) -> Any:
        from botocore.exceptions import ClientError

        self.calls += 1
        if self.calls == 2:
            raise ClientError(
                {"Error": {"Code": "ExpiredIteratorException", "Message": "expired"}}, "GetRecords"
            )
        return self._real.get_records(**kwargs)


def test_expired_iterator_reopens_without_loss_or_repeat(kinesis: Any, tmp_path: Path) -> None:
    # GIVEN a stream whose iterator expires once during the drain
    ids = put_events(kinesis, STREAM, 30)
    flaky = _ExpiringKinesis(kinesis)
    handler = RecordingHandler()
    # WHEN drained
    KinesisPoller(flaky, STREAM, handler, batch_size=5, checkpoint_path=tmp_path / "c").drain(10)
    # THEN every record was delivered exactly once
    assert flaky.calls > 2
    assert sorted(handler.seen) == sorted(ids)


def test_batching_window_holds_a_partial_batch_until_full(
    fake_aws_env: None, tmp_path: Path
) -> None:
    with mock_aws():
        # GIVEN a one-shard stream, batch size 5 and a long batching window
        client = boto3.client("kinesis", region_name="us-east-1")
        client.create_stream(StreamName="one", ShardCount=1)
        handler = RecordingHandler()
        poller = KinesisPoller(
            client, "one", handler, batch_size=5, batch_window=300, checkpoint_path=tmp_path / "c"
        )
        # WHEN only 3 records have arrived
        put_events(client, "one", 3, prefix="a")
        for _ in range(3):
            poller.poll_once()
        # THEN nothing is invoked yet (the window has not passed, the batch is not full)
        assert handler.events == []
        # WHEN 2 more arrive
        put_events(client, "one", 2, prefix="b")
        poller.poll_once()
        # THEN one full batch of 5 is delivered at once
        assert [len(e["Records"]) for e in handler.events] == [5]
