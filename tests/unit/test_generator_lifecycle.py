"""Multi-day player lifecycles (``gamepipe generate --days N``): deterministic, dated to end
today, and shaped like a game's audience (installs spread, churn falling with age, a
minority of payers, sessions, progression, guild switches)."""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta

import pytest
from click.testing import CliRunner

from gamepipe.commands.generate import generate as generate_cmd
from gamepipe.generator.lifecycle import PAID_TYPES, generate_lifecycles, share
from gamepipe.generator.sender import KinesisTarget
from tests.helpers_ingest import FakeKinesis, assert_contract_verdicts

FIRST = date(2026, 3, 1)


def _valid(gen):
    return [g.event for g in gen if g.bad_reason is None and not g.resend]


@pytest.fixture(scope="module")
def lives() -> list[dict]:
    """40 days of 1,500 players (the issue's acceptance workload), valid events only."""
    return _valid(generate_lifecycles(1500, 120_000, 4242, days=40, first_day=FIRST))


def test_same_seed_same_events_exactly_the_budget_with_bad_ones_and_resends():
    a = list(generate_lifecycles(50, 3000, 7, days=10, bad_fraction=0.05, resend_fraction=0.05))
    b = list(generate_lifecycles(50, 3000, 7, days=10, bad_fraction=0.05, resend_fraction=0.05))
    c = list(generate_lifecycles(50, 3000, 8, days=10, bad_fraction=0.05, resend_fraction=0.05))
    assert [g.event for g in a] == [g.event for g in b] != [g.event for g in c]
    assert len(a) == 3000
    assert_contract_verdicts(a)
    assert 80 < sum(g.bad_reason is not None for g in a) < 250
    assert 80 < sum(g.resend for g in a) < 250


def test_by_default_the_last_day_is_today_utc():
    today = datetime.now(UTC).date()
    events = _valid(generate_lifecycles(200, 5000, 1, days=30))
    days = {date.fromisoformat(e["event_ts"][:10]) for e in events}
    assert min(days) >= today - timedelta(days=29) and max(days) <= today
    assert len(days) >= 25  # spread over the days, not bunched


def test_installs_spread_and_retention_falls_with_age(lives):
    # first active day per player, and who played on which day
    active: dict[date, set[str]] = defaultdict(set)
    for e in lives:
        active[date.fromisoformat(e["event_ts"][:10])].add(e["userid"])
    first: dict[str, date] = {}
    for day in sorted(active):
        for user in active[day]:
            first.setdefault(user, day)
    assert len(first) > 1400  # nearly every player shows up
    per_day = defaultdict(int)
    for day in first.values():
        per_day[day] += 1
    assert len(per_day) == 40 and max(per_day.values()) < 5 * (len(first) / 40)

    def returned(n: int) -> float:
        cohort = [u for u, d in first.items() if d + timedelta(days=n) <= FIRST + timedelta(39)]
        back = sum(u in active[first[u] + timedelta(days=n)] for u in cohort)
        return back / len(cohort)

    d1, d7, d30 = returned(1), returned(7), returned(30)
    assert 0.3 < d1 < 0.7 and 0.1 < d7 < d1 and 0.03 < d30 < d7


def test_a_minority_pays_and_only_payers_buy(lives):
    players = {e["userid"] for e in lives}
    buyers = {e["userid"] for e in lives if e["event_type"].startswith("purchase_")}
    drinkers = {e["userid"] for e in lives if e["event_type"] == "take_potion"}
    assert 0.1 < len(buyers) / len(players) < 0.35
    assert drinkers <= buyers  # nobody drinks a potion they did not buy
    assert {e["event_type"] for e in lives if e["userid"] not in buyers}.isdisjoint(PAID_TYPES)


def test_sessions_belong_to_one_player_and_day_and_run_in_order(lives):
    sessions: dict[str, list[dict]] = defaultdict(list)
    for e in lives:
        sessions[e["session_id"]].append(e)
    per_player_day: dict[tuple[str, str], set[str]] = defaultdict(set)
    for sid, events in sessions.items():
        assert len({e["userid"] for e in events}) == 1
        assert len({e["event_ts"][:10] for e in events}) == 1
        stamps = [e["event_ts"] for e in events]
        assert stamps == sorted(stamps)
        per_player_day[events[0]["userid"], events[0]["event_ts"][:10]].add(sid)
    counts = [len(s) for s in per_player_day.values()]
    assert min(counts) == 1 and max(counts) <= 4 and sum(counts) / len(counts) > 1.2


def test_levels_rise_and_players_switch_guilds(lives):
    level: dict[str, int] = defaultdict(lambda: 1)
    guild: dict[str, str] = {}
    switches = 0
    for e in sorted(lives, key=lambda e: e["event_ts"]):
        u = e["userid"]
        if e["event_type"] == "level_up":
            assert e["level"] == level[u] + 1
            level[u] = e["level"]
        if e["event_type"] == "join_guild":
            switches += u in guild
            guild[u] = e["guild_name"]
    assert max(level.values()) >= 20 and switches > 100


def test_share_splits_a_budget_exactly():
    assert share(10, [1.0, 1.0, 2.0]) == [3, 2, 5]  # 2.5, 2.5, 5: the first remainder wins
    assert sum(share(1001, [0.3, 0.7, 1.9, 0.01])) == 1001
    assert share(0, [1.0]) == [0] and share(5, []) == []


def test_cli_days_and_start(tmp_path, monkeypatch):
    # GIVEN a direct-to-stream target backed by a fake Kinesis client
    fake = FakeKinesis()
    monkeypatch.setattr(
        "gamepipe.commands.generate.open_target", lambda spec, **kw: KinesisTarget("s", fake)
    )
    truth = tmp_path / "truth.ndjson"
    args = ["--users", "30", "--events", "800", "--seed", "3", "--days", "5",
            "--start", "2026-03-01", "--target", "kinesis://s", "--truth", str(truth),
            "--quiet"]  # fmt: skip
    # WHEN `gamepipe generate --days 5 --start 2026-03-01` runs
    result = CliRunner().invoke(generate_cmd, args)
    # THEN it sent the lifecycles of those 5 days, exactly as the library makes them
    assert result.exit_code == 0, result.output
    sent = [json.loads(line) for line in truth.read_text().splitlines()]
    expected = [g.event for g in generate_lifecycles(30, 800, 3, days=5, first_day=FIRST)]
    assert sent == expected and len(list(fake.landed_events())) == 800
    assert {e["event_ts"][:10] for e in sent} <= {f"2026-03-0{d}" for d in range(1, 6)}
    # AND --days 0 is refused
    bad = CliRunner().invoke(generate_cmd, [*args[:6], "--days", "0", "--target", "kinesis://s"])
    assert bad.exit_code != 0
