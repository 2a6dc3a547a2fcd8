"""`gamepipe demo` end to end on the embedded target, over real HTTP, against the oracle.

Also: kill the local Kinesis trigger mid-run and restart it; answers still equal the oracle.
"""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from gamepipe.screenshot import find_chromium
from tests.helpers_runtime import assert_all_stopped, gamepipe_cmd, oracle_answers, run_demo

ROOT = Path(__file__).resolve().parents[2]


def test_demo_embedded_answers_equal_oracle(tmp_path: Path, e2e_env: dict[str, str]) -> None:
    # GIVEN the seed's workload (100 players, 1,000 events) with some invalid events
    # WHEN the demo runs on the embedded target (moto server + chalice local + poller)
    proc, demo, truth = run_demo(tmp_path, e2e_env, target="embedded", seed=7, timeout=300)
    # THEN it exits 0, prints the answers and where things are
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Q7. How many players were attacked" in proc.stdout
    assert "s3://gamepipe-local-data/tables/" in proc.stdout
    assert "Answers equal the oracle's: yes (the 7 questions and the KPIs" in proc.stdout
    # AND its answers JSON (the 7 answers and the KPIs) equals the oracle's over the truth
    # file, with the KPIs' keys exactly those of issue 15
    answers = json.loads((tmp_path / "answers.json").read_text())
    assert answers == oracle_answers(truth)
    assert list(answers["kpi"]) == ["daily", "retention"] and answers["kpi"]["daily"]
    assert list(answers["kpi"]["daily"][0]) == ["dt", "dau", "new_players", "gold_spent", "payers"]
    assert list(answers["kpi"]["retention"][0]) == ["cohort", "size", "d1", "d7", "d30"]
    # AND every event is counted: sent = accepted + rejected, accepted = rows + dead + dropped
    counts = demo["counts"]
    assert counts["rejected"] > 0 and counts["rows"] > 0
    assert counts["sent"] == counts["accepted"] + counts["rejected"]
    assert counts["accepted"] == (
        counts["rows"] + counts["dead_lettered"] + counts["duplicates_dropped"]
    )
    # AND the report was written, with a local copy that outlives the emulator
    assert Path(demo["locations"]["reports (local copy)"]).read_text().startswith("<!")
    # AND a screenshot of its dashboard next to it (or, without chromium, how to get one)
    shot = demo["locations"]["dashboard screenshot"]
    if find_chromium():
        assert Path(shot).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", shot
        assert re.search(rf"^  dashboard screenshot +{re.escape(shot)}$", proc.stdout, re.M)
    else:
        assert "apt-get install" in shot
    # AND everything it started is stopped
    assert_all_stopped(demo["pids"])


def _wait_for(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(what)
        time.sleep(0.02)


def test_kill_consumer_mid_run_and_restart(tmp_path: Path, e2e_env: dict[str, str]) -> None:
    # GIVEN a long-running stack (emulator + API, no consumer) in a private state dir
    state_dir = Path(e2e_env["GAMEPIPE_STATE_DIR"])
    today = datetime.now(UTC).date()
    up = subprocess.run(
        gamepipe_cmd("stack", "up", "--no-consumer"),
        cwd=ROOT,
        env=e2e_env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert up.returncode == 0, up.stderr[-3000:]
    state = json.loads((state_dir / "stack.json").read_text())
    try:
        # AND events sent over HTTP to the API
        truth = tmp_path / "truth.ndjson"
        gen = subprocess.run(
            gamepipe_cmd(
                "generate",
                "--target",
                state["api_url"],
                "--users",
                "100",
                "--events",
                "1500",
                "--seed",
                "11",
                "--batch-size",
                "20",
                "--truth",
                str(truth),
                "--quiet",
            ),
            cwd=ROOT,
            env=e2e_env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert gen.returncode == 0, gen.stderr[-3000:]
        # WHEN the trigger runs with 1-record batches and is SIGKILLed after its first checkpoint
        ckpt = state_dir / "checkpoints" / "consume_events.json"
        consume = subprocess.Popen(
            gamepipe_cmd("consume", "--follow", "--batch-size", "1"),
            cwd=ROOT,
            env=e2e_env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            _wait_for(ckpt.exists, 60, "no checkpoint written")
        finally:
            consume.send_signal(signal.SIGKILL)
            consume.wait()
        # AND is restarted to drain the rest
        again = subprocess.run(
            gamepipe_cmd("consume", "--once", "--timeout", "120"),
            cwd=ROOT,
            env=e2e_env,
            capture_output=True,
            text=True,
            timeout=180,
        )
        assert again.returncode == 0, again.stderr[-3000:]
        resumed = json.loads(again.stdout.strip().splitlines()[-1])
        # THEN the restart had work left (the kill really was mid-run)...
        assert resumed["records_delivered"] > 0
        # ...and the lake answers exactly what the oracle does (no loss, no double count)
        answers = _query_answers(state, tmp_path, e2e_env)
        assert answers == oracle_answers(truth)
        # AND any function can be invoked on demand against the same stack (the generator
        # dated its events yesterday: today's report holds them)
        today = datetime.now(UTC).date().isoformat()
        inv = subprocess.run(
            gamepipe_cmd("invoke", "report_now", "--event", json.dumps({"date": today})),
            cwd=ROOT,
            env=e2e_env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert inv.returncode == 0, inv.stderr[-3000:]
        assert json.loads(inv.stdout)["row_counts"]["player_standings"] > 0
    finally:
        subprocess.run(gamepipe_cmd("stack", "down"), cwd=ROOT, env=e2e_env, timeout=60)
    assert_all_stopped(state["pids"])


def _query_answers(state: dict[str, Any], tmp_path: Path, env: dict[str, str]) -> Any:
    """The answers JSON (7 answers, KPIs) from the stack's lake, computed in a child with
    the stack's env."""
    out = tmp_path / "answers.json"
    code = (
        "import json, sys\n"
        "from gamepipe.runtime.lambda_host import apply_stage_environment\n"
        "apply_stage_environment()\n"
        "from chalicelib.settings import Settings\n"
        "from gamepipe.demo import lake_answers\n"
        "json.dump(lake_answers(Settings.from_env()), open(sys.argv[1], 'w'))\n"
    )
    child_env = {**env, **state["env"]}
    subprocess.run(
        [sys.executable, "-c", code, str(out)],
        cwd=ROOT,
        env=child_env,
        check=True,
        timeout=120,
    )
    return json.loads(out.read_text())
