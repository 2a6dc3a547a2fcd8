"""Test helpers of the ingest area: event fixtures, settings and fake Kinesis clients."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest

EVENTS_DIR = Path(__file__).resolve().parent / "events"
FAKE_ENV = {
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
}


def load_events(kind: str) -> dict[str, Any]:
    """Fixture events of ``kind`` ("valid" or "invalid") by file stem."""
    return {p.stem: json.loads(p.read_text()) for p in sorted((EVENTS_DIR / kind).glob("*.json"))}


def ndjson_lines(data: bytes) -> list[dict[str, Any]]:
    """The events held by one Kinesis record."""
    return [json.loads(line) for line in data.split(b"\n")]


class FakeKinesis:
    """A put_records-only client: succeeds, or fails chosen records on chosen calls.

    ``fail_plan`` maps a call number (0-based) to the positions in that call's Records
    that come back with ProvisionedThroughputExceededException.
    """

    def __init__(self, fail_plan: dict[int, set[int]] | None = None, always_fail: bool = False):
        self.fail_plan = fail_plan or {}
        self.always_fail = always_fail
        self.calls: list[list[dict[str, Any]]] = []
        self.landed: list[tuple[str, bytes]] = []

    def put_records(self, StreamName: str, Records: list[dict[str, Any]]) -> dict[str, Any]:
        call = len(self.calls)
        self.calls.append(Records)
        failing = set(range(len(Records))) if self.always_fail else self.fail_plan.get(call, set())
        out = []
        for i, rec in enumerate(Records):
            if i in failing:
                out.append(
                    {
                        "ErrorCode": "ProvisionedThroughputExceededException",
                        "ErrorMessage": "Rate exceeded for shard",
                    }
                )
            else:
                self.landed.append((rec["PartitionKey"], rec["Data"]))
                out.append(
                    {"SequenceNumber": str(len(self.landed)), "ShardId": "shardId-000000000000"}
                )
        return {"FailedRecordCount": len(failing), "Records": out}

    def landed_events(self) -> Iterator[tuple[str, dict[str, Any]]]:
        """Every (partition key, event) that was written."""
        for key, data in self.landed:
            for ev in ndjson_lines(data):
                yield key, ev


def free_port() -> int:
    """A TCP port nobody listens on right now (the stack's own helper)."""
    from gamepipe.stack.procs import free_port as stack_free_port

    return stack_free_port()


def wait_http(url: str, timeout: float = 30.0) -> None:
    """Poll ``url`` until it answers (any status) or raise TimeoutError."""
    import time

    import requests

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            requests.get(url, timeout=1)
            return
        except requests.ConnectionError:
            time.sleep(0.1)
    raise TimeoutError(f"{url} did not come up in {timeout} s")


class ServerProcess:
    """A server subprocess in its own session, stopped (whole group) by ``stop``.

    stderr goes to a temporary file, not a pipe: a chatty server (moto logs every
    request) would block once an unread pipe fills up.
    """

    def __init__(self, args: list[str], **popen: Any):
        import subprocess
        import tempfile

        self._log = tempfile.TemporaryFile()  # noqa: SIM115 — lives as long as the server
        self.proc = subprocess.Popen(
            args,
            stdout=subprocess.DEVNULL,
            stderr=self._log,
            start_new_session=True,
            **popen,
        )

    def stop(self) -> None:
        """SIGTERM the process group, SIGKILL if it lingers."""
        import os
        import signal
        import subprocess

        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()

    def stderr_tail(self) -> str:
        """The last 2,000 characters the process wrote to stderr."""
        self._log.seek(0)
        return self._log.read().decode(errors="replace")[-2000:]

    def close(self) -> None:
        """Stop the process and drop its log."""
        self.stop()
        self._log.close()


def register_application(
    dynamodb: Any, table: str, name: str = "test game", *, allow_backfill: bool = False
) -> tuple[str, str]:
    """Create the applications table (if needed) and an application; (application_id, key)."""
    from chalicelib.applications import ApplicationStore
    from gamepipe.stack.resources import ensure_applications_table

    ensure_applications_table(dynamodb, table)
    app, key = ApplicationStore(dynamodb, table).create(name, allow_backfill=allow_backfill)
    return app.application_id, key


def use_applications(monkeypatch: Any, module: Any, dynamodb: Any) -> tuple[str, str]:
    """Point ``app``'s authorizer at ``dynamodb`` (a client of this test's mock) and register
    an application there; return (application_id, key)."""
    from chalicelib.applications import ApplicationStore
    from chalicelib.auth import Authorizer

    table = module.SETTINGS.applications_table
    store = ApplicationStore(dynamodb, table)
    authorizer = Authorizer(store, module.SETTINGS.auth_cache_seconds)
    monkeypatch.setattr(module, "_authorizer", lambda: authorizer)
    return register_application(dynamodb, table)


def recent(event: dict[str, Any], *, ago: float = 3600.0) -> dict[str, Any]:
    """A copy of a fixture event dated ``ago`` seconds before now (inside the API's window)."""
    from datetime import UTC, datetime, timedelta

    ts = datetime.now(UTC) - timedelta(seconds=ago)
    return {**event, "event_ts": ts.isoformat().replace("+00:00", "Z")}


def assert_contract_verdicts(generated: Iterable[Any]) -> None:
    """Each generated event passes the contract, or fails it when the generator broke it on
    purpose (``bad_reason``)."""
    from chalicelib.contract import ValidationFailure, validate_event

    for g in generated:
        if g.bad_reason is None:
            validate_event(g.event)
        else:
            with pytest.raises(ValidationFailure):
                validate_event(g.event)
