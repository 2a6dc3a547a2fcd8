"""The ingest routes through chalice.test.Client, writing to a moto Kinesis stream."""

from __future__ import annotations

import json
from typing import Any

import pytest
from chalice.test import Client
from moto import mock_aws

from tests.helpers_ingest import FAKE_ENV, load_events, ndjson_lines

VALID = load_events("valid")
INVALID = load_events("invalid")
STREAM = "ingest-functional"
JSON = {"Content-Type": "application/json", "Host": "user-0053.comcast.com", "User-Agent": "ab/2.3"}


@pytest.fixture
def app_module(monkeypatch):
    """``app`` imported with this test's environment, inside a moto mock with a stream."""
    for k, v in {
        **FAKE_ENV,
        "GAMEPIPE_STREAM_NAME": STREAM,
        "GAMEPIPE_PUT_MAX_ATTEMPTS": "4",
    }.items():
        monkeypatch.setenv(k, v)
    for k in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_KINESIS"):
        monkeypatch.delenv(k, raising=False)
    with mock_aws():
        from chalicelib import aws
        from chalicelib.settings import Settings

        aws.reset()
        import app as module

        # app reads its settings at import time (maybe in another test's environment):
        # give it this test's settings and a client created inside this mock.
        monkeypatch.setattr(module, "SETTINGS", Settings.from_env())
        kinesis = aws.client("kinesis")
        monkeypatch.setattr(module, "_kinesis", lambda: kinesis)
        kinesis.create_stream(StreamName=STREAM, ShardCount=2)
        yield module
        aws.reset()


@pytest.fixture
def client(app_module):
    with Client(app_module.app) as c:
        yield c


def _read_stream(kinesis: Any) -> list[tuple[str, str, bytes]]:
    """(shard id, partition key, data) of every record in the stream."""
    out = []
    for shard in kinesis.list_shards(StreamName=STREAM)["Shards"]:
        it = kinesis.get_shard_iterator(
            StreamName=STREAM, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        for rec in kinesis.get_records(ShardIterator=it, Limit=10_000)["Records"]:
            out.append((shard["ShardId"], rec["PartitionKey"], rec["Data"]))
    return out


def _post(client: Client, events: Any, headers: dict[str, str] = JSON, path: str = "/v1/events"):
    body = events if isinstance(events, bytes) else json.dumps(events).encode()
    return client.http.post(path, headers=headers, body=body)


def test_events_land_in_kinesis_keyed_by_userid(client, app_module):
    # GIVEN 60 events from 6 players
    events = [
        {**VALID["defeat_enemy"], "userid": f"user-{i % 6:04d}", "event_id": None}
        for i in range(60)
    ]
    # WHEN posted in one request
    response = _post(client, {"events": events})
    # THEN all are accepted and the stream holds one NDJSON record per player
    assert response.status_code == 200, response.body
    body = json.loads(response.body)
    assert body["accepted"] == 60 and body["rejected"] == []
    records = _read_stream(app_module._kinesis())
    assert sorted(pk for _, pk, _ in records) == [f"user-{i:04d}" for i in range(6)]
    seen_ids = []
    for _, pk, data in records:
        lines = ndjson_lines(data)
        assert len(lines) == 10 and {ev["userid"] for ev in lines} == {pk}
        assert {ev["host"] for ev in lines} == {"user-0053.comcast.com"}
        assert {ev["user_agent"] for ev in lines} == {"ab/2.3"}
        seen_ids += [ev["event_id"] for ev in lines]
    assert sorted(seen_ids) == sorted(body["event_ids"])


def test_same_player_always_maps_to_the_same_shard(client, app_module):
    # GIVEN two requests for the same players WHEN both are posted
    for _ in range(2):
        events = [{**VALID["find_treasure"], "userid": f"p{i}", "event_id": None} for i in range(8)]
        assert _post(client, {"events": events}).status_code == 200
    # THEN each partition key lives on exactly one shard
    shards: dict[str, set[str]] = {}
    for shard, pk, _ in _read_stream(app_module._kinesis()):
        shards.setdefault(pk, set()).add(shard)
    assert len(shards) == 8 and all(len(s) == 1 for s in shards.values())


class FlakyKinesis:
    """Wraps the moto client; marks chosen records failed on the first PutRecords call."""

    def __init__(self, inner: Any, fail_first: set[int]):
        self.inner, self.fail_first, self.calls = inner, fail_first, 0

    def put_records(self, StreamName: str, Records: list[dict[str, Any]]) -> dict[str, Any]:
        self.calls += 1
        if self.calls > 1:
            return self.inner.put_records(StreamName=StreamName, Records=Records)
        keep = [r for i, r in enumerate(Records) if i not in self.fail_first]
        real = iter(self.inner.put_records(StreamName=StreamName, Records=keep)["Records"])
        results = [
            {"ErrorCode": "ProvisionedThroughputExceededException", "ErrorMessage": "slow down"}
            if i in self.fail_first
            else next(real)
            for i in range(len(Records))
        ]
        return {"FailedRecordCount": len(self.fail_first), "Records": results}


def test_partially_failed_put_is_retried_until_all_land(client, app_module, monkeypatch):
    # GIVEN a stream whose first PutRecords reports 2 of 5 records as throttled
    flaky = FlakyKinesis(app_module._kinesis(), fail_first={1, 3})
    monkeypatch.setattr(app_module, "_kinesis", lambda: flaky)
    events = [{**VALID["level_up"], "userid": f"u{i}", "event_id": None} for i in range(5)]
    # WHEN posted
    response = _post(client, {"events": events})
    # THEN the failed records were resent, every event landed exactly once
    body = json.loads(response.body)
    assert response.status_code == 200 and body["failed"] == []
    assert flaky.calls == 2
    landed = [
        ev["event_id"] for _, _, data in _read_stream(flaky.inner) for ev in ndjson_lines(data)
    ]
    assert sorted(landed) == sorted(body["event_ids"]) and len(landed) == 5


def test_invalid_events_rejected_by_index(client, app_module):
    events = [VALID["purchase_potion"], INVALID["naive_timestamp"], VALID["join_guild"]]
    response = _post(client, {"events": events})
    body = json.loads(response.body)
    assert response.status_code == 200
    assert body["accepted"] == 2
    assert [r["index"] for r in body["rejected"]] == [1]
    assert "timezone" in body["rejected"][0]["reason"]
    assert len(_read_stream(app_module._kinesis())) == 1  # both valid events are user-0053's


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (b'{"events": [}', 400),  # malformed JSON
        (b'"events"', 400),  # not an object
        (b'{"events": 1}', 400),  # events not a list
        (json.dumps({"events": [INVALID["quoted_userid"]]}).encode(), 400),  # all rejected
        (json.dumps({"events": [VALID["find_treasure"]] * 501}).encode(), 413),
        (b'{"events": ["' + b"x" * 1_100_000 + b'"]}', 413),
    ],
)
def test_client_errors_are_4xx(client, app_module, body, status):
    response = _post(client, body)
    assert response.status_code == status
    assert "error" in json.loads(response.body)
    assert _read_stream(app_module._kinesis()) == []


def test_wrong_content_type_is_415(client):
    # GIVEN a text/plain body WHEN posted THEN Chalice refuses it before our code runs
    headers = {**JSON, "Content-Type": "text/plain"}
    response = _post(client, {"events": [VALID["find_treasure"]]}, headers=headers)
    assert response.status_code == 415
    single = _post(client, {"userid": "u"}, headers=headers, path="/v1/events/find_treasure")
    assert single.status_code == 415


def test_json_content_type_with_charset_is_accepted(client):
    headers = {**JSON, "Content-Type": "application/json; charset=utf-8"}
    response = _post(client, {"events": [VALID["find_treasure"]]}, headers=headers)
    assert response.status_code == 200


def test_single_event_route(client, app_module):
    # GIVEN the seed's style: one event, type in the path, metadata in the body
    response = _post(
        client,
        {"userid": "user-0012", "guild_name": "Castle of Rock", "description": "joined"},
        path="/v1/events/join_guild",
    )
    assert response.status_code == 200, response.body
    ((_, pk, data),) = _read_stream(app_module._kinesis())
    (ev,) = ndjson_lines(data)
    assert pk == "user-0012" and ev["event_type"] == "join_guild"
    assert ev["event_id"] == json.loads(response.body)["event_ids"][0]


@pytest.mark.parametrize(
    ("path", "body", "status"),
    [
        ("/v1/events/purchase_dragon", {"userid": "u"}, 404),
        ("/v1/events/join_guild", {"userid": "u"}, 400),  # guild_name missing
        ("/v1/events/find_treasure", [1, 2], 400),
        ("/v1/events/find_treasure", b"{nope", 400),
    ],
)
def test_single_event_route_errors(client, app_module, path, body, status):
    response = _post(client, body, path=path)
    assert response.status_code == status
    assert _read_stream(app_module._kinesis()) == []


def test_missing_stream_is_503_not_a_crash(client, app_module):
    # GIVEN the stream is gone (a server-side condition, not client input)
    app_module._kinesis().delete_stream(StreamName=STREAM)
    response = _post(client, {"events": [VALID["find_treasure"]]})
    assert response.status_code == 503
    body = json.loads(response.body)
    assert body["failed"][0]["reason"] == "ResourceNotFoundException"
