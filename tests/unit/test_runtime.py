"""Pure parts of the local runtime: schedules, Lambda event building, failure rules, output."""

from __future__ import annotations

import base64
import threading
from datetime import UTC, datetime
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import pytest

from gamepipe.answers_text import format_answers
from gamepipe.demo import plain
from gamepipe.runtime.kinesis_events import first_failure, lambda_record
from gamepipe.runtime.schedule import (
    aws_cron_to_unix,
    next_fire,
    run_schedules,
    scheduled_event,
)
from gamepipe.stack.targets import local_env

T0 = datetime(2026, 11, 28, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("aws", "unix"),
    [
        ("15 0 * * ? *", "15 0 * * *"),
        ("0 12 ? * 2-6 *", "0 12 * * 1-5"),  # AWS MON-FRI is 2-6
        ("0/5 * * * ? *", "0/5 * * * *"),
        ("0 8 1 * ? 2027", "0 8 1 * *"),
        ("0 9 ? * MON *", "0 9 * * MON"),
    ],
)
def test_aws_cron_converts_to_five_fields(aws: str, unix: str) -> None:
    # GIVEN an AWS 6-field cron WHEN converted THEN it is the equivalent 5-field cron
    assert aws_cron_to_unix(aws) == unix


def test_next_fire_rate_and_cron() -> None:
    # GIVEN a time WHEN asked for the next fire of rate and cron expressions
    # THEN rates add their period and crons land on the next matching minute (UTC)
    assert next_fire("rate(5 minutes)", T0) == datetime(2026, 11, 28, 0, 5, tzinfo=UTC)
    assert next_fire("rate(1 hour)", T0) == datetime(2026, 11, 28, 1, 0, tzinfo=UTC)
    assert next_fire("cron(15 0 * * ? *)", T0) == datetime(2026, 11, 28, 0, 15, tzinfo=UTC)
    assert next_fire("cron(15 0 * * ? *)", T0.replace(minute=20)) == datetime(
        2026, 11, 29, 0, 15, tzinfo=UTC
    )
    with pytest.raises(ValueError):
        next_fire("every day", T0)


def test_scheduled_event_shape() -> None:
    # GIVEN a rule and a time WHEN the scheduled event is built THEN it is EventBridge's shape
    ev = scheduled_event("daily_report", T0)
    assert ev["detail-type"] == "Scheduled Event" and ev["source"] == "aws.events"
    assert ev["time"] == "2026-11-28T00:00:00Z"
    assert ev["resources"][0].endswith(":rule/daily_report")


def test_run_schedules_fires_due_jobs_with_scheduled_events(monkeypatch: Any) -> None:
    # GIVEN an app with one rate(1 minute) function and a fake clock that jumps ahead
    calls: list[dict[str, Any]] = []
    stop = threading.Event()

    def handler(event: dict[str, Any], context: Any) -> str:
        calls.append(event)
        if len(calls) == 2:
            stop.set()
        return "ok"

    app = SimpleNamespace(
        event_sources=[SimpleNamespace(name="tick", schedule_expression="rate(1 minute)")],
        handler_map={"tick": handler},
    )
    clock = iter(T0.replace(minute=m) for m in range(0, 100))
    # WHEN the runner runs until the second invocation
    results = run_schedules(app, stop, now=lambda: next(clock))
    # THEN it invoked the function on consecutive minutes with scheduled events
    assert [r[0] for r in results] == ["tick", "tick"]
    assert [c["time"] for c in calls] == ["2026-11-28T00:01:00Z", "2026-11-28T00:02:00Z"]


def test_first_failure_follows_lambda_rules() -> None:
    seqs = ["10", "11", "12"]
    # GIVEN responses WHEN interpreted THEN success, lowest failure, or whole batch
    assert first_failure(None, seqs) is None
    assert first_failure({"batchItemFailures": []}, seqs) is None
    assert (
        first_failure(
            {"batchItemFailures": [{"itemIdentifier": "12"}, {"itemIdentifier": "11"}]}, seqs
        )
        == 1
    )
    assert first_failure({"batchItemFailures": [{"itemIdentifier": ""}]}, seqs) == 0
    assert first_failure({"batchItemFailures": [{"itemIdentifier": "99"}]}, seqs) == 0


def test_lambda_record_encodes_data_and_ids() -> None:
    # GIVEN a GetRecords record WHEN turned into a Lambda record
    rec = {
        "SequenceNumber": "4955",
        "PartitionKey": "user-1",
        "Data": b'{"a": 1}\n{"b": 2}',
        "ApproximateArrivalTimestamp": T0,
    }
    out = lambda_record(
        rec,
        shard_id="shardId-000000000001",
        stream_arn="arn:aws:kinesis:us-east-1:1:stream/s",
        region="us-east-1",
        role_arn="arn:aws:iam::1:role/r",
    )
    # THEN data is base64 of the exact bytes and the ids follow Lambda's format
    assert base64.b64decode(out["kinesis"]["data"]) == rec["Data"]
    assert out["eventID"] == "shardId-000000000001:4955"
    assert out["kinesis"]["approximateArrivalTimestamp"] == T0.timestamp()


def test_local_env_has_fake_credentials_and_service_overrides() -> None:
    # GIVEN an emulator endpoint and a Glue override WHEN the env is built
    env = local_env("http://127.0.0.1:1", {"glue": "http://127.0.0.1:2"})
    # THEN boto3 will route every service to it, Glue to the override, with fake keys
    assert env["AWS_ENDPOINT_URL"] == "http://127.0.0.1:1"
    assert env["AWS_ENDPOINT_URL_GLUE"] == "http://127.0.0.1:2"
    assert env["AWS_ACCESS_KEY_ID"] == "test" and env["AWS_DEFAULT_REGION"]


def test_answers_print_as_tables_and_json_ready() -> None:
    # GIVEN answers with a Decimal sum WHEN made plain and formatted
    answers = plain(
        {
            "q1": {"potion": Decimal("3"), "shield": 0, "sword": 1},
            "q2": {"g": 2},
            "q3": [("u1", 5)],
            "q4": [],
            "q5": [["u1", 2]],
            "q6": [["u2", 1]],
            "q7": 4,
        }
    )
    text = format_answers(answers)
    # THEN JSON types are plain and every question has its table
    assert answers["q1"]["potion"] == 3 and type(answers["q1"]["potion"]) is int
    assert answers["q3"] == [["u1", 5]]
    assert "Q4." in text and "(none)" in text and "  4" in text
