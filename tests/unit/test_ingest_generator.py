"""The load generator: deterministic, plausible, and honest about what it sent."""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner

from gamepipe.commands.generate import generate as generate_cmd
from gamepipe.generator import generate, generate_events
from gamepipe.generator.model import parse_weights
from gamepipe.generator.sender import KinesisTarget, open_target
from tests.helpers_ingest import FakeKinesis, assert_contract_verdicts

START = datetime(2021, 8, 6, tzinfo=UTC)


def _valid_in_order(gen):
    return [g.event for g in gen if g.bad_reason is None and not g.resend]


def test_same_seed_same_events_other_seed_other_events():
    a = list(generate_events(20, 500, 7, bad_fraction=0.1))
    b = list(generate_events(20, 500, 7, bad_fraction=0.1))
    c = list(generate_events(20, 500, 8, bad_fraction=0.1))
    assert a == b
    assert a != c
    assert len(a) == 500


def test_valid_events_pass_the_contract_and_bad_ones_fail():
    gen = list(generate(30, 3000, 1, bad_fraction=0.1, resend_fraction=0.05))
    bad = [g for g in gen if g.bad_reason]
    assert 200 < len(bad) < 400  # ~10 %
    assert_contract_verdicts(gen)
    # every kind of breakage shows up in a run this size
    assert len({g.bad_reason for g in bad}) >= 8


def test_event_id_and_event_ts_always_set_and_times_rise_within_the_window():
    events = _valid_in_order(generate(10, 1000, 3, start=START, days=2))
    stamps = [datetime.fromisoformat(e["event_ts"].replace("Z", "+00:00")) for e in events]
    assert all(e["event_id"] for e in events)
    assert stamps == sorted(stamps)
    assert stamps[0] >= START and stamps[-1] < START + timedelta(days=2)


def test_players_behave_plausibly():
    events = _valid_in_order(generate(15, 5000, 11))
    level = defaultdict(lambda: 1)
    potions = defaultdict(int)
    guild: dict[str, str] = {}
    switches = 0
    for e in events:
        u, t = e["userid"], e["event_type"]
        if "level" in e:
            # levels only rise (by one per level_up) and stats grow with them
            assert e["level"] >= level[u]
            assert e["level"] == level[u] + (1 if t == "level_up" else 0)
            level[u] = e["level"]
            assert e["attack"] == 200 * e["level"] and e["defense"] == 175 * e["level"]
            assert 1 <= e["health"] <= 80 + 20 * e["level"]
        if t == "purchase_potion":
            potions[u] += e["amount_purchased"]
        if t == "take_potion":
            potions[u] -= 1
            assert potions[u] >= 0  # nobody drinks a potion they did not buy
        if t == "join_guild":
            assert guild.get(u) != e["guild_name"]  # a join is a join or a switch
            switches += u in guild
            guild[u] = e["guild_name"]
        if t.startswith("purchase_"):
            assert e["item_type"] == t.removeprefix("purchase_")
    assert max(level.values()) > 3
    assert len(guild) > 5 and switches > 0


def test_resends_repeat_an_earlier_event_exactly():
    gen = list(generate(10, 2000, 5, resend_fraction=0.05))
    first: dict[str, dict] = {}
    resends = 0
    for g in gen:
        eid = g.event["event_id"]
        if g.resend:
            resends += 1
            assert first[eid] == g.event
        else:
            assert eid not in first
            first[eid] = g.event
    assert 50 < resends < 150


def test_weights_parse_and_zero_disables_a_type():
    w = parse_weights("purchase_sword=0,level_up=2")
    assert w["purchase_sword"] == 0 and w["level_up"] == 2 and w["find_treasure"] > 0
    events = list(generate_events(5, 1000, 2, weights=w, resend_fraction=0))
    assert not any(e["event_type"] == "purchase_sword" for e in events)
    with pytest.raises(ValueError, match="unknown event type"):
        parse_weights("purchase_dragon=1")


def test_open_target_parses_specs():
    local = open_target("http://127.0.0.1:8000")
    assert local.url == "http://127.0.0.1:8000/v1/events"  # type: ignore[attr-defined]
    assert local.keep_alive is False  # type: ignore[attr-defined]
    assert open_target("https://api.example.com").keep_alive is True  # type: ignore[attr-defined]
    forced = open_target("http://x", keep_alive=True)
    assert forced.keep_alive is True  # type: ignore[attr-defined]
    assert open_target("kinesis://s", kinesis_client=object()).stream == "s"  # type: ignore[attr-defined]
    with pytest.raises(ValueError):
        open_target("ftp://x")


def test_cli_writes_truth_and_summary(tmp_path, monkeypatch):
    # GIVEN a direct-to-stream target backed by a fake Kinesis client
    fake = FakeKinesis()
    monkeypatch.setattr(
        "gamepipe.commands.generate.open_target", lambda spec, **kw: KinesisTarget("s", fake)
    )
    truth, summary = tmp_path / "truth.ndjson", tmp_path / "summary.json"
    args = ["--users", "7", "--events", "450", "--seed", "9", "--batch-size", "100",
            "--concurrency", "3", "--target", "kinesis://s", "--bad-fraction", "0.1",
            "--truth", str(truth), "--summary-json", str(summary), "--quiet"]  # fmt: skip
    # WHEN the command runs
    result = CliRunner().invoke(generate_cmd, args)
    # THEN the truth file holds exactly what the seed generates (dated the day before today,
    # UTC: the API takes recent events only), and all of it was written
    assert result.exit_code == 0, result.output
    sent = [json.loads(line) for line in truth.read_text().splitlines()]
    yesterday = datetime.combine(datetime.now(UTC).date(), datetime.min.time(), UTC) - timedelta(
        days=1
    )
    assert sent == list(generate_events(7, 450, 9, bad_fraction=0.1, start=yesterday))
    landed = [e for _, e in fake.landed_events()]
    assert len(landed) == 450

    def ids(events):
        return sorted(str(e.get("event_id")) if isinstance(e, dict) else "-" for e in events)

    assert ids(landed) == ids(sent)
    data = json.loads(summary.read_text())
    assert data["sent"] == data["accepted"] == 450 and data["batches"] == 5
    assert data["invalid_generated"] > 20 and data["events_per_second"] > 0


class _Reply:
    def __init__(self, status: int, body: dict | None = None):
        self.status_code = status
        self._body = body
        self.content = json.dumps(body).encode() if body is not None else b""

    def json(self):
        return self._body


class _Session:
    """Hands out canned replies in order; records the bodies posted."""

    def __init__(self, replies):
        self.replies = list(replies)
        self.posted: list[bytes] = []

    def post(self, url, data, timeout):
        self.posted.append(data)
        reply = self.replies.pop(0)
        if isinstance(reply, Exception):
            raise reply
        return reply


def _http_target(monkeypatch, replies):
    from gamepipe.generator.sender import HttpTarget

    target = HttpTarget("http://api.test", attempts=3, sleep=lambda s: None)
    session = _Session(replies)
    monkeypatch.setattr(target, "_session", lambda: session)
    return target, session


def test_http_target_counts_the_api_reply(monkeypatch):
    body = {"accepted": 2, "event_ids": ["a", "b"], "rejected": [{"index": 2}], "failed": []}
    target, session = _http_target(monkeypatch, [_Reply(200, body)])
    result = target.send([{"a": 1}, {"b": 2}, {"c": 3}])
    assert (result.sent, result.accepted, result.rejected, result.failed) == (3, 2, 1, 0)
    assert json.loads(session.posted[0]) == {"events": [{"a": 1}, {"b": 2}, {"c": 3}]}


def test_http_target_resends_on_503_and_connection_errors(monkeypatch):
    import requests

    ok = _Reply(200, {"accepted": 1, "event_ids": ["a"], "rejected": [], "failed": []})
    target, session = _http_target(
        monkeypatch, [requests.ConnectionError("reset"), _Reply(503, {}), ok]
    )
    result = target.send([{"a": 1}])
    assert result.accepted == 1 and len(session.posted) == 3


def test_http_target_reports_failure_after_the_attempts_and_on_413(monkeypatch):
    target, session = _http_target(monkeypatch, [_Reply(503, {})] * 3)
    result = target.send([{"a": 1}, {"b": 2}])
    assert (result.failed, result.accepted, result.status) == (2, 0, 503)
    assert len(session.posted) == 3
    target, _ = _http_target(monkeypatch, [_Reply(413, {"error": "too large"})])
    assert target.send([{"a": 1}]).failed == 1
