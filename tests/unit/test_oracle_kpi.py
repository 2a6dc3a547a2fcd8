"""The KPI oracle on hand-made edge cases: what each KPI must answer (issue 15's
semantics), before any SQL is compared with it."""

from __future__ import annotations

from datetime import date

from gamepipe import oracle_kpi as ok
from tests.helpers_kpi import event


def _days(rows, key="dt"):
    return [r[key] for r in rows]


def test_days_without_events_are_omitted_and_new_players_need_history():
    # GIVEN a player active on the 1st and 3rd (nothing on the 2nd) and one new on the 3rd
    events = [
        event("a", "2026-01-01"),
        event("a", "2026-01-03"),
        event("b", "2026-01-03"),
    ]
    counted = ok.plays(events)
    # WHEN the daily KPIs are read from the 2nd on (a played before that)
    rows = ok.daily(counted, date(2026, 1, 2), date(2026, 1, 3))
    # THEN the empty day is not a row, and only b is new on the 3rd
    assert rows == [
        {"dt": "2026-01-03", "dau": 2, "new_players": 1, "gold_spent": 0, "payers": 0,
         "gold_per_dau": 0.0},
    ]  # fmt: skip


def test_resends_count_once_and_the_first_copy_wins():
    # GIVEN a purchase sent twice (the same event_id), and a resend whose event_ts moved to
    # the next day: the first copy is the one that counts, so c is not active on the 2nd
    buy = event("a", "2026-01-01", "purchase_sword", amount_purchased=2, price=100)
    moved = event("c", "2026-01-01")
    events = [buy, dict(buy), moved, {**moved, "event_ts": "2026-01-02T09:00:00Z"},
              event("b", "2026-01-02")]  # fmt: skip
    counted = ok.plays(events)
    # WHEN the daily KPIs run
    rows = {r["dt"]: r for r in ok.daily(counted)}
    # THEN gold is 2 x 100 once, one payer, and the moved copy adds no player-day
    assert rows["2026-01-01"]["gold_spent"] == 200 and rows["2026-01-01"]["payers"] == 1
    assert rows["2026-01-01"]["gold_per_dau"] == 100.0
    assert rows["2026-01-02"]["dau"] == 1


def test_invalid_events_do_not_count():
    # GIVEN a valid event and invalid ones (quoted userid, no time zone, unknown type)
    events = [
        event("a", "2026-01-01"),
        event("'b'", "2026-01-01"),
        {**event("c", "2026-01-01"), "event_ts": "2026-01-01T10:00:00"},
        event("d", "2026-01-01", "dance"),
        ["not", "an", "object"],
    ]
    # WHEN / THEN only the valid one is a player
    assert [r["dau"] for r in ok.daily(ok.plays(events))] == [1]


def test_retention_is_null_after_the_last_day_with_events():
    # GIVEN a cohort on the 1st (a, b), a back on the 2nd and the 8th; data ends on the 8th
    events = [
        event("a", "2026-01-01"), event("b", "2026-01-01"),
        event("a", "2026-01-02"), event("a", "2026-01-08"),
        event("c", "2026-01-07"),
    ]  # fmt: skip
    rows = ok.retention(ok.plays(events))
    # THEN d1 and d7 are known, d30 (the 31st) is not; the 7th's cohort knows d1 only
    assert rows == [
        {"cohort": "2026-01-01", "size": 2, "d1": 1, "d7": 1, "d30": None},
        {"cohort": "2026-01-07", "size": 1, "d1": 0, "d7": None, "d30": None},
    ]
    # AND read as of the 7th, the 1st's d7 is not known yet (the 8th is after :end)
    as_of = ok.retention(ok.plays(events), end=date(2026, 1, 7))
    assert as_of[0] == {"cohort": "2026-01-01", "size": 2, "d1": 1, "d7": None, "d30": None}


def test_retention_counts_a_day_without_events_as_known_zero():
    # GIVEN events on the 1st and the 3rd only: day +1 of the 1st's cohort had no events
    events = [event("a", "2026-01-01"), event("b", "2026-01-03")]
    rows = ok.retention(ok.plays(events))
    # THEN its d1 is 0 (the day is before the last day with events), not null
    assert rows[0] == {"cohort": "2026-01-01", "size": 1, "d1": 0, "d7": None, "d30": None}


def test_rolling_windows_and_stickiness():
    # GIVEN a on the 1st, b on the 5th, c on the 8th and the 29th
    events = [
        event("a", "2026-01-01"), event("b", "2026-01-05"),
        event("c", "2026-01-08"), event("c", "2026-01-29"),
    ]  # fmt: skip
    rows = {r["dt"]: r for r in ok.rolling_actives(ok.plays(events))}
    # THEN the 7 days ending the 8th hold b and c; the 28 days hold all three
    assert rows["2026-01-08"] == {"dt": "2026-01-08", "dau": 1, "wau": 2, "mau": 3,
                                  "stickiness": 1 / 3}  # fmt: skip
    # AND the 28 days ending the 29th start on the 2nd: a (1st) has left them
    assert rows["2026-01-29"]["mau"] == 2 and rows["2026-01-29"]["wau"] == 1
    assert _days(ok.rolling_actives(ok.plays(events))) == list(rows)


def test_sessions_per_day():
    # GIVEN two sessions on the 1st (one runs past midnight) and an event with no session
    events = [
        event("a", "2026-01-01", time="10:00:00", session_id="s1"),
        event("a", "2026-01-01", time="23:59:00", session_id="s2"),
        event("a", "2026-01-02", time="00:01:00", session_id="s2"),
        event("b", "2026-01-02"),
    ]
    # THEN each day counts its distinct sessions
    assert ok.sessions(ok.plays(events)) == [
        {"dt": "2026-01-01", "sessions": 2},
        {"dt": "2026-01-02", "sessions": 1},
    ]


def test_progression_funnel_and_exact_median():
    # GIVEN players starting on the 1st reaching level 2 after 0, 1, 3 and 4 days, and
    # level 3 after 2, 5 and 9 days; a resent level_up; a player older than the range
    events = [event(u, "2026-01-01") for u in "abcde"]
    for user, level, day in [("a", 2, 1), ("b", 2, 2), ("c", 2, 4), ("d", 2, 5),
                             ("a", 3, 3), ("b", 3, 6), ("c", 3, 10)]:  # fmt: skip
        events.append(event(user, f"2026-01-{day:02d}", "level_up", level=level))
    events.append(dict(events[-1]))
    events += [event("old", "2025-12-01"), event("old", "2026-01-02", "level_up", level=2)]
    rows = ok.progression(ok.plays(events), date(2026, 1, 1), date(2026, 1, 31))
    # THEN level 1 is every player of the range; medians are the middle (mean of two)
    assert rows == [
        {"level": 1, "players": 5, "median_days": 0.0},
        {"level": 2, "players": 4, "median_days": 2.0},
        {"level": 3, "players": 3, "median_days": 5.0},
    ]


def test_guild_joins_and_switches_per_week():
    # GIVEN a joins A, then B the next week (a switch), then B again (a rejoin, no switch);
    # b joins A and C at the same instant (ordered by event_id)
    late, early = "ffffffff-0000-4000-8000-000000000002", "00000000-0000-4000-8000-000000000001"
    events = [
        event("a", "2026-01-05", "join_guild", guild_name="A"),  # Monday
        event("a", "2026-01-12", "join_guild", guild_name="B"),
        event("a", "2026-01-13", "join_guild", guild_name="B"),
        event("b", "2026-01-11", "join_guild", guild_name="A", event_id=late),
        event("b", "2026-01-11", "join_guild", guild_name="C", event_id=early),
    ]  # fmt: skip
    rows = ok.guilds(ok.plays(events))
    # THEN weeks start on Monday; b's C join came first (smaller event_id), so A is a switch
    assert rows == [
        {"week": "2026-01-05", "guild_name": "A", "joins": 2, "switches_in": 1, "switches_out": 0},
        {"week": "2026-01-05", "guild_name": "C", "joins": 1, "switches_in": 0, "switches_out": 1},
        {"week": "2026-01-12", "guild_name": "A", "joins": 0, "switches_in": 0, "switches_out": 1},
        {"week": "2026-01-12", "guild_name": "B", "joins": 2, "switches_in": 1, "switches_out": 0},
    ]


def test_kpi_answers_have_exactly_the_issues_keys():
    # GIVEN a few events over two days
    events = [event("a", "2026-01-01", "purchase_potion", amount_purchased=3, price=15),
              event("a", "2026-01-02"), event("b", "2026-01-02")]  # fmt: skip
    # WHEN the answers JSON's "kpi" value is computed
    answers = ok.kpi_answers(events)
    # THEN it has exactly these keys, days in order, every cohort
    assert answers == {
        "daily": [
            {"dt": "2026-01-01", "dau": 1, "new_players": 1, "gold_spent": 45, "payers": 1},
            {"dt": "2026-01-02", "dau": 2, "new_players": 1, "gold_spent": 0, "payers": 0},
        ],
        "retention": [
            {"cohort": "2026-01-01", "size": 1, "d1": 1, "d7": None, "d30": None},
            {"cohort": "2026-01-02", "size": 1, "d1": None, "d7": None, "d30": None},
        ],
    }
