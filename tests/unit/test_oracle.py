"""The oracle on small hand-made event lists: ties, resends, guild switches, latest stats."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from gamepipe.oracle import accepted_events, compute_answers, compute_reports, load_truth

_N = iter(range(1, 10_000))


def ev(kind: str, user: str, ts: str, **fields: Any) -> dict[str, Any]:
    """One valid event; ``ts`` is HH:MM:SS on a fixed day; a fresh event_id unless given."""
    event_id = fields.pop("event_id", None) or f"00000000-0000-4000-8000-{next(_N):012d}"
    return {
        "event_type": kind,
        "userid": user,
        "event_ts": f"2026-11-27T{ts}Z",
        "event_id": event_id,
        **fields,
    }


def stats(level: int, attack: int = 10, defense: int = 5, health: int = 100) -> dict[str, int]:
    return {"level": level, "attack": attack, "defense": defense, "health": health}


def buy(item: str, user: str, amount: int, price: int, **kw: Any) -> dict[str, Any]:
    return ev(f"purchase_{item}", user, "10:00:00", amount_purchased=amount, price=price, **kw)


def test_purchases_sum_amounts_and_resends_count_once() -> None:
    # GIVEN purchases, one of them resent with the same event_id
    sword = buy("sword", "u1", 3, 100)
    events = [sword, buy("potion", "u2", 5, 10), buy("potion", "u1", 2, 10), dict(sword)]
    # WHEN computing
    answers = compute_answers(events)
    reports = compute_reports(events)
    # THEN amounts are summed once per event_id; an item nobody bought is 0
    assert answers["q1"] == {"potion": 7, "shield": 0, "sword": 3}
    assert reports["player_purchases"] == [
        {"userid": "u1", "swords": 3, "shields": 0, "potions": 2, "gold_spent": 320},
        {"userid": "u2", "swords": 0, "shields": 0, "potions": 5, "gold_spent": 50},
    ]


def test_guild_switch_counts_the_latest_guild_once() -> None:
    # GIVEN u1 joins A then B; u2 joins A twice; u3 joins C and B at the same second
    events = [
        ev("join_guild", "u1", "09:00:00", guild_name="A"),
        ev("join_guild", "u1", "11:00:00", guild_name="B"),
        ev("join_guild", "u2", "09:00:00", guild_name="A"),
        ev("join_guild", "u2", "10:00:00", guild_name="A"),
        ev(
            "join_guild",
            "u3",
            "12:00:00",
            guild_name="C",
            event_id="00000000-0000-4000-8000-0000000000aa",
        ),
        ev(
            "join_guild",
            "u3",
            "12:00:00",
            guild_name="B",
            event_id="00000000-0000-4000-8000-0000000000bb",
        ),
    ]
    # WHEN computing
    answers = compute_answers(events)
    # THEN each player counts once in their latest guild;
    # a same-second tie goes to the larger event_id
    assert answers["q2"] == {"B": 2, "A": 1}
    assert list(answers["q2"]) == ["B", "A"]  # members desc, then name
    assert compute_reports(events)["guild_membership"] == [
        {"guild_name": "B", "members": 2},
        {"guild_name": "A", "members": 1},
    ]


def test_levels_are_the_highest_reached_and_ties_break_by_userid() -> None:
    # GIVEN 12 players; u05 levels 3 then 9 (SUM would give 12); u10 and u02 tie at 9
    events = [ev("level_up", f"u{i:02d}", "10:00:00", **stats(i)) for i in range(1, 13)]
    events += [
        ev("level_up", "u05", "09:00:00", **stats(3)),
        ev("level_up", "u05", "11:00:00", **stats(9)),
        ev("take_potion", "u02", "11:00:00", **stats(9)),
    ]
    # WHEN computing
    q3 = compute_answers(events)["q3"]
    # THEN top 10 by max level, ties by userid ascending
    assert q3 == [
        ["u12", 12], ["u11", 11], ["u10", 10], ["u02", 9], ["u05", 9], ["u09", 9],
        ["u08", 8], ["u07", 7], ["u06", 6], ["u04", 4],
    ]  # fmt: skip


def test_enemy_attack_with_stats_updates_standings() -> None:
    # GIVEN a level up, then a later enemy attack carrying lower health, and one without stats
    events = [
        ev("level_up", "u1", "09:00:00", **stats(4, health=100)),
        ev("enemy_attack", "u1", "10:00:00", **stats(4, health=35)),
        ev("enemy_attack", "u2", "10:00:00"),
        ev("enemy_attack", "u2", "10:05:00"),
    ]
    # WHEN computing
    answers = compute_answers(events)
    reports = compute_reports(events)
    # THEN the latest stats (the attack's) are u1's standing; both players were attacked
    assert reports["player_standings"] == [
        {"userid": "u1", "level": 4, "attack": 10, "defense": 5, "health": 35}
    ]
    assert answers["q7"] == 2
    assert answers["q3"] == [["u1", 4]]


def test_most_potions_and_treasures_return_all_tied() -> None:
    # GIVEN u2 and u1 tied on potions (u2's second potion resent), u3 alone on treasures
    p = ev("take_potion", "u2", "10:00:00", **stats(1))
    events = [
        ev("take_potion", "u1", "09:00:00", **stats(1)),
        ev("take_potion", "u1", "09:30:00", **stats(1)),
        ev("take_potion", "u2", "09:00:00", **stats(1)),
        p,
        dict(p),
        ev("take_potion", "u3", "09:00:00", **stats(1)),
        ev("find_treasure", "u3", "09:00:00"),
        ev("find_treasure", "u3", "09:10:00"),
        ev("find_treasure", "u1", "09:00:00"),
    ]
    # WHEN computing
    answers = compute_answers(events)
    # THEN every player tied for first, by userid
    assert answers["q5"] == [["u1", 2], ["u2", 2]]
    assert answers["q6"] == [["u3", 2]]


def test_defeats_top_ten_ordering() -> None:
    # GIVEN defeats: u3 x3, u1 x2, u2 x2
    events = [ev("defeat_enemy", u, "10:00:00") for u in ["u3", "u3", "u3", "u2", "u1", "u1", "u2"]]
    # THEN defeats desc, userid asc
    assert compute_answers(events)["q4"] == [["u3", 3], ["u1", 2], ["u2", 2]]


def test_rejected_events_are_dropped_and_ids_are_first_occurrence() -> None:
    # GIVEN bad events (quoted userid, no time zone, unknown type, partial attack stats)
    # and an event_id first seen on a bad event, then on a good one
    shared_id = "00000000-0000-4000-8000-00000000beef"
    events = [
        ev("defeat_enemy", "'u1'", "10:00:00"),
        {**ev("defeat_enemy", "u1", "10:00:00"), "event_ts": "2026-11-27T10:00:00"},
        ev("dance", "u1", "10:00:00"),
        ev("enemy_attack", "u9", "10:00:00", level=3),
        ev("defeat_enemy", "u1", "10:00:00", event_id=shared_id, price="oops", amount_purchased=0)
        | {"userid": ""},
        ev("defeat_enemy", "u2", "10:00:00", event_id=shared_id),
    ]
    # WHEN computing
    answers = compute_answers(events)
    # THEN only the last event counts
    assert answers["q4"] == [["u2", 1]]
    assert answers["q7"] == 0


def test_empty_input() -> None:
    # GIVEN no events THEN every answer is empty or zero
    assert compute_answers([]) == {
        "q1": {"potion": 0, "shield": 0, "sword": 0},
        "q2": {},
        "q3": [],
        "q4": [],
        "q5": [],
        "q6": [],
        "q7": 0,
    }
    assert compute_reports([]) == {
        "player_standings": [],
        "player_purchases": [],
        "guild_membership": [],
    }


def test_load_truth_skips_blank_and_malformed_lines(tmp_path: Path) -> None:
    # GIVEN a truth file with a good line, a blank line, a malformed body and a JSON list
    good = ev("find_treasure", "u1", "10:00:00")
    path = tmp_path / "truth.ndjson"
    path.write_text(json.dumps(good) + "\n\n{not json\n[1, 2]\n")
    # WHEN loading THEN only the object remains
    assert load_truth(path) == [good]


def test_a_resend_with_another_event_ts_counts_once_the_first_copy_wins() -> None:
    # GIVEN a guild join, then the same event_id resent a day earlier with another guild
    first = {
        "event_type": "join_guild",
        "event_id": "00000000-0000-4000-8000-000000000001",
        "userid": "user-1",
        "event_ts": "2026-11-27T10:00:00Z",
        "guild_name": "Ravens",
    }
    resend = {**first, "event_ts": "2026-11-26T10:00:00Z", "guild_name": "Wolves"}
    # WHEN the oracle counts THEN the first sent (= first received) copy is the one counted
    (kept,) = accepted_events([first, resend])
    assert kept.fields["guild_name"] == "Ravens"
    assert kept.event_ts.isoformat().startswith("2026-11-27")
