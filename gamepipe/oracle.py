"""The oracle: the answers and reports computed in plain Python from the ground truth.

Independent of the SQL on purpose (no SQL, DuckDB or pyarrow): it reads the generator's
truth file (every event SENT), drops what the contract rejects, counts each event_id once
(its first occurrence: the first sent is the first received, the copy compaction keeps in
every table even when a resend carries another event_ts, see chalicelib/maintenance.py)
and applies the same semantics and ordering as the SQL files:
rankings by metric descending then userid ascending; "the player who..." returns every
player tied for first; a player's guild and stats are those of their latest event by
event_ts, ties broken by the larger event_id.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from chalicelib.contract import ValidationFailure, validate_event
from chalicelib.statements import QUESTION_NAMES, REPORT_NAMES
from gamepipe.oracle_kpi import kpi_answers

ITEMS = ("potion", "shield", "sword")
STATS_TYPES = frozenset({"level_up", "take_potion"})  # plus enemy_attack carrying stats
TOP_N = 10


@dataclass(frozen=True)
class _Event:
    """An accepted event reduced to what the answers need."""

    event_type: str
    userid: str
    event_ts: datetime
    event_id: str
    fields: dict[str, Any]


def load_truth(path: str | Path) -> list[dict[str, Any]]:
    """Read the generator's truth NDJSON (one object per event sent; other lines skipped)."""
    events: list[dict[str, Any]] = []
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except ValueError:
                continue  # a deliberately malformed body: the API rejects it too
            if isinstance(obj, dict):
                events.append(obj)
    return events


def accepted_events(events: Iterable[dict[str, Any]]) -> list[_Event]:
    """Events the contract accepts, each event_id once (its first occurrence)."""
    seen: set[str] = set()
    kept: list[_Event] = []
    for raw in events:
        try:
            typed = validate_event(raw)
        except ValidationFailure:
            continue
        event_id = typed.event_id
        if event_id is not None:
            if event_id in seen:
                continue
            seen.add(event_id)
        kept.append(
            _Event(
                event_type=str(raw["event_type"]),
                userid=typed.userid,
                event_ts=typed.event_ts,
                event_id=event_id or "",
                fields={f: getattr(typed, f) for f in typed.__struct_fields__},
            )
        )
    return kept


def compute_answers(events: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """Every question's answer in the answers-JSON shape (see chalicelib.query.answers)."""
    accepted = accepted_events(events)
    return {name: ORACLES[name](accepted) for name in QUESTION_NAMES}


def compute_answers_json(events: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """The answers JSON: every question's answer and ``"kpi"`` (daily and retention over
    every day, ``gamepipe.oracle_kpi.kpi_answers``), as ``gamepipe demo --answers-json``."""
    events = list(events)
    return {**compute_answers(events), "kpi": kpi_answers(events)}


def compute_reports(
    events: Iterable[dict[str, Any]], as_of: date | None = None
) -> dict[str, list[dict[str, Any]]]:
    """The reports as lists of row dicts, in the SQL's column names and row order; with
    ``as_of``, only events whose UTC date is on or before it (all events without)."""
    accepted = accepted_events(events)
    if as_of is not None:
        accepted = [ev for ev in accepted if ev.event_ts.astimezone(UTC).date() <= as_of]
    return {name: ORACLES[name](accepted) for name in REPORT_NAMES}


# --- one function per question and report, named as in chalicelib.statements -----------


def items_purchased(accepted: list[_Event]) -> dict[str, int]:
    """q1: amount purchased per item, every item present."""
    purchased = dict.fromkeys(ITEMS, 0)
    for ev in _purchases(accepted):
        purchased[ev.fields["item_type"]] += ev.fields["amount_purchased"]
    return purchased


def guild_members(accepted: list[_Event]) -> dict[str, int]:
    """q2: members per guild (a player's latest join), most members first."""
    return dict(_guild_members(accepted))


def top_levels(accepted: list[_Event]) -> list[list[Any]]:
    """q3: the 10 highest levels reached, ties by userid."""
    max_level: dict[str, int] = {}
    for ev in _stats_rows(accepted):
        max_level[ev.userid] = max(max_level.get(ev.userid, 0), ev.fields["level"])
    return _ranked(max_level)[:TOP_N]


def enemies_defeated(accepted: list[_Event]) -> list[list[Any]]:
    """q4: the 10 players with the most defeat_enemy events, ties by userid."""
    return _ranked(_count(accepted, "defeat_enemy"))[:TOP_N]


def most_potions(accepted: list[_Event]) -> list[list[Any]]:
    """q5: every player tied for the most take_potion events."""
    return _tied_first(_count(accepted, "take_potion"))


def most_treasures(accepted: list[_Event]) -> list[list[Any]]:
    """q6: every player tied for the most find_treasure events."""
    return _tied_first(_count(accepted, "find_treasure"))


def players_attacked(accepted: list[_Event]) -> int:
    """q7: players with at least one enemy_attack event."""
    return len({ev.userid for ev in accepted if ev.event_type == "enemy_attack"})


def player_standings(accepted: list[_Event]) -> list[dict[str, Any]]:
    """Each player's latest stats, highest level first, ties by userid."""
    latest: dict[str, _Event] = {}
    for ev in _stats_rows(accepted):
        if ev.userid not in latest or _later(ev, latest[ev.userid]):
            latest[ev.userid] = ev
    standings = [
        {
            "userid": ev.userid,
            "level": ev.fields["level"],
            "attack": ev.fields["attack"],
            "defense": ev.fields["defense"],
            "health": ev.fields["health"],
        }
        for ev in latest.values()
    ]
    return sorted(standings, key=lambda r: (-r["level"], r["userid"]))


def player_purchases(accepted: list[_Event]) -> list[dict[str, Any]]:
    """Items bought and gold spent per player, most gold first, ties by userid."""
    bought: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(ITEMS, 0))
    gold: Counter[str] = Counter()
    for ev in _purchases(accepted):
        amount = ev.fields["amount_purchased"]
        bought[ev.userid][ev.fields["item_type"]] += amount
        gold[ev.userid] += ev.fields["price"] * amount
    purchases = [
        {
            "userid": user,
            "swords": items["sword"],
            "shields": items["shield"],
            "potions": items["potion"],
            "gold_spent": gold[user],
        }
        for user, items in bought.items()
    ]
    return sorted(purchases, key=lambda r: (-r["gold_spent"], r["userid"]))


def guild_membership(accepted: list[_Event]) -> list[dict[str, Any]]:
    """Members per guild as rows, most members first."""
    return [{"guild_name": g, "members": n} for g, n in _guild_members(accepted)]


# Registry name -> oracle function (a unit test checks both sides name the same set).
ORACLES: dict[str, Callable[[list[_Event]], Any]] = {
    "q1": items_purchased,
    "q2": guild_members,
    "q3": top_levels,
    "q4": enemies_defeated,
    "q5": most_potions,
    "q6": most_treasures,
    "q7": players_attacked,
    "player_standings": player_standings,
    "player_purchases": player_purchases,
    "guild_membership": guild_membership,
}


def _purchases(accepted: list[_Event]) -> list[_Event]:
    return [ev for ev in accepted if ev.event_type.startswith("purchase_")]


def _stats_rows(accepted: list[_Event]) -> list[_Event]:
    # character_stats: level ups, potions, and enemy attacks that carry the stats.
    return [
        ev
        for ev in accepted
        if ev.event_type in STATS_TYPES
        or (ev.event_type == "enemy_attack" and ev.fields.get("level") is not None)
    ]


def _later(a: _Event, b: _Event) -> bool:
    return (a.event_ts, a.event_id) > (b.event_ts, b.event_id)


def _guild_members(accepted: list[_Event]) -> list[tuple[str, int]]:
    current: dict[str, _Event] = {}
    for ev in accepted:
        if ev.event_type == "join_guild" and (
            ev.userid not in current or _later(ev, current[ev.userid])
        ):
            current[ev.userid] = ev
    members = Counter(ev.fields["guild_name"] for ev in current.values())
    return sorted(members.items(), key=lambda kv: (-kv[1], kv[0]))


def _count(accepted: list[_Event], event_type: str) -> dict[str, int]:
    return dict(Counter(ev.userid for ev in accepted if ev.event_type == event_type))


def _ranked(metric: dict[str, int]) -> list[list[Any]]:
    return [[u, n] for u, n in sorted(metric.items(), key=lambda kv: (-kv[1], kv[0]))]


def _tied_first(metric: dict[str, int]) -> list[list[Any]]:
    if not metric:
        return []
    best = max(metric.values())
    return [[u, n] for u, n in sorted(metric.items()) if n == best]
