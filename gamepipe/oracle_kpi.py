"""The KPI oracle: daily actives, retention, monetisation, progression and guilds in plain
Python from the generator's ground truth (no SQL, DuckDB or pyarrow), for the SQL files in
``chalicelib/athena_sql/kpi/`` to be checked against.

Semantics (the SQL's, see athena_sql/README.md "KPIs"):

- valid events only, each event_id once: its first copy (the truth file's first
  occurrence, which is the first received; compaction and merge-on-read keep that one);
- a day is the UTC date of ``event_ts``; a player is active on a day when any of their
  events falls on it; days with no events are omitted;
- a range ``[start, end]`` is read as of ``end``: nothing after ``end`` counts, history
  before ``start`` does (a player's first active day, the previous guild, rolling windows);
- a cohort is the players whose first active day it is; ``dN`` counts those active on
  cohort day + N, and is None when that day is after the last day with any event.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, timedelta
from typing import Any

from chalicelib.contract import ValidationFailure, validate_event
from chalicelib.query.kpi import DAILY_ANSWER_KEYS, RETENTION_ANSWER_KEYS

RETENTION_DAYS = (1, 7, 30)
WAU_DAYS, MAU_DAYS = 7, 28


@dataclass(frozen=True)
class Play:
    """One counted event reduced to what the KPIs need."""

    day: date
    userid: str
    event_type: str
    event_ts: Any  # datetime (UTC)
    event_id: str
    session_id: str | None
    fields: Mapping[str, Any]


def plays(events: Iterable[Any]) -> list[Play]:
    """Valid events, each event_id once (its first valid occurrence)."""
    counted: list[Play] = []
    seen: set[str] = set()
    for raw in events:
        try:
            typed = validate_event(raw)
        except ValidationFailure:
            continue
        if typed.event_id in seen:
            continue  # a resend: the first copy counts
        if typed.event_id is not None:
            seen.add(typed.event_id)
        counted.append(
            Play(
                day=typed.event_ts.astimezone(UTC).date(),
                userid=typed.userid,
                event_type=raw["event_type"],
                event_ts=typed.event_ts,
                event_id=typed.event_id or "",
                session_id=typed.session_id,
                fields={f: getattr(typed, f) for f in typed.__struct_fields__},
            )
        )
    return counted


class Lake:
    """The counted events as of a day, indexed the way the KPIs read them."""

    def __init__(self, counted: Iterable[Play], end: date | None = None) -> None:
        self.plays = [p for p in counted if end is None or p.day <= end]
        self.active: dict[date, set[str]] = defaultdict(set)
        for p in self.plays:
            self.active[p.day].add(p.userid)
        self.first_day: dict[str, date] = {}
        for day in sorted(self.active):
            for user in self.active[day]:
                self.first_day.setdefault(user, day)
        self.last_day = max(self.active, default=None)

    def days(self, start: date | None, end: date | None) -> list[date]:
        """Days with events within ``[start, end]`` (open bounds: all)."""
        return [d for d in sorted(self.active) if _within(d, start, end)]

    def cohort(self, day: date) -> set[str]:
        """Players whose first active day is ``day``."""
        return {u for u in self.active[day] if self.first_day[u] == day}


def daily(
    counted: Iterable[Play], start: date | None = None, end: date | None = None
) -> list[dict[str, Any]]:
    """Per day: dau, new_players, gold_spent (Σ price × amount), payers and gold per DAU —
    the rows of ``kpi/daily.sql``."""
    lake = Lake(counted, end)
    gold: Counter[date] = Counter()
    payers: dict[date, set[str]] = defaultdict(set)
    for p in lake.plays:
        if p.event_type.startswith("purchase_"):
            gold[p.day] += p.fields["price"] * p.fields["amount_purchased"]
            payers[p.day].add(p.userid)
    rows = []
    for day in lake.days(start, end):
        dau = len(lake.active[day])
        rows.append(
            {
                "dt": day.isoformat(),
                "dau": dau,
                "new_players": len(lake.cohort(day)),
                "gold_spent": gold[day],
                "payers": len(payers[day]),
                "gold_per_dau": gold[day] / dau,
            }
        )
    return rows


def sessions(
    counted: Iterable[Play], start: date | None = None, end: date | None = None
) -> list[dict[str, Any]]:
    """Per day: distinct session ids — the rows of ``kpi/sessions.sql`` (events without a
    session id are in no session)."""
    lake = Lake(counted, end)
    ids: dict[date, set[str]] = defaultdict(set)
    for p in lake.plays:
        if p.session_id is not None:
            ids[p.day].add(p.session_id)
    return [{"dt": day.isoformat(), "sessions": len(ids[day])} for day in lake.days(start, end)]


def rolling_actives(
    counted: Iterable[Play], start: date | None = None, end: date | None = None
) -> list[dict[str, Any]]:
    """Per day: dau, wau and mau (players active in the 7 / 28 days ending that day) and
    stickiness = dau / mau — the rows of ``kpi/active_users.sql``."""
    lake = Lake(counted, end)
    rows = []
    for day in lake.days(start, end):
        dau = len(lake.active[day])
        wau, mau = (len(_active_within(lake, day, n)) for n in (WAU_DAYS, MAU_DAYS))
        rows.append(
            {"dt": day.isoformat(), "dau": dau, "wau": wau, "mau": mau, "stickiness": dau / mau}
        )
    return rows


def retention(
    counted: Iterable[Play], start: date | None = None, end: date | None = None
) -> list[dict[str, Any]]:
    """Per cohort (first active day): size and the players active on day +1, +7, +30
    (None when that day is after the last day with events) — ``kpi/retention.sql``."""
    lake = Lake(counted, end)
    rows = []
    for day in lake.days(start, end):
        cohort = lake.cohort(day)
        if not cohort:
            continue
        row: dict[str, Any] = {"cohort": day.isoformat(), "size": len(cohort)}
        for n in RETENTION_DAYS:
            later = day + timedelta(days=n)
            known = lake.last_day is not None and later <= lake.last_day
            row[f"d{n}"] = len(cohort & lake.active.get(later, set())) if known else None
        rows.append(row)
    return rows


def cohort_days(
    counted: Iterable[Play], start: date | None = None, end: date | None = None, days: int = 30
) -> list[dict[str, Any]]:
    """Per cohort and day 1..``days`` after it (up to the last day with events): the
    cohort's size and its players active that day — ``kpi/cohort_days.sql``."""
    lake = Lake(counted, end)
    rows = []
    for day in lake.days(start, end):
        cohort = lake.cohort(day)
        for n in range(1, days + 1):
            later = day + timedelta(days=n)
            if cohort and lake.last_day is not None and later <= lake.last_day:
                rows.append(
                    {
                        "cohort": day.isoformat(),
                        "size": len(cohort),
                        "day": n,
                        "players": len(cohort & lake.active.get(later, set())),
                    }
                )
    return rows


def progression(
    counted: Iterable[Play], start: date | None = None, end: date | None = None
) -> list[dict[str, Any]]:
    """Per level: players of the range's cohorts who reached it and the median whole days
    from their first active day — ``kpi/progression.sql``.

    Every player starts at level 1 (on their first day) and reaches level L with a
    level_up event to L (one per level: a second one to the same level counts twice).
    """
    lake = Lake(counted, end)
    players = {u for u, d in lake.first_day.items() if _within(d, start, end)}
    days_to: dict[int, list[int]] = defaultdict(list)
    days_to[1] = [0] * len(players)
    for p in lake.plays:
        if p.event_type == "level_up" and p.userid in players and p.fields["level"] >= 2:
            days_to[p.fields["level"]].append((p.day - lake.first_day[p.userid]).days)
    return [
        {"level": level, "players": len(days), "median_days": _median(days)}
        for level, days in sorted(days_to.items())
        if days
    ]


def guilds(
    counted: Iterable[Play], start: date | None = None, end: date | None = None
) -> list[dict[str, Any]]:
    """Per week (Monday) and guild: joins, switches in (joins of players whose previous
    guild was another) and switches out (players who left it for another guild that week)
    — ``kpi/guilds.sql``."""
    lake = Lake(counted, end)
    joins = sorted(
        (p for p in lake.plays if p.event_type == "join_guild"),
        key=lambda p: (p.userid, p.event_ts, p.event_id),
    )
    tally: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
    previous: Play | None = None
    for p in joins:
        before = previous if previous is not None and previous.userid == p.userid else None
        previous = p
        if not _within(p.day, start, end):
            continue
        week = (p.day - timedelta(days=p.day.weekday())).isoformat()
        guild = p.fields["guild_name"]
        tally[week, guild]["joins"] += 1
        if before is not None and before.fields["guild_name"] != guild:
            tally[week, guild]["switches_in"] += 1
            tally[week, before.fields["guild_name"]]["switches_out"] += 1
    return [
        {
            "week": week,
            "guild_name": guild,
            "joins": counts["joins"],
            "switches_in": counts["switches_in"],
            "switches_out": counts["switches_out"],
        }
        for (week, guild), counts in sorted(tally.items())
    ]


def kpi_answers(events: Iterable[Any]) -> dict[str, list[dict[str, Any]]]:
    """The answers JSON's ``"kpi"`` value: ``{"daily": [...], "retention": [...]}`` over all
    days, with exactly the keys of issue 15."""
    counted = plays(events)
    return {
        "daily": [{k: row[k] for k in DAILY_ANSWER_KEYS} for row in daily(counted)],
        "retention": [{k: row[k] for k in RETENTION_ANSWER_KEYS} for row in retention(counted)],
    }


# One function per KPI, named as in chalicelib.statements (statements.toml [[kpi]]): each
# takes the counted events and the range, and returns the statement's rows.
Oracle = Callable[..., list[dict[str, Any]]]
ORACLES: dict[str, Oracle] = {
    "kpi/daily": daily,
    "kpi/sessions": sessions,
    "kpi/active_users": rolling_actives,
    "kpi/retention": retention,
    "kpi/cohort_days": cohort_days,
    "kpi/progression": progression,
    "kpi/guilds": guilds,
}


def _active_within(lake: Lake, day: date, n: int) -> set[str]:
    out: set[str] = set()
    for back in range(n):
        out |= lake.active.get(day - timedelta(days=back), set())
    return out


def _within(day: date, start: date | None, end: date | None) -> bool:
    return (start is None or day >= start) and (end is None or day <= end)


def _median(values: list[int]) -> float:
    ordered = sorted(values)
    mid = len(ordered) // 2
    if len(ordered) % 2:
        return float(ordered[mid])
    return (ordered[mid - 1] + ordered[mid]) / 2
