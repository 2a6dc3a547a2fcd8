"""Ingest logic without AWS: validation, server fields, NDJSON records, status codes."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import msgspec
import pytest

from chalicelib.contract import decode_event
from chalicelib.ingest import ClientInfo, encode_records, ingest_events, to_response
from chalicelib.ingest.lines import new_event_id
from chalicelib.kinesis_writer import MAX_RECORD_BYTES, group_records
from chalicelib.settings import Settings
from tests.helpers_ingest import FakeKinesis, load_events, ndjson_lines

VALID = load_events("valid")
INVALID = load_events("invalid")
APP_ID = "6b1c8a52-7a3e-4c1e-9f0e-0000000000aa"
INFO = ClientInfo(
    host="user-0053.comcast.com",
    user_agent="ApacheBench/2.3",
    source_ip="10.0.0.1",
    application_id=APP_ID,
)
NOW = datetime(2021, 8, 6, 3, 9, 0, 123456, tzinfo=UTC)
SETTINGS = Settings(put_max_attempts=3)


def _batch(events, **kw):
    fake = FakeKinesis(**kw)
    body = json.dumps({"events": events}).encode()
    return ingest_events(body, INFO, SETTINGS, fake, now=NOW), fake


def test_client_info_from_chalice_style_request():
    # GIVEN headers in any case and an API Gateway context
    info = ClientInfo.from_request(
        {"Host": "h.example", "USER-AGENT": "game/1.0"}, {"identity": {"sourceIp": "1.2.3.4"}}
    )
    # THEN host, user agent and source ip are picked up
    assert info == ClientInfo("h.example", "game/1.0", "1.2.3.4")
    assert ClientInfo.from_request(None, None) == ClientInfo()


def test_valid_batch_lands_with_server_fields_and_extra_fields_kept():
    # GIVEN every valid fixture in one request
    events = list(VALID.values())
    result, fake = _batch(events)
    # THEN all are accepted, in request order, with their ids (or assigned ones)
    assert result.status == 200
    assert result.rejected == [] and result.failed == []
    assert len(result.event_ids) == len(events)
    for ev, eid in zip(events, result.event_ids, strict=True):
        assert eid == ev.get("event_id", eid)
    landed = list(fake.landed_events())
    assert len(landed) == len(events)
    for key, ev in landed:
        # partition key = userid; server fields set; the line is still a valid event
        assert key == ev["userid"]
        assert ev["received_at"] == "2021-08-06T03:09:00.123456Z"
        assert ev["host"] == INFO.host and ev["user_agent"] == INFO.user_agent
        decode_event(json.dumps(ev).encode())
    extra = next(ev for _, ev in landed if ev.get("boss"))
    assert extra["boss"] == {"name": "dragon", "hp": 9000} and extra["tags"] == ["a", "b"]


def test_client_values_of_server_fields_are_overridden():
    # GIVEN a client that sends host/user_agent/received_at itself
    ev = {**VALID["find_treasure"], "host": "evil", "user_agent": "x", "received_at": None}
    result, fake = _batch([ev])
    # THEN the line has exactly one of each key, with the server's values
    (_, data) = fake.landed[0]
    assert data.count(b'"host"') == 1
    (line,) = ndjson_lines(data)
    assert line["host"] == INFO.host and line["user_agent"] == INFO.user_agent
    assert line["received_at"] == "2021-08-06T03:09:00.123456Z"
    assert result.status == 200


def test_event_id_assigned_when_absent_or_null():
    ev = VALID["minimal_no_event_id"]
    result, fake = _batch([ev, {**ev, "event_id": None}])
    ids = result.event_ids
    # THEN each gets a fresh UUID, reported in the response and written in the line
    assert len(set(ids)) == 2
    written = [e["event_id"] for _, e in fake.landed_events()]
    assert sorted(written) == sorted(ids)
    assert all(b'"event_id"' in data and data.count(b'"event_id"') == 2 for _, data in fake.landed)


def test_pretty_printed_events_become_single_lines():
    # GIVEN a body with newlines between tokens (pretty-printed JSON)
    body = json.dumps({"events": [VALID["level_up"], VALID["take_potion"]]}, indent=2).encode()
    fake = FakeKinesis()
    result = ingest_events(body, INFO, SETTINGS, fake, now=NOW)
    # THEN one record per player holds one event per line
    assert result.status == 200
    (key, data), *rest = fake.landed
    assert rest == [] and key == "user-0053"
    assert [e["event_type"] for e in ndjson_lines(data)] == ["level_up", "take_potion"]


def test_invalid_events_rejected_one_by_one_valid_ones_accepted():
    # GIVEN valid and invalid events interleaved
    events = [VALID["purchase_sword"], INVALID["quoted_userid"], VALID["level_up"], 42]
    result, fake = _batch(events)
    # THEN the response names each rejected index with a reason
    assert result.status == 200
    assert [r["index"] for r in result.rejected] == [1, 3]
    assert "userid" in result.rejected[0]["reason"]
    assert "object" in result.rejected[1]["reason"]
    assert result.event_ids == [VALID["purchase_sword"]["event_id"], VALID["level_up"]["event_id"]]
    assert len(list(fake.landed_events())) == 2


def test_all_invalid_is_400_and_nothing_written():
    result, fake = _batch(list(INVALID.values()))
    assert result.status == 400
    assert len(result.rejected) == len(INVALID)
    assert fake.calls == []


@pytest.mark.parametrize(
    ("body", "status", "words"),
    [
        (b'{"events": [', 400, "malformed JSON"),
        (b"", 400, "malformed JSON"),
        (b"\xff\xfe", 400, "malformed JSON"),
        (b"[]", 400, "events"),
        (b'{"evts": []}', 400, "events"),
        (b'{"events": {"a": 1}}', 400, "events"),
        (b'{"events": []}', 400, "empty"),
    ],
)
def test_bad_envelopes_are_400(body, status, words):
    result = ingest_events(body, INFO, SETTINGS, FakeKinesis(), now=NOW)
    assert result.status == status
    assert words in (result.error or "")


def test_too_many_events_is_413():
    events = [VALID["find_treasure"]] * (SETTINGS.max_events_per_request + 1)
    result, fake = _batch(events)
    assert result.status == 413 and fake.calls == []


def test_too_large_body_is_413():
    big = {**VALID["find_treasure"], "description": "x" * 1000}
    body = json.dumps({"events": [big] * 1100}).encode()
    assert len(body) > SETTINGS.max_body_bytes
    result = ingest_events(body, INFO, SETTINGS, FakeKinesis(), now=NOW)
    assert result.status == 413 and "limit" in (result.error or "")


def test_records_group_events_per_player():
    # GIVEN 30 events from 3 players
    events = [
        {**VALID["defeat_enemy"], "userid": f"user-{i % 3}", "event_id": None} for i in range(30)
    ]
    result, fake = _batch(events)
    # THEN one PutRecords call with one record per player, each holding its 10 events
    assert result.accepted == 30
    assert len(fake.calls) == 1
    assert sorted(r["PartitionKey"] for r in fake.calls[0]) == ["user-0", "user-1", "user-2"]
    for key, data in fake.landed:
        lines = ndjson_lines(data)
        assert len(lines) == 10 and {e["userid"] for e in lines} == {key}


def test_group_records_splits_at_the_record_limit():
    # GIVEN lines of one player that add up to more than 1 MiB
    line = b"x" * 300_000
    records, members = group_records([("p", line)] * 7)
    # THEN they are split into records that each fit, keeping every line once
    assert all(len(d) + 1 <= MAX_RECORD_BYTES for _, d in records)
    assert sorted(i for m in members for i in m) == list(range(7))
    assert [len(m) for m in members] == [3, 3, 1]


def test_failed_records_are_retried_until_they_land():
    # GIVEN a stream that fails the 2nd record of the first call
    events = [{**VALID["find_treasure"], "userid": f"user-{i}", "event_id": None} for i in range(3)]
    result, fake = _batch(events, fail_plan={0: {1}})
    # THEN a second call resends just that record and everything is accepted
    assert result.status == 200 and result.failed == []
    assert [len(c) for c in fake.calls] == [3, 1]
    assert sorted(k for k, _ in fake.landed) == ["user-0", "user-1", "user-2"]


def test_records_still_failing_are_reported_and_503_when_nothing_landed():
    # (3 attempts: the backoff sleeps add up to well under a second)
    events = [VALID["find_treasure"], VALID["defeat_enemy"]]
    result, fake = _batch(events, always_fail=True)
    assert result.status == 503
    assert len(fake.calls) == SETTINGS.put_max_attempts
    assert [f["index"] for f in result.failed] == [0, 1]
    assert result.failed[0]["reason"] == "ProvisionedThroughputExceededException"
    response = to_response(result)
    assert response.status_code == 503 and response.headers["Retry-After"] == "1"


def test_partial_write_failure_is_200_with_failed_list():
    events = [
        {**VALID["find_treasure"], "userid": "a", "event_id": None},
        {**VALID["find_treasure"], "userid": "b", "event_id": None},
    ]
    plan = {call: {1} for call in range(SETTINGS.put_max_attempts)}
    plan.update({call: {0} for call in range(1, SETTINGS.put_max_attempts)})
    result, _ = _batch(events, fail_plan=plan)
    assert result.status == 200
    assert result.accepted == 1 and len(result.failed) == 1


def test_to_response_shape():
    result, _ = _batch([VALID["find_treasure"], INVALID["naive_timestamp"]])
    response = to_response(result)
    body = json.loads(response.body)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"
    assert body["accepted"] == 1
    assert body["event_ids"] == [VALID["find_treasure"]["event_id"]]
    assert body["rejected"][0]["index"] == 1 and body["failed"] == []


def test_single_event_route_takes_type_from_path_and_defaults_ts():
    fake = FakeKinesis()
    body = (
        b'{"userid": "user-0012", "description": "very sharp", "amount_purchased": 2, "price": 5}'
    )
    result = ingest_events(body, INFO, SETTINGS, fake, event_type="purchase_sword", now=NOW)
    assert result.status == 200
    ((key, ev),) = list(fake.landed_events())
    assert key == "user-0012" and ev["event_type"] == "purchase_sword"
    assert ev["event_ts"] == ev["received_at"] == "2021-08-06T03:09:00.123456Z"
    assert ev["event_id"] == result.event_ids[0]


@pytest.mark.parametrize(
    ("event_type", "body", "status"),
    [
        ("purchase_dragon", b'{"userid": "u"}', 404),
        ("find_treasure", b"{", 400),
        ("find_treasure", b"[1]", 400),
        ("find_treasure", b"{}", 400),  # userid is required in the body
        ("find_treasure", b'{"userid": "u", "event_type": "level_up"}', 400),
        (
            "purchase_sword",
            b'{"userid": "u", "item_type": "potion", "amount_purchased": 1, "price": 1}',
            400,
        ),
    ],
)
def test_single_event_route_errors(event_type, body, status):
    fake = FakeKinesis()
    result = ingest_events(body, INFO, SETTINGS, fake, event_type=event_type, now=NOW)
    assert result.status == status and fake.calls == []


def test_encode_records_matches_api_format():
    # GIVEN the same events via encode_records (generator direct mode) and via the API
    events = [VALID["purchase_sword"], VALID["level_up"], {**VALID["level_up"], "userid": "x"}]
    direct = encode_records(events, INFO, NOW)
    _, fake = _batch(events)

    # THEN the records carry the same partition keys and the same events
    def norm(records):
        return sorted(
            (k, json.dumps(e, sort_keys=True)) for k, d in records for e in ndjson_lines(d)
        )

    assert norm(direct) == norm(fake.landed)


def test_encode_records_keeps_invalid_events_with_fallback_key():
    records = encode_records([{"event_type": "level_up", "userid": 5}], INFO, NOW)
    ((key, data),) = records
    assert key == "unknown"
    assert msgspec.json.decode(data)["userid"] == 5


def test_server_event_ids_are_uuid4():
    import uuid

    ids = {new_event_id() for _ in range(500)}
    assert len(ids) == 500
    for i in ids:
        u = uuid.UUID(i)
        assert str(u) == i and u.version == 4 and u.variant == uuid.RFC_4122


_TREASURE = b'{"event_type":"find_treasure","userid":"u","event_ts":"2021-08-06T00:00:00Z"'


@pytest.mark.parametrize(
    "body",
    [
        b'{"events": [' + b"[" * 5000 + b"]" * 5000 + b"]}",  # nested too deeply
        b'{"events": [' + _TREASURE + b',"description":"\xff"}]}',  # invalid UTF-8 in a string
        b'{"events": [' + _TREASURE + b',"description":"\\ud800"}]}',  # lone surrogate
        b'{"events": [' + _TREASURE + b',"x":NaN}]}',
        b"\xef\xbb\xbf" + b'{"events": []}',  # BOM
        b"null",
        b'{"events": null}',
    ],
)
def test_odd_bodies_are_4xx_never_an_exception(body):
    # GIVEN a body a fuzzer (or a broken client) might send WHEN ingested
    result = ingest_events(body, INFO, SETTINGS, FakeKinesis(), now=NOW)
    # THEN it is a client error with a reason, not an exception (which would be a 500)
    assert 400 <= result.status < 500
    assert result.error or result.rejected


@pytest.mark.parametrize("body", [b"[" * 5000 + b"]" * 5000, b'{"userid": "\\ud800"}', b"null"])
def test_odd_single_bodies_are_4xx(body):
    result = ingest_events(body, INFO, SETTINGS, FakeKinesis(), event_type="find_treasure", now=NOW)
    assert 400 <= result.status < 500


def test_event_too_big_for_a_record_is_rejected_not_a_failed_call():
    # GIVEN an event that fits the body limit but not a Kinesis record once stamped,
    # next to a normal one
    big = {**VALID["find_treasure"], "blob": "x" * (MAX_RECORD_BYTES - 200)}
    body = json.dumps({"events": [big, VALID["level_up"]]}).encode()
    fake = FakeKinesis()
    settings = Settings(max_body_bytes=2 * MAX_RECORD_BYTES)
    # WHEN ingested
    result = ingest_events(body, INFO, settings, fake, now=NOW)
    # THEN the big one is rejected by index, the other lands, and no call carried the big one
    assert result.status == 200
    assert [r["index"] for r in result.rejected] == [0]
    assert "bytes" in result.rejected[0]["reason"]
    assert result.event_ids == [VALID["level_up"]["event_id"]]
    assert all(len(r["Data"]) < MAX_RECORD_BYTES for call in fake.calls for r in call)
