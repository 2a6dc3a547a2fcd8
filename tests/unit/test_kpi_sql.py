"""The KPI SQL (athena_sql/kpi/) equals the KPI oracle: hand-made edge cases, ranges that
cross the 63-day halves of the per-player bit masks, resends, bad events, and a lake that
is partly compacted with late rows (local engine over an on-disk lake, no network)."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from chalicelib.compaction import COMPACTED_NAME, compacted_bytes, merge_files
from chalicelib.query.kpi import KPI_NAMES, check_range, clip_start, collect_kpis
from chalicelib.settings import Settings
from gamepipe import oracle_kpi
from gamepipe.athena.engine import LocalEngine
from gamepipe.generator.lifecycle import generate_lifecycles
from tests import helpers_sql
from tests.helpers_kpi import ORACLES, event, sql_and_oracle

SETTINGS = Settings()
FIRST = date(2026, 1, 1)


def _lake(root: Path, events: list[Any], batch_size: int = 200) -> LocalEngine:
    helpers_sql.write_lake_dir(root, helpers_sql.table_rows(events, batch_size=batch_size))
    return LocalEngine(SETTINGS, lake_root=root)


def _assert_equal(
    engine: LocalEngine,
    counted: list[oracle_kpi.Play],
    start: date,
    end: date,
    names: tuple[str, ...] = (),
) -> None:
    compared = sql_and_oracle(SETTINGS, engine, counted, start, end, names or KPI_NAMES)
    for name, (sql, oracle) in compared.items():
        assert sql, name  # not an empty answer
        assert sql == oracle, name


def _edge_cases() -> list[Any]:
    """Every edge the oracle's unit tests name, in one lake."""
    buy = event("a", "2026-01-01", "purchase_sword", amount_purchased=2, price=100)
    return [
        buy, event("a", "2026-01-03", session_id="s1"), event("b", "2026-01-03", session_id="s1"),
        event("c", "2026-01-07", "join_guild", guild_name="A"),
        event("c", "2026-01-08", "join_guild", guild_name="B"),
        event("c", "2026-01-08", "level_up", level=2),
        event("a", "2026-01-09", "level_up", level=2),
        event("'bad'", "2026-01-09"), ["not an object"],
        dict(buy),  # a resend, in a later batch
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("start", "end"),
    [("2026-01-01", "2026-01-09"), ("2026-01-02", "2026-01-08"), ("2026-01-03", "2026-02-01")],
)
def test_edge_cases_match_the_oracle(tmp_path: Path, start: str, end: str) -> None:
    # GIVEN a lake with a day without events, a resend, bad events, a switch, level ups
    events = _edge_cases()
    engine = _lake(tmp_path, events, batch_size=3)
    # WHEN / THEN every KPI over the range equals the oracle (rows and order)
    _assert_equal(
        engine, oracle_kpi.plays(events), date.fromisoformat(start), date.fromisoformat(end)
    )
    engine.close()


def test_lifecycles_over_long_ranges_match_the_oracle(tmp_path: Path) -> None:
    # GIVEN 130 days of player lives with resends and bad events: ranges reach both halves
    # of the 126-day bit masks
    events = [
        g.event
        for g in generate_lifecycles(
            200, 8_000, 5, days=130, first_day=FIRST, bad_fraction=0.03, resend_fraction=0.05
        )
    ]
    engine = _lake(tmp_path, events, batch_size=500)
    counted = oracle_kpi.plays(events)
    last = FIRST + timedelta(days=129)
    # WHEN / THEN every KPI equals the oracle over the longest range each takes (126 days,
    # 99 for the rolling windows), over one that ends before the last day, and a short one
    longest = ("daily", "retention", "progression", "guilds", "sessions")
    _assert_equal(engine, counted, last - timedelta(days=125), last, longest)
    _assert_equal(engine, counted, last - timedelta(days=98), last)
    _assert_equal(engine, counted, last - timedelta(days=120), last - timedelta(days=22))
    _assert_equal(engine, counted, FIRST + timedelta(days=10), FIRST + timedelta(days=40))
    engine.close()


def test_compacted_days_with_late_rows_match_the_oracle(tmp_path: Path) -> None:
    # GIVEN 20 days of lives with resends, written as batch files
    events = [
        g.event
        for g in generate_lifecycles(200, 6_000, 9, days=20, first_day=FIRST, resend_fraction=0.05)
    ]
    helpers_sql.write_lake_dir(tmp_path, helpers_sql.table_rows(events, batch_size=300))
    # WHEN the first 15 days of every table are compacted as compaction does it
    _compact_days_before(tmp_path, FIRST + timedelta(days=15))
    # AND late rows land in a compacted day: resends of a purchase, a level up and a join
    # that are already there, and new events
    day = str(FIRST + timedelta(days=10))
    late: list[Any] = []
    for kind in ("purchase_potion", "level_up", "join_guild"):
        original = next(
            e for e in events if e["event_type"] == kind and e["event_ts"].startswith(day)
        )
        late += [dict(original), {**original, "event_id": f"{original['event_id'][:-4]}beef"}]
    batches = helpers_sql.table_rows(late, batch_size=100)
    for table, rows in batches[0].items():
        target = tmp_path / table / f"dt={day}" / "late.parquet"
        pq.write_table(helpers_sql.arrow_table(table, rows), target)
    engine = LocalEngine(SETTINGS, lake_root=tmp_path)
    # THEN every KPI equals the oracle over everything sent, resends counted once
    _assert_equal(engine, oracle_kpi.plays(events + late), FIRST, FIRST + timedelta(days=19))
    engine.close()


def test_each_application_gets_its_own_kpis(tmp_path: Path) -> None:
    # GIVEN two games in one lake with the same player ids, on overlapping days, resends
    # and bad events in, the first 12 days compacted
    games = {
        "game-a": _lives(180, 5_000, seed=5, first=FIRST),
        "game-b": _lives(120, 3_000, seed=6, first=FIRST + timedelta(days=6)),
    }
    batches = []
    for application_id, events in games.items():
        for batch in helpers_sql.table_rows(events, batch_size=250):
            for rows in batch.values():
                for row in rows:
                    row["application_id"] = application_id  # as the API stamps it
            batches.append(batch)
    helpers_sql.write_lake_dir(tmp_path, batches)
    _compact_days_before(tmp_path, FIRST + timedelta(days=12))
    engine = LocalEngine(SETTINGS, lake_root=tmp_path)
    start, end = FIRST, FIRST + timedelta(days=25)
    # WHEN each KPI runs for one application THEN it equals the oracle over that game's
    # events alone (its own new players, cohorts, guild switches)
    for application_id, events in games.items():
        results = collect_kpis(SETTINGS, start, end, engine=engine, application_id=application_id)
        counted = oracle_kpi.plays(events)
        for name in KPI_NAMES:
            assert results[name].to_pylist() == ORACLES[name](counted, start, end), name
    # AND without a filter, every application's events count (one player id, one player)
    both = oracle_kpi.plays(games["game-a"] + games["game-b"])
    results = collect_kpis(SETTINGS, start, end, engine=engine)
    for name in KPI_NAMES:
        assert results[name].to_pylist() == ORACLES[name](both, start, end), name
    engine.close()


def _lives(users: int, events: int, *, seed: int, first: date) -> list[Any]:
    return [
        g.event
        for g in generate_lifecycles(
            users, events, seed, days=20, first_day=first, bad_fraction=0.02, resend_fraction=0.04
        )
    ]


def _compact_days_before(root: Path, day: date) -> None:
    """Merge every partition of ``root`` before ``day`` into one file, as compaction does."""
    for folder in sorted(root.glob("*/dt=*")):
        if folder.name < f"dt={day}":
            files = sorted(folder.glob("*.parquet"))
            merged = merge_files(folder.parent.name, [pq.read_table(f) for f in files])
            for f in files:
                f.unlink()
            (folder / COMPACTED_NAME).write_bytes(compacted_bytes(merged))


def test_ranges_longer_than_the_masks_are_refused() -> None:
    # GIVEN / WHEN / THEN a range past a statement's reach raises instead of answering part
    check_range("daily", FIRST, FIRST + timedelta(days=125))
    with pytest.raises(ValueError, match="at most 126 days"):
        check_range("daily", FIRST, FIRST + timedelta(days=126))
    with pytest.raises(ValueError, match="at most 99 days"):
        check_range("active_users", FIRST, FIRST + timedelta(days=99))
    with pytest.raises(ValueError, match="before start"):
        check_range("retention", FIRST, FIRST - timedelta(days=1))
    assert clip_start("active_users", FIRST, FIRST + timedelta(days=200)) == FIRST + timedelta(
        days=102
    )
