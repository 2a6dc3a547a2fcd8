"""Fuzz: 1,000+ seeded hostile requests against ``chalice local`` on the embedded stack.

With and without keys (the application's, another application's, revoked, wrong, malformed,
8 KB long, none), batches of mutated events (invalid UTF-8, escaped and look-alike keys,
unknown fields up to 200 KB, dates from year 1 to 9999, NaN, truncation, ...), broken
envelopes and the single-event route. Required:

* no 5xx, and every refusal of a key is a 401/403 with a JSON body;
* differential: for every event of a batch the API judged one by one, its verdict equals the
  consumer decoder's verdict on the same bytes (as a stream line received now) — except
  events carrying a literal ``received_at``/``backfill``, which the API overwrites and the
  consumer trusts by design (they are checked by the read-back instead);
* read-back: every line the API put on the stream is accepted by the consumer's decoder (0
  contract-invalid events accepted), carries the key's application and no backfill marker;
* the server answers afterwards.

``GAMEPIPE_FUZZ_SEED`` and ``GAMEPIPE_FUZZ_REQUESTS`` change the seed and the count.
"""

from __future__ import annotations

import json
import os
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3
import pytest
import requests

from chalicelib.consumer.decode import KinesisRecord, decode_batch
from chalicelib.settings import Settings
from tests.helpers_fuzz import FuzzRequest, Hostile

SEED = int(os.environ.get("GAMEPIPE_FUZZ_SEED", "13"))
REQUESTS = int(os.environ.get("GAMEPIPE_FUZZ_REQUESTS", "1000"))
TRUSTED_KEYS = (b'"received_at"', b'"backfill"')  # the stream trusts them, the API does not


@pytest.fixture(scope="module")
def keys(embedded_stack: Any) -> dict[str, Any]:
    """The stack's application key, a second application's, a revoked one, the ids."""
    from gamepipe.applications import open_store

    store = open_store(embedded_stack.settings)
    other, other_key = store.create("fuzz other game")
    gone, gone_key = store.create("fuzz revoked")
    store.revoke(gone.application_id)
    valid = os.environ["GAMEPIPE_API_KEY"]
    return {
        "valid": valid,
        "bearer": f"Bearer {valid}",
        "other_app": other_key,
        "empty": "",
        "malformed": "gpk.nope",
        "wrong_secret": valid[:-6] + "AAAAAA",
        "revoked": gone_key,
        "huge": "g" * 8000,
        "apps": {embedded_stack.application_id, other.application_id},
    }


def _send(base: str, request: FuzzRequest, keys: dict[str, Any]) -> tuple[int, bytes]:
    headers = dict(request.headers)
    if request.key_mode != "none":
        headers["Authorization"] = keys[request.key_mode]
    # a connection per request: chalice local stalls on kept-alive small replies
    reply = requests.post(
        base + request.path,
        data=request.body,
        headers={**headers, "Connection": "close"},
        timeout=60,
    )
    return reply.status_code, reply.content


def _consumer_accepts(raw: bytes, settings: Settings) -> bool:
    """The consumer decoder's verdict on one event's bytes as a stream line received now."""
    line = raw.replace(b"\n", b" ")  # NDJSON framing: the API replaces them the same way
    batch = decode_batch(
        [KinesisRecord("shardId-fuzz", "1", line, time.time())], limits=settings.limits
    )
    return len(batch.events) == 1 and not batch.dead_letters


def _stream_lines(stack: Any) -> list[KinesisRecord]:
    kinesis = boto3.client("kinesis")
    out = []
    for shard in kinesis.list_shards(StreamName=stack.settings.stream_name)["Shards"]:
        it = kinesis.get_shard_iterator(
            StreamName=stack.settings.stream_name,
            ShardId=shard["ShardId"],
            ShardIteratorType="TRIM_HORIZON",
        )["ShardIterator"]
        while it:
            page = kinesis.get_records(ShardIterator=it, Limit=10_000)
            out += [
                KinesisRecord(shard["ShardId"], r["SequenceNumber"], r["Data"],
                              r["ApproximateArrivalTimestamp"].timestamp())
                for r in page["Records"]
            ]  # fmt: skip
            it = page.get("NextShardIterator") if page["Records"] else None
    return out


def test_hostile_requests_get_no_5xx_and_the_api_agrees_with_the_consumer(
    embedded_stack: Any, keys: dict[str, Any]
) -> None:
    # GIVEN 1,000 seeded hostile requests
    base, settings = embedded_stack.api_url, embedded_stack.settings
    batch = list(Hostile(SEED).requests(REQUESTS))
    assert len(batch) >= 1000 or REQUESTS < 1000
    # WHEN they are sent, four at a time
    with ThreadPoolExecutor(4) as pool:
        replies = list(pool.map(lambda r: _send(base, r, keys), batch))
    # THEN no reply is a 5xx
    statuses = Counter(status for status, _ in replies)
    server_errors = [(r.n, r.kind, s) for r, (s, _) in zip(batch, replies, strict=True) if s >= 500]
    assert not server_errors, server_errors[:10]
    # AND a missing, wrong, revoked, malformed or huge key is refused with a JSON body
    for request, (status, body) in zip(batch, replies, strict=True):
        if request.key_mode not in ("valid", "bearer", "other_app"):
            assert status in (401, 403), (request.n, request.key_mode, status, body[:200])
            assert isinstance(json.loads(body), dict)
    # AND for every event judged one by one, the API's verdict is the consumer's
    compared = accepted = 0
    disagreements = []
    for request, (_, body) in zip(batch, replies, strict=True):
        if request.events is None or request.key_mode not in ("valid", "bearer", "other_app"):
            continue
        reply = json.loads(body)
        if "rejected" not in reply or (reply.get("error") and not reply["rejected"]):
            continue  # refused as a whole (malformed envelope, too large): no per-event verdict
        rejected = {r["index"] for r in reply["rejected"]}
        for index, raw in enumerate(request.events):
            if any(k in raw for k in TRUSTED_KEYS):
                continue
            api_ok = index not in rejected
            compared += 1
            accepted += api_ok
            if api_ok != _consumer_accepts(raw, settings):
                disagreements.append((request.n, index, request.kind, api_ok, raw[:300]))
    assert not disagreements, disagreements[:5]
    assert compared > 1000 and 0 < accepted < compared
    # AND every line on the stream is one the consumer keeps, stamped with a key's application
    records = _stream_lines(embedded_stack)
    decoded = decode_batch(records, limits=settings.limits)
    assert not decoded.dead_letters, decoded.dead_letters[:3]
    assert {e.application_id for e in decoded.events} <= keys["apps"]
    assert not any(e.backfill for e in decoded.events)
    total_accepted = sum(
        json.loads(body).get("accepted", 0)
        for request, (status, body) in zip(batch, replies, strict=True)
        if status == 200
    )
    assert len(decoded.events) == total_accepted > 0
    # AND the server is alive and still accepts a valid request
    assert requests.get(base + "/health", timeout=10).status_code == 200
    print(
        f"\nfuzz seed {SEED}: {len(batch)} requests, statuses {dict(sorted(statuses.items()))}, "
        f"5xx 0, events compared {compared} (accepted {accepted}), stream lines "
        f"{len(decoded.events)}, accepted-invalid 0"
    )


def test_the_forged_level_10000_without_a_key_and_year_1_with_a_key_are_refused(
    embedded_stack: Any,
) -> None:
    base = embedded_stack.api_url
    # GIVEN the forged event, and a valid event dated year 1
    forged = {"event_type": "level_up", "userid": "user-0001", "level": 10000, "attack": 1,
              "defense": 1, "health": 1, "event_ts": "2026-01-01T00:00:00Z"}  # fmt: skip
    ancient = {**forged, "level": 2, "event_ts": "0001-01-01T00:00:00Z"}
    key = {"Authorization": os.environ["GAMEPIPE_API_KEY"]}
    # WHEN the first is sent without a key and the second with the application's key
    anonymous = requests.post(base + "/v1/events", json={"events": [forged]}, timeout=30)
    dated = requests.post(base + "/v1/events", json={"events": [ancient]}, headers=key, timeout=30)
    # THEN both are refused: 401, and 400 with the window's reason
    assert anonymous.status_code == 401 and anonymous.json()
    assert dated.status_code == 400
    assert "more than 45 days before" in dated.json()["rejected"][0]["reason"]


def test_a_key_from_apps_create_every_bad_input_gets_a_4xx_with_a_reason(
    embedded_stack: Any,
) -> None:
    # GIVEN a key made by `gamepipe apps create NAME --format json` for the running stack
    from click.testing import CliRunner

    from gamepipe.cli import main
    from tests.helpers_ingest import load_events, recent

    created = CliRunner().invoke(main, ["apps", "create", "acceptance", "--format", "json"])
    assert created.exit_code == 0, created.output
    headers = {"Authorization": json.loads(created.output)["api_key"]}
    valid = recent(load_events("valid")["find_treasure"])
    # AND every stored invalid event, plus the rules' breakers: dates outside the window,
    # a 200 KB unknown field, a disguised key, invalid UTF-8 in an unknown field
    bodies = [json.dumps({"events": [e]}).encode() for e in load_events("invalid").values()]
    bodies += [
        json.dumps({"events": [{**valid, "event_ts": ts}]}).encode()
        for ts in ("0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z")
    ]
    bodies.append(json.dumps({"events": [{**valid, "blob": "b" * 200_000}]}).encode())
    raw = json.dumps(valid).encode()[:-1]
    bodies.append(b'{"events":[' + raw + b',"r\\u0065ceived_at":"2026-01-01T00:00:00Z"}]}')
    bodies.append(b'{"events":[' + raw + b',"extra":"\xff"}]}')
    # WHEN each is posted with the key
    for body in bodies:
        reply = requests.post(
            embedded_stack.api_url + "/v1/events",
            data=body,
            headers={**headers, "Content-Type": "application/json"},
            timeout=30,
        )
        # THEN a 4xx whose body says why
        assert 400 <= reply.status_code < 500, (reply.status_code, body[:200])
        reasons = [r["reason"] for r in reply.json().get("rejected", [])] or [reply.json()["error"]]
        assert all(reasons), body[:200]
    # AND the valid event is accepted with the same key
    ok = requests.post(embedded_stack.api_url + "/v1/events", json={"events": [valid]},
                       headers=headers, timeout=30)  # fmt: skip
    assert ok.status_code == 200 and ok.json()["accepted"] == 1
