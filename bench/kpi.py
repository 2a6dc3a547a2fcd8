"""The KPI statements (athena_sql/kpi/) on the local engine over 30 days of player lives.

``python -m bench.kpi [--quick]``: each KPI over the whole 30 days (``:start`` = the first
day, ``:end`` = the last) on compacted local Parquet — every partition merged by
compaction's own ``merge_files`` (one file, each event_id once, ``compacted = true`` on
the seed tables) — at 10M events (target <= 200 ms each, issue 15), 1M in the quick run
(the target kept on that stand-in); the full run also times a live lake (20 batch-like
files per partition, ~1% resent rows), for information.

The lake is synthesised column-wise with numpy/pyarrow, shaped like the generator's
lifecycles (``gamepipe generate --days``): installs spread over the days, churn that falls
with age, 1-3 sessions per active day (``session_id`` in the payload), ~20% payers (only
they buy), levels rising with each player's level_up events, guild joins and switches;
``events`` carries ``session_id`` and ``platform`` as the consumer writes them, the session
id in the payload too.
Reference forms are timed next to ours so the cost of each choice is visible (the
exact cross-day dedupe of every event_id for DAU). Warm median of 5, interleaved after a
warm-up pass, as bench/queries.py.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from bench.common import Figure, main, stopwatch
from bench.queries import (
    LIVE_FILES_PER_PARTITION,
    _hex_ids,
    _strings,
    interleaved_ms,
    route,
    write_lake,
)
from chalicelib.query.kpi import kpi_params
from chalicelib.settings import Settings
from chalicelib.statements import KPIS
from chalicelib.tables import TABLES
from gamepipe.athena.engine import LocalEngine

BENCH = "kpi"
DAYS = 30
FIRST_DAY = date(2025, 11, 1)
PARAMS = kpi_params(FIRST_DAY, FIRST_DAY + timedelta(DAYS - 1))  # every application
EVENTS_PER_PLAYER_DAY = 12
TYPES = (
    "purchase_sword", "purchase_shield", "purchase_potion", "join_guild", "find_treasure",
    "enemy_attack", "defeat_enemy", "take_potion", "level_up",
)  # fmt: skip
WEIGHTS = np.array([1.0, 0.8, 2.0, 0.4, 2.0, 3.0, 2.0, 1.5, 0.8])
PAID = np.array([t.startswith("purchase_") or t == "take_potion" for t in TYPES])
GUILDS = ("Castle of Rock", "Game of Thrones", "Knights of the Round Table", "Night's Watch")
PRICES = np.array([100, 80, 5])

# DAU counting each event_id once across days (its first-received copy), whatever
# compaction did: the exact form of the cross-day resend case, for its cost.
REFERENCES = {
    # two questions on the same lake: what the machine's load did to this run (their
    # quiet-machine figures at 10M are in BENCHMARKS.md)
    "q3 top levels (reference)": "q3",
    "q4 enemies defeated (reference)": "q4",
    "dau, exact dedupe of every event_id across days (reference)": """
        WITH firsts AS (
            SELECT min_by(userid, received_at) AS userid, min_by(dt, received_at) AS dt
            FROM events WHERE dt BETWEEN :start AND :end GROUP BY event_id)
        SELECT dt, count(DISTINCT userid) AS dau FROM firsts GROUP BY dt ORDER BY dt""",
    "sessions from the payload's JSON, as before the session_id column (reference)": """
        SELECT dt, count(DISTINCT json_extract_scalar(payload, '$.session_id')) AS sessions
        FROM events WHERE dt BETWEEN :start AND :end GROUP BY dt ORDER BY dt""",
    "dau alone, player-days (reference)": """
        SELECT dt, count(DISTINCT userid) AS dau FROM events
        WHERE dt BETWEEN :start AND :end GROUP BY dt ORDER BY dt""",
}


def player_days(players: int, rng: np.random.Generator) -> tuple[np.ndarray, ...]:
    """(player, day) of every active day, and each player's engagement and payer flag."""
    install = rng.integers(0, DAYS, players)
    engagement = rng.beta(2, 3, players)
    payer = rng.random(players) < 0.2 * (0.5 + engagement) / 0.9
    alive = np.ones(players, dtype=bool)
    who, when = [np.arange(players)], [install]
    for age in range(1, DAYS):
        hazard = 0.6 * (1 - engagement) / (1 + 0.35 * age)
        alive &= (rng.random(players) >= hazard) & (install + age < DAYS)
        plays = alive & (rng.random(players) < 0.45 + 0.5 * engagement)
        who.append(np.flatnonzero(plays))
        when.append(install[plays] + age)
    return np.concatenate(who), np.concatenate(when), engagement, payer


def synth_lake(events: int, seed: int = 15, dup_fraction: float = 0.01) -> dict[str, pa.Table]:
    """The five tables (with a ``dt`` column) of ``events`` events over ``DAYS`` days."""
    rng = np.random.default_rng(seed)
    players = max(100, events // (EVENTS_PER_PLAYER_DAY * 8))
    who, when, engagement, payer = player_days(players, rng)
    weight = rng.lognormal(0, 0.6, len(who)) * (0.5 + engagement[who])
    per_day = rng.multinomial(events, weight / weight.sum())
    player = np.repeat(who, per_day)
    day = np.repeat(when, per_day)
    # 1-3 sessions per player-day, numbered across the lake; each event in one of its day's
    k = 1 + rng.binomial(2, engagement[who])
    session = np.repeat(np.cumsum(k) - k, per_day)
    session += (rng.random(events) * np.repeat(k, per_day)).astype(np.int64)
    seconds = rng.integers(0, 86_400, events)
    # event types: payers draw from every type, the others never buy (nor drink potions)
    p_all, p_free = WEIGHTS / WEIGHTS.sum(), np.where(PAID, 0, WEIGHTS)
    kind = np.where(
        payer[player],
        rng.choice(len(TYPES), events, p=p_all),
        rng.choice(len(TYPES), events, p=p_free / p_free.sum()),
    )
    ts_us = (
        (np.datetime64(FIRST_DAY, "us") - np.datetime64(0, "us")).astype(np.int64)
        + (day * 86_400 + seconds) * 1_000_000
        + rng.integers(0, 1_000_000, events)
    )
    # levels: 1 + the player's level_ups up to and including this event, in time order
    order = np.lexsort((ts_us, player))
    ups = (kind[order] == 8).astype(np.int64)
    cum = np.cumsum(ups)
    starts = np.r_[0, np.flatnonzero(np.diff(player[order])) + 1]
    base = np.repeat(cum[starts] - ups[starts], np.diff(np.r_[starts, events]))
    level = np.empty(events, np.int64)
    level[order] = 1 + cum - base
    users = [f"user-{i:07d}" for i in range(players)]
    days = [(FIRST_DAY + timedelta(d)).isoformat() for d in range(DAYS)]
    event_ids = _hex_ids(rng, events)
    session_ids = _hex_ids(rng, int(session.max()) + 1).take(pa.array(session))
    stamps = pa.array(ts_us, pa.timestamp("us"))
    item = np.minimum(kind, 2)
    amount = np.where(item == 2, rng.integers(1, 11, events), rng.integers(1, 3, events))
    columns = {
        "event_ts": stamps,
        "userid": _strings(users, player),
        "host": _strings([f"h{i}.example.com" for i in range(16)], player % 16),
        "event_type": _strings(list(TYPES), kind),
        "description": _strings([t.replace("_", " ") for t in TYPES], kind),
        "event_id": event_ids,
        "received_at": pa.array(ts_us + rng.integers(0, 5_000_000, events), pa.timestamp("us")),
        "dt": _strings(days, day),
        "item_type": _strings(["sword", "shield", "potion"], item),
        "amount_purchased": pa.array(amount),
        "price": pa.array(PRICES[item] * amount),
        "guild_name": _strings(list(GUILDS), rng.integers(0, len(GUILDS), events)),
        "level": pa.array(level),
        "attack": pa.array(200 * level),
        "defense": pa.array(175 * level),
        "health": pa.array(rng.integers(1, 100, events)),
        "user_agent": _strings(["game/1.5 (ios)", "game/1.5 (android)"], player % 2),
        "app_version": _strings(["1.4.2", "1.5.0", "1.5.1"], player % 3),
    }
    columns["payload"] = _payload(columns, session_ids)
    # The columns events gained with issue 15, filled as the consumer writes them.
    columns["session_id"] = session_ids
    columns["platform"] = _strings(["ios", "android"], player % 2)
    # one game: the KPIs' application filter ('' = all) reads this column too
    columns["application_id"] = _strings(["bench-game"], np.zeros(events, dtype=np.int64))
    everything = pa.table(columns)
    return route(everything, kind, rng, dup_fraction, stats_share=0.7, tables=tuple(TABLES))


def _payload(columns: dict[str, pa.Array], session_ids: pa.Array) -> pa.Array:
    """The event's JSON as received (the envelope and its session id; ~190 bytes)."""
    ts_text = pc.strftime(columns["event_ts"], format="%Y-%m-%dT%H:%M:%S")
    parts = [
        '{"event_id":"', columns["event_id"], '","event_type":"', columns["event_type"],
        '","userid":"', columns["userid"], '","event_ts":"', ts_text,
        'Z","app_version":"', columns["app_version"], '","session_id":"', session_ids, '"}',
    ]  # fmt: skip
    return pc.binary_join_element_wise(*parts, "")


def run(quick: bool) -> list[Figure]:
    """Each KPI on a compacted lake (and, in the full run, a live one)."""
    events = 1_000_000 if quick else 10_000_000
    states = ("compacted",) if quick else ("compacted", "live")
    size = f"{events // 1_000_000}M"
    root = Path(tempfile.mkdtemp(prefix="bench-kpi-"))
    figures: list[Figure] = []
    try:
        files = write_lakes(events, root, states)
        for state in states:
            label = f"local {size} {state}, {DAYS} days"
            target = "<= 200" if state == "compacted" else ""
            note = f"{files[state]} files, {DAYS} dt partitions; shared 2-core machine"
            figures += time_kpis(root / state, label, target, note)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return figures


def write_lakes(events: int, root: Path, states: tuple[str, ...]) -> dict[str, int]:
    """Synthesise once, write each state's lake under ``root/<state>``; the files written.

    The synthesised tables (several GB at 10M) are gone before anything is timed.
    """
    with stopwatch() as elapsed:
        tables = synth_lake(events)
    rows = sum(len(t) for t in tables.values())
    print(f"synthesised {events:,} events -> {rows:,} rows in {elapsed():.1f}s", file=sys.stderr)
    files = {}
    for state in states:
        with stopwatch() as elapsed:
            per_part = 1 if state == "compacted" else LIVE_FILES_PER_PARTITION
            files[state] = write_lake(tables, root / state, per_part, compact=state == "compacted")
        print(f"wrote {state}: {files[state]} files in {elapsed():.1f}s", file=sys.stderr)
    return files


def time_kpis(lake: Path, label: str, target: str, note: str) -> list[Figure]:
    """Warm medians of every KPI statement and the references over ``lake``."""
    settings = Settings()
    engine = LocalEngine(settings, lake_root=lake, ttl_seconds=3600)
    statements = {f"{k.name} {label}": k.sql() for k in KPIS}
    statements.update({f"{name} {label}": sql for name, sql in REFERENCES.items()})
    params = {name: PARAMS for name, sql in statements.items() if ":end" in sql}
    values = interleaved_ms(statements, engine, settings, params=params)
    engine.close()
    return [
        Figure(BENCH, name, "ms", values[name], target=target if name.startswith("kpi/") else "",
               note=note)
        for name in statements
    ]  # fmt: skip


if __name__ == "__main__":
    main(run)
