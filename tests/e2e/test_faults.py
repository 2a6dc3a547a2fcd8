"""The fault suite: each fault on a moto server over HTTP, then replay + compaction, then
0 events lost, 0 duplicate rows, answers equal to the oracle (gamepipe/faults.py); and the
acceptance run on a real local stack through the CLI (resends of 6-day-old events).
"""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from gamepipe import faults
from tests.helpers_runtime import assert_all_stopped, gamepipe_cmd

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    from gamepipe.stack.moto_server import in_process

    with in_process():
        yield tmp_path_factory.mktemp("faults")


@pytest.mark.parametrize("name", faults.FAULTS)
def test_fault_then_replay_and_compaction_loses_nothing_and_doubles_nothing(
    server: Path, name: str
) -> None:
    # GIVEN 300 events (2% resent) sent through the API code while the fault is on
    # WHEN the trigger consumed them, then failed batches and dead letters were replayed
    # and every dirty partition compacted
    result = faults.run_fault(name, server)
    # THEN the API accepted every distinct event (the authorizer's application is stamped,
    # the 6-day-old workload is inside the event-time window)
    assert result.accepted == result.distinct > 0, result.row()
    # THEN every accepted event is in the lake (or a dead letter with a reason), once
    assert result.after.lost == 0, result.row()
    assert result.after.landed + result.after.dead_lettered == result.accepted, result.row()
    assert result.after.duplicated == 0, result.row()
    assert result.after.answers_equal_oracle, result.row()
    # AND the fault really fired and hurt before the repair (else this proves nothing)
    hurt = {
        "s3_unavailable": result.before.landed < result.accepted,
        "missing_bucket": result.before.landed < result.accepted,
        "bisected_redelivery": result.before.duplicated > 0,
        "shifted_resends": result.before.duplicated > 0,
        "killed_mid_batch": result.notes.get("restarts", 0) > 0,
    }
    assert hurt.get(name, True), result.row()
    if name not in ("missing_bucket", "shifted_resends"):
        assert result.notes["faults_injected"] > 0, result.row()
    # AND a second replay changed nothing
    assert result.notes["second_replay_replayed"] == 0


def _gamepipe(env: dict[str, str], *args: str, timeout: float = 180) -> Any:
    return subprocess.run(
        gamepipe_cmd(*args), cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout
    )


def _caught_up(env: dict[str, str], timeout: float = 120) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        proc = _gamepipe(env, "status", "--json")
        assert proc.returncode == 0, proc.stderr[-2000:]
        status = json.loads(proc.stdout)
        if status.get("shards") and not any(s["records_waiting"] for s in status["shards"]):
            return status  # type: ignore[no-any-return]
        assert time.monotonic() < deadline, status
        time.sleep(1)


def test_resent_six_day_old_events_count_once_after_gamepipe_compact(
    tmp_path: Path, e2e_env: dict[str, str]
) -> None:
    # GIVEN a running local stack (API + its own consumer)
    env = e2e_env
    up = _gamepipe(env, "stack", "up")
    assert up.returncode == 0, up.stderr[-3000:]
    state = json.loads((Path(env["GAMEPIPE_STATE_DIR"]) / "stack.json").read_text())
    start = (datetime.now(UTC) - timedelta(days=6)).strftime("%Y-%m-%dT%H:%M:%SZ")
    send = ("generate", "--events", "200", "--users", "20", "--seed", "9", "--start", start)
    try:
        # WHEN events dated 6 days ago are sent, then all resent in later batches
        for _ in range(2):
            proc = _gamepipe(env, *send, "--resend-fraction", "0", "--quiet")
            assert proc.returncode == 0, proc.stderr[-3000:]
        status = _caught_up(env)
        assert status["dirty_partitions"] and status["last_batch"]["events_in"] > 0
        # AND `gamepipe compact` runs with no arguments
        compacted = _gamepipe(env, "compact")
        assert compacted.returncode == 0, compacted.stderr[-3000:]
        # THEN in every table count(*) = count(DISTINCT event_id), 200 events in `events`
        for table in ("events", "purchase_events", "character_events", "guild_events"):
            sql = f"SELECT count(*) AS n, count(DISTINCT event_id) AS d FROM {table}"
            query = _gamepipe(env, "query", "--sql", sql, "--format", "json")
            assert query.returncode == 0, query.stderr[-3000:]
            (row,) = json.loads(query.stdout)
            assert row["n"] == row["d"], (table, row)
            if table == "events":
                assert row["n"] == 200
        # AND status shows nothing left to compact, replay works and explains itself
        after = _gamepipe(env, "status")
        assert after.returncode == 0 and "dirty partitions: 0" in after.stdout, after.stdout
        assert "failed batches waiting for replay: 0" in after.stdout
        helps = _gamepipe(env, "replay", "--help")
        assert helps.returncode == 0 and "deadletter" in helps.stdout
        replayed = _gamepipe(env, "replay", "failed")
        assert replayed.returncode == 0 and json.loads(replayed.stdout)["found"] == 0
    finally:
        _gamepipe(env, "stack", "down")
    assert_all_stopped(state["pids"])
