"""Test helpers of the local runtime: fake AWS env, a stream with records, a recording handler."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

FAKE_ENV = {
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_ACCESS_KEY_ID": "test",
    "AWS_SECRET_ACCESS_KEY": "test",
}


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Fake credentials and region, no endpoint override (for moto's in-process mock_aws)."""
    for k, v in FAKE_ENV.items():
        monkeypatch.setenv(k, v)
    for k in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_GLUE", "AWS_ENDPOINT_URL_ATHENA"):
        monkeypatch.delenv(k, raising=False)
    yield


def put_events(kinesis: Any, stream: str, n: int, *, prefix: str = "e") -> list[str]:
    """Put ``n`` one-event records (partition key = userid); return their event ids in order."""
    ids = []
    for i in range(n):
        eid = f"{prefix}{i:05d}"
        body = {"event_id": eid, "userid": f"user-{i % 7}", "event_type": "level_up"}
        kinesis.put_record(
            StreamName=stream, Data=json.dumps(body).encode(), PartitionKey=body["userid"]
        )
        ids.append(eid)
    return ids


class RecordingHandler:
    """A fake Lambda: remembers every event id it was given; can fail chosen sequence numbers."""

    def __init__(self, fail_ids: set[str] | None = None, fail_times: int = 1) -> None:
        self.events: list[dict[str, Any]] = []
        self.seen: list[str] = []
        self.fail_ids = set(fail_ids or ())
        self.fail_times = fail_times
        self._failed: dict[str, int] = {}

    def __call__(self, event: dict[str, Any]) -> dict[str, Any]:
        import base64

        self.events.append(event)
        failures = []
        for rec in event["Records"]:
            body = json.loads(base64.b64decode(rec["kinesis"]["data"]))
            eid = body["event_id"]
            if eid in self.fail_ids and self._failed.get(eid, 0) < self.fail_times:
                self._failed[eid] = self._failed.get(eid, 0) + 1
                failures.append({"itemIdentifier": rec["kinesis"]["sequenceNumber"]})
                # Lambda semantics: records after a failure are redelivered too, don't count them
                break
            self.seen.append(eid)
        return {"batchItemFailures": failures}


def gamepipe_cmd(*args: str) -> list[str]:
    """argv running the project's ``gamepipe`` CLI with this interpreter."""
    import sys

    return [sys.executable, "-m", "gamepipe.cli", *args]


def oracle_answers(truth_path: Any) -> dict[str, Any]:
    """The oracle's 7 answers for a generator truth file."""
    from gamepipe.oracle import compute_answers, load_truth

    return compute_answers(load_truth(truth_path))


def assert_all_stopped(pids: dict[str, int]) -> None:
    """Every process the run recorded is gone (or a zombie awaiting its reaper)."""
    from gamepipe.stack.procs import alive

    left = {name: pid for name, pid in pids.items() if alive(pid)}
    assert not left, f"processes left running: {left}"
