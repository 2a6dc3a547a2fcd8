"""Local stack pieces against moto: resources (idempotent), the embedded target's lifecycle."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import boto3
import requests
from moto import mock_aws

from chalicelib.settings import Settings
from chalicelib.statements import VIEWS
from chalicelib.tables import TABLES
from gamepipe.stack.procs import alive
from gamepipe.stack.resources import create_resources
from gamepipe.stack.targets import make_target


def test_create_resources_is_idempotent(fake_aws_env: None) -> None:
    with mock_aws():
        clients: dict[str, Any] = {
            s: boto3.client(s, region_name="us-east-1") for s in ("kinesis", "s3", "glue")
        }
        settings = Settings(
            stream_name="s1", data_bucket="data-1", reports_bucket="reports-1", glue_database="g1"
        )
        # GIVEN resources created once WHEN created again
        create_resources(settings, shards=3, **clients)
        out = create_resources(settings, shards=3, **clients)
        # THEN the stream is ACTIVE with its shards, buckets and Glue tables exist once
        summary = clients["kinesis"].describe_stream_summary(StreamName="s1")[
            "StreamDescriptionSummary"
        ]
        assert summary["StreamStatus"] == "ACTIVE" and summary["OpenShardCount"] == 3
        names = {b["Name"] for b in clients["s3"].list_buckets()["Buckets"]}
        assert {"data-1", "reports-1"} <= names
        tables = {t["Name"] for t in clients["glue"].get_tables(DatabaseName="g1")["TableList"]}
        assert tables == set(TABLES) | {v.name for v in VIEWS}
        assert set(out["glue_tables"]) == set(TABLES)


def test_embedded_target_serves_and_stops(tmp_path: Path, fake_aws_env: None) -> None:
    # GIVEN the embedded target WHEN started
    target = make_target("embedded", tmp_path)
    env = target.start()
    try:
        pid = target.pids["moto"]
        # THEN its env points at a live moto server that serves Kinesis
        assert env["AWS_ENDPOINT_URL"].startswith("http://127.0.0.1:")
        kinesis = boto3.client(
            "kinesis", endpoint_url=env["AWS_ENDPOINT_URL"], region_name="us-east-1"
        )
        assert kinesis.list_streams()["StreamNames"] == []
    finally:
        target.stop()
    # AND after stop the server is gone
    assert not alive(pid)
    try:
        requests.get(env["AWS_ENDPOINT_URL"], timeout=1)
        reachable = True
    except requests.ConnectionError:
        reachable = False
    assert not reachable


def test_aws_target_starts_nothing(tmp_path: Path) -> None:
    # GIVEN the aws target WHEN started THEN it adds no env and owns no process
    target = make_target("aws", tmp_path)
    assert target.start() == {} and target.pids == {}
