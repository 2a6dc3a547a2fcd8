"""The ingest API over real HTTP: ``chalice local`` in front of a moto server's Kinesis."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests
from click.testing import CliRunner

from chalicelib.names import resource_names
from gamepipe.commands.generate import generate as generate_cmd
from gamepipe.generator import generate_events
from tests.helpers_ingest import (
    FAKE_ENV,
    ServerProcess,
    free_port,
    load_events,
    ndjson_lines,
    recent,
    register_application,
    wait_http,
)

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
CHALICE = Path(sys.executable).parent / "chalice"
MOTO_SERVER = Path(sys.executable).parent / "moto_server"
STREAM = resource_names("local").stream  # the local stage's stream (chalicelib/names.py)
APPLICATIONS = resource_names("local").applications_table
VALID = {name: recent(event) for name, event in load_events("valid").items()}


@pytest.fixture(scope="module")
def moto_url() -> Iterator[str]:
    """A moto server in its own process: its state is not shared with in-process moto."""
    port = free_port()
    server = ServerProcess([str(MOTO_SERVER), "-H", "127.0.0.1", "-p", str(port)])
    url = f"http://127.0.0.1:{port}"
    try:
        try:
            wait_http(url + "/moto-api/")
        except TimeoutError:
            pytest.fail(f"moto_server did not start: {server.stderr_tail()}")
        yield url
    finally:
        server.close()


@pytest.fixture(scope="module")
def kinesis(moto_url: str) -> Any:
    client = boto3.client(
        "kinesis",
        endpoint_url=moto_url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    client.create_stream(StreamName=STREAM, ShardCount=2)
    return client


@pytest.fixture(scope="module")
def dynamodb(moto_url: str) -> Any:
    return boto3.client(
        "dynamodb",
        endpoint_url=moto_url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


@pytest.fixture(scope="module")
def application(dynamodb: Any) -> tuple[str, str]:
    """An application registered in the moto server's table: (application_id, key)."""
    return register_application(dynamodb, APPLICATIONS, "e2e game")


@pytest.fixture(scope="module")
def auth(application: tuple[str, str]) -> dict[str, str]:
    """The header carrying the application's key."""
    return {"Authorization": application[1]}


@pytest.fixture(scope="module")
def api_url(moto_url: str, kinesis: Any) -> Iterator[str]:
    """``chalice local --stage local`` on a free port, its AWS calls going to moto."""
    port = free_port()
    # Per-service endpoint overrides in the caller's environment would beat ours: drop them.
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_ENDPOINT_URL")}
    env.update(FAKE_ENV, AWS_ENDPOINT_URL=moto_url)
    args = [str(CHALICE), "local", "--host", "127.0.0.1", "--port", str(port)]
    server = ServerProcess([*args, "--stage", "local", "--no-autoreload"], cwd=ROOT, env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        try:
            wait_http(url + "/health")
        except TimeoutError:
            pytest.fail(f"chalice local did not start: {server.stderr_tail()}")
        yield url
    finally:
        server.close()


def _stream_events(kinesis: Any) -> list[tuple[str, dict[str, Any]]]:
    out = []
    for shard in kinesis.list_shards(StreamName=STREAM)["Shards"]:
        it = kinesis.get_shard_iterator(
            StreamName=STREAM, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        for rec in kinesis.get_records(ShardIterator=it, Limit=10_000)["Records"]:
            out += [(rec["PartitionKey"], ev) for ev in ndjson_lines(rec["Data"])]
    return out


def test_batch_over_http_lands_in_the_stream(
    api_url: str, kinesis: Any, auth: dict[str, str], application: tuple[str, str]
):
    # GIVEN 200 generated events from 20 players, with a player-chosen event_id each
    events = list(generate_events(20, 200, seed=1, resend_fraction=0))
    # WHEN posted in one request over real HTTP with the application's key
    response = requests.post(
        api_url + "/v1/events",
        json={"events": events},
        headers={"User-Agent": "e2e-test/1.0", **auth},
        timeout=30,
    )
    # THEN all are accepted and each is in the stream under its player's key
    assert response.status_code == 200, response.text
    assert response.json()["accepted"] == 200
    landed = {ev["event_id"]: (key, ev) for key, ev in _stream_events(kinesis)}
    for sent in events:
        key, ev = landed[sent["event_id"]]
        assert key == sent["userid"]
        assert ev["user_agent"] == "e2e-test/1.0"
        assert ev["host"] == api_url.removeprefix("http://")
        assert ev["application_id"] == application[0]  # stamped from the key, server-side
        assert {k: ev[k] for k in sent} == sent  # the client's fields, extras included


def test_single_event_route_over_http(api_url: str, kinesis: Any, auth: dict[str, str]):
    body = {"userid": "user-0777", "description": "found a gem"}
    response = requests.post(
        api_url + "/v1/events/find_treasure", json=body, headers=auth, timeout=30
    )
    assert response.status_code == 200, response.text
    (event_id,) = response.json()["event_ids"]
    mine = [ev for _, ev in _stream_events(kinesis) if ev["event_id"] == event_id]
    assert len(mine) == 1 and mine[0]["userid"] == "user-0777"


@pytest.mark.parametrize(
    ("data", "content_type", "status"),
    [
        (b'{"events": [', "application/json", 400),
        (json.dumps({"events": [VALID["find_treasure"]]}), "text/plain", 415),
        (json.dumps({"events": [VALID["find_treasure"]] * 501}), "application/json", 413),
    ],
)
def test_client_errors_over_http(
    api_url: str, auth: dict[str, str], data: Any, content_type: str, status: int
):
    response = requests.post(
        api_url + "/v1/events",
        data=data,
        headers={"Content-Type": content_type, **auth},
        timeout=30,
    )
    assert response.status_code == status


def test_generator_cli_against_the_api(
    api_url: str, kinesis: Any, application: tuple[str, str], tmp_path: Path
):
    # GIVEN the generator with 10 % invalid events, 4 requests in flight, the key in
    # GAMEPIPE_API_KEY
    before = len(_stream_events(kinesis))
    summary = tmp_path / "summary.json"
    args = ["--users", "25", "--events", "600", "--seed", "3", "--batch-size", "50",
            "--concurrency", "4", "--target", api_url, "--bad-fraction", "0.1",
            "--summary-json", str(summary), "--quiet"]  # fmt: skip
    # WHEN it runs
    result = CliRunner().invoke(generate_cmd, args, env={"GAMEPIPE_API_KEY": application[1]})
    # THEN the API accepted the valid ones, rejected exactly the invalid ones, and the
    # stream grew by the accepted count
    assert result.exit_code == 0, result.output
    data = json.loads(summary.read_text())
    assert data["sent"] == 600 and data["failed"] == 0
    assert data["rejected"] == data["invalid_generated"] > 0
    assert data["accepted"] == 600 - data["rejected"]
    assert len(_stream_events(kinesis)) - before == data["accepted"]


def test_generator_without_a_key_is_a_usage_error(api_url: str):
    # GIVEN no --api-key and no GAMEPIPE_API_KEY WHEN the generator targets the API
    result = CliRunner().invoke(
        generate_cmd, ["--events", "5", "--target", api_url], env={"GAMEPIPE_API_KEY": ""}
    )
    # THEN it stops before sending, saying how to get a key
    assert result.exit_code == 2 and "gamepipe apps create" in result.output
