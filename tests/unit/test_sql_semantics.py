"""The question and report SQL equal the oracle on adversarial data: many same-second ties,
resends and bad events (local engine over an on-disk lake, no network)."""

from __future__ import annotations

import re
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from chalicelib.query import resolve_sql
from chalicelib.query.answers import collect_answers, collect_reports
from chalicelib.settings import Settings
from gamepipe.athena.engine import LocalEngine
from gamepipe.oracle import compute_answers, compute_reports
from tests import helpers_sql

SETTINGS = Settings()


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_ties_resends_and_bad_events_match_the_oracle(tmp_path: Path, seed: int) -> None:
    # GIVEN 600 events of 15 players within 40 seconds: same-second ties everywhere,
    # 10% resends spread over batches, 5% bad events
    events = helpers_sql.make_events(
        600, 15, seed=seed, resend_fraction=0.1, bad_fraction=0.05, span_seconds=40
    )
    helpers_sql.write_lake_dir(tmp_path, helpers_sql.table_rows(events, batch_size=50))
    engine = LocalEngine(SETTINGS, lake_root=tmp_path)

    # WHEN the questions and reports run
    answers = collect_answers(SETTINGS, engine)
    reports = collect_reports(SETTINGS, engine)
    engine.close()

    # THEN they equal the oracle exactly, ties broken the same way
    assert answers == compute_answers(events)
    assert reports == compute_reports(events)
    assert len(answers["q5"]) >= 1 and answers["q7"] > 0


def _join(user: str, ts: str, guild: str, event_id: str) -> dict[str, Any]:
    """A valid join_guild event at 2026-11-27T<ts>Z with the given event_id."""
    return {
        "event_type": "join_guild",
        "userid": user,
        "event_ts": f"2026-11-27T{ts}Z",
        "event_id": event_id,
        "guild_name": guild,
        "description": "joined",
    }


def _id(tail: str) -> str:
    return f"00000000-0000-4000-8000-{tail:0>12}"


# Latest joins that share an event_ts: the larger event_id wins, whichever file or row
# order the engine sees them in. Expected guild per player in the comments.
TIED_JOINS = [
    _join("u1", "10:00:00", "A", _id("01")),
    _join("u1", "10:00:00", "B", _id("02")),  # u1 -> B (larger id written last)
    _join("u2", "10:00:00", "B", _id("04")),
    _join("u2", "10:00:00", "A", _id("03")),  # u2 -> B (larger id written first)
    _join("u3", "11:00:00", "C", _id("05")),
    _join("u3", "11:00:00", "A", _id("07")),
    _join("u3", "11:00:00", "B", _id("06")),  # u3 -> A (three-way tie)
    _join("u4", "09:00:00", "A", _id("09")),
    _join("u4", "09:00:00", "B", _id("08")),
    _join("u4", "12:00:00", "C", _id("0a")),  # u4 -> C (the tie is not the latest)
    _join("u5", "08:00:00", "C", _id("0b")),  # u5 -> C (one join)
    _join("u6", "10:00:00", "C", _id("0d")),
    _join("u6", "10:00:00", "A", _id("0c")),
    _join("u6", "10:00:00", "C", _id("0d")),  # u6 -> C (the winner resent)
    _join("u7", "10:00:00", "C", _id("0e")),
    _join("u7", "10:00:00", "C", _id("0e")),  # u7 -> C (a resend is no real tie)
    _join("u8", "10:00:00", "B", _id("0000000000AF")),
    _join("u8", "10:00:00", "A", _id("0000000000af")),  # u8 -> A ('a' > 'A' byte-wise)
]


@pytest.mark.parametrize("batch_size", [1, 4, 100])
def test_same_second_guild_joins_go_to_the_larger_event_id(tmp_path: Path, batch_size: int) -> None:
    # GIVEN players whose latest joins share an event_ts, spread over 1, 4 or 18 files
    helpers_sql.write_lake_dir(tmp_path, helpers_sql.table_rows(TIED_JOINS, batch_size=batch_size))
    engine = LocalEngine(SETTINGS, lake_root=tmp_path)

    # WHEN q2 and the guild membership report run
    answers = collect_answers(SETTINGS, engine)
    reports = collect_reports(SETTINGS, engine)
    engine.close()

    # THEN each player counts once, in the guild of the larger event_id, as in the oracle
    # (u1 B, u2 B, u3 A, u4 C, u5 C, u6 C, u7 C, u8 A)
    assert answers["q2"] == {"C": 4, "A": 2, "B": 2}
    assert list(answers["q2"]) == ["C", "A", "B"]
    assert answers["q2"] == compute_answers(TIED_JOINS)["q2"]
    assert reports["guild_membership"] == compute_reports(TIED_JOINS)["guild_membership"]


def test_reports_as_of_a_day_count_only_that_day_and_before(tmp_path: Path) -> None:
    # GIVEN 800 events of 20 players spread over three UTC days, with resends
    events = helpers_sql.make_events(800, 20, seed=4, resend_fraction=0.05, span_seconds=3 * 86400)
    helpers_sql.write_lake_dir(tmp_path, helpers_sql.table_rows(events, batch_size=100))
    engine = LocalEngine(SETTINGS, lake_root=tmp_path)
    first_day = helpers_sql.BASE_TS.date()

    # WHEN the reports run as of the first day, and as of a day after the last event
    backfill = collect_reports(SETTINGS, engine, as_of=first_day)
    everything = collect_reports(SETTINGS, engine, as_of=first_day + timedelta(days=3))
    engine.close()

    # THEN each equals the oracle over the events up to that day: a backfilled report
    # shows that day's state, not today's
    assert backfill == compute_reports(events, as_of=first_day)
    assert everything == compute_reports(events)
    assert backfill != everything


def test_a_report_through_a_view_reads_only_the_days_up_to_as_of(tmp_path: Path) -> None:
    # GIVEN purchases over three UTC days, every day live (batch files, not compacted)
    events = helpers_sql.make_events(600, 20, seed=5, span_seconds=3 * 86400)
    helpers_sql.write_lake_dir(tmp_path, helpers_sql.table_rows(events, batch_size=100))
    days = sorted(p.name for p in (tmp_path / "purchase_events").iterdir())
    first = list((tmp_path / "purchase_events" / days[0]).iterdir())
    every = list((tmp_path / "purchase_events").glob("*/*"))
    assert len(days) >= 3 and len(first) < len(every)
    engine = LocalEngine(SETTINGS, lake_root=tmp_path)
    duck = engine.translate(resolve_sql("player_purchases"))
    # WHEN DuckDB runs the report as of the first day (it reads views/unique_purchases)
    plan = engine._connection().execute(
        "EXPLAIN ANALYZE " + duck.replace(":as_of", "$as_of"),
        {"as_of": days[0][3:], "application_id": ""},
    )
    files_read = sorted(
        int(n) for n in re.findall(r"Total Files Read: (\d+)", plan.fetchall()[0][1])
    )
    engine.close()
    # THEN the rows are read from the first day's files only: the filter on the view's dt
    # reaches the scan; only the live-days check reads its one flag column of every day
    assert files_read == [len(first), len(every)]


def test_the_application_filter_answers_for_that_application_alone(tmp_path: Path) -> None:
    # GIVEN two applications' events in one lake (the same player ids in both games), as the
    # API stamps them
    from chalicelib.query.params import application_params

    events = helpers_sql.make_events(900, 20, seed=11, resend_fraction=0.05)
    for event in events:  # a resend comes from the same game as its original
        event["application_id"] = "game-a" if int(event["event_id"][-2:], 16) % 3 else "game-b"
    helpers_sql.write_lake_dir(tmp_path, helpers_sql.table_rows(events, batch_size=100))
    engine = LocalEngine(SETTINGS, lake_root=tmp_path)
    as_of = date.fromisoformat(max(e["event_ts"] for e in events)[:10])
    # WHEN the questions and reports run for each application and for both
    per_app = {
        app: (
            collect_answers(SETTINGS, engine, application_params(app)),
            collect_reports(SETTINGS, engine, as_of, app),
        )
        for app in ("game-a", "game-b")
    }
    both = collect_answers(SETTINGS, engine)
    engine.close()
    # THEN each equals the oracle over that application's events only, and no filter is
    # the oracle over every event
    for app, (answers, reports) in per_app.items():
        mine = [e for e in events if e["application_id"] == app]
        assert answers == compute_answers(mine), app
        assert reports == compute_reports(mine, as_of=as_of), app
    assert both == compute_answers(events)
    assert per_app["game-a"][0] != per_app["game-b"][0]
