"""The ingest routes through chalice.test.Client, writing to a moto Kinesis stream."""

from __future__ import annotations

import json
from typing import Any

import pytest
from chalice.test import Client
from moto import mock_aws

from tests.helpers_ingest import FAKE_ENV, load_events, ndjson_lines, recent, use_applications

# The fixtures dated now (they are from 2021: outside the API's event-time window).
VALID = {name: recent(event) for name, event in load_events("valid").items()}
INVALID = load_events("invalid")
STREAM = "ingest-functional"
BASE = {"Content-Type": "application/json", "Host": "user-0053.comcast.com", "User-Agent": "ab/2.3"}
JSON = dict(BASE)  # + the application's key, set by the app_module fixture


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
        app_id, key = use_applications(monkeypatch, module, aws.client("dynamodb"))
        monkeypatch.setitem(JSON, "Authorization", key)
        monkeypatch.setattr(module, "APPLICATION_ID", app_id, raising=False)
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


# --- only a game's own clients can write ------------------------------------------------


def _landed(app_module) -> list[dict[str, Any]]:
    return [ev for _, _, data in _read_stream(app_module._kinesis()) for ev in ndjson_lines(data)]


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        (BASE, 401),  # no key: the gateway answers before the authorizer runs
        ({**BASE, "Authorization": ""}, 403),  # API Gateway: 401 (empty token); chalice: 403
        ({**BASE, "Authorization": "not-a-key"}, 403),
        ({**BASE, "Authorization": "gpk.6b1c8a52-7a3e-4c1e-9f0e-0000000000aa." + "a" * 43}, 403),
    ],
)
def test_no_key_or_a_wrong_key_is_401_or_403_json_and_nothing_lands(
    client, app_module, headers, status
):
    # GIVEN the forged level-10000 event of the issue
    forged = {**VALID["level_up"], "userid": "user-0001", "level": 10000}
    # WHEN posted without the application's key, to both routes
    batch = _post(client, {"events": [forged]}, headers=headers)
    single = _post(client, {"userid": "user-0001"}, headers=headers, path="/v1/events/level_up")
    # THEN each is refused with a JSON body, never a 5xx, and the stream stays empty
    for response in (batch, single):
        assert response.status_code == status, response.body
        assert json.loads(response.body)
    assert _landed(app_module) == []


def test_revoked_and_rotated_keys_are_refused(client, app_module):
    # GIVEN two more applications: one revoked, one whose key was rotated (neither key used
    # before, so no cache holds a verdict for them)
    store = _authorizer_store(app_module)
    (gone, gone_key), (moved, old_key) = store.create("gone"), store.create("moved")
    store.revoke(gone.application_id)
    _, new_key = store.rotate(moved.application_id)

    # WHEN each key posts an event
    def post(key: str):
        return _post(client, {"events": [VALID["find_treasure"]]}, {**BASE, "Authorization": key})

    # THEN the revoked and the replaced key get 403, the new key 200
    assert post(gone_key).status_code == 403
    assert post(old_key).status_code == 403
    assert post(new_key).status_code == 200
    assert post(f"Bearer {new_key}").status_code == 200


def _authorizer_store(app_module):
    return app_module._authorizer().store


def test_application_is_stamped_and_a_clients_own_value_overwritten(client, app_module):
    # GIVEN events claiming another application, a server time and the right to backfill
    claims = {"application_id": "someone-else", "received_at": "2001-01-01T00:00:00Z",
              "backfill": True}  # fmt: skip
    events = [{**VALID["find_treasure"], **claims}, VALID["defeat_enemy"]]
    # WHEN posted with this application's key
    response = _post(client, {"events": events})
    single = _post(client, {"userid": "user-0002", **claims}, path="/v1/events/find_treasure")
    # THEN every line carries the key's application, the server's time and no backfill
    assert response.status_code == single.status_code == 200, response.body
    landed = _landed(app_module)
    assert len(landed) == 3
    for ev in landed:
        assert ev["application_id"] == app_module.APPLICATION_ID
        assert ev["received_at"] != "2001-01-01T00:00:00Z" and "backfill" not in ev


@pytest.mark.parametrize(
    ("change", "why"),
    [
        ({"event_ts": "0001-01-01T00:00:00Z"}, "more than 45 days before"),
        ({"event_ts": "9999-12-31T23:59:59Z"}, "more than 1 day after"),
        ({"extra": "x" * 200_000}, "unknown fields take"),
    ],
)
def test_dates_outside_the_window_and_a_200kb_unknown_field_are_refused(
    client, app_module, change, why
):
    # GIVEN a valid event changed to break one rule, next to a valid one
    events = [{**VALID["join_guild"], **change}, VALID["find_treasure"]]
    # WHEN posted with the key
    body = json.loads(_post(client, {"events": events}).body)
    # THEN only it is rejected, with the reason
    assert [r["index"] for r in body["rejected"]] == [0] and why in body["rejected"][0]["reason"]
    assert body["accepted"] == 1


@pytest.mark.parametrize(
    ("raw", "why"),
    [
        (b',"r\\u0065ceived_at":"2026-01-01T00:00:00Z"}', "spells the field 'received_at'"),
        (b',"extra":"\xff\xfe"}', "not valid UTF-8"),
    ],
)
def test_disguised_keys_and_invalid_utf8_are_refused_by_the_api(client, app_module, raw, why):
    # GIVEN raw event bytes the consumer would dead-letter (the API said 200 before)
    event = json.dumps(VALID["find_treasure"]).encode()[:-1] + raw
    body = b'{"events": [' + event + b"]}"
    # WHEN posted THEN 400 with the contract's reason, nothing written
    response = _post(client, body)
    assert response.status_code == 400
    assert why in json.loads(response.body)["rejected"][0]["reason"]
    assert _landed(app_module) == []


def test_an_application_allowed_to_backfill_may_send_old_events(client, app_module):
    # GIVEN an application allowed to backfill
    store = _authorizer_store(app_module)
    app, key = store.create("importer", allow_backfill=True)
    headers = {**BASE, "Authorization": key}
    old = {**VALID["find_treasure"], "event_ts": "2021-08-06T03:08:55Z"}
    future = {**VALID["find_treasure"], "event_ts": "9999-01-01T00:00:00Z"}
    # WHEN it sends a 2021 event and one from the far future
    body = json.loads(_post(client, {"events": [old, future]}, headers).body)
    # THEN the old one is accepted and marked as backfill; the future one is still refused
    assert body["accepted"] == 1 and [r["index"] for r in body["rejected"]] == [1]
    (ev,) = _landed(app_module)
    assert ev["backfill"] is True and ev["application_id"] == app.application_id
