"""Test helpers of the local runtime: a stream with records, a recording handler."""

from __future__ import annotations

import json
from typing import Any


def put_events(kinesis: Any, stream: str, n: int, *, prefix: str = "e") -> list[str]:
    """Put ``n`` one-event records (partition key = userid); return their event ids in order."""
    ids = []
    for i in range(n):
        eid = f"{prefix}{i:05d}"
        body = {"event_id": eid, "userid": f"user-{i % 7}", "event_type": "level_up"}
        kinesis.put_record(
            StreamName=stream, Data=json.dumps(body).encode(), PartitionKey=body["userid"]
        )
        ids.append(eid)
    return ids


class RecordingHandler:
    """A fake Lambda: remembers every event id it was given; can fail chosen sequence numbers."""

    def __init__(self, fail_ids: set[str] | None = None, fail_times: int = 1) -> None:
        self.events: list[dict[str, Any]] = []
        self.seen: list[str] = []
        self.fail_ids = set(fail_ids or ())
        self.fail_times = fail_times
        self._failed: dict[str, int] = {}

    def __call__(self, event: dict[str, Any]) -> dict[str, Any]:
        import base64

        self.events.append(event)
        failures = []
        for rec in event["Records"]:
            body = json.loads(base64.b64decode(rec["kinesis"]["data"]))
            eid = body["event_id"]
            if eid in self.fail_ids and self._failed.get(eid, 0) < self.fail_times:
                self._failed[eid] = self._failed.get(eid, 0) + 1
                failures.append({"itemIdentifier": rec["kinesis"]["sequenceNumber"]})
                # Lambda semantics: records after a failure are redelivered too, don't count them
                break
            self.seen.append(eid)
        return {"batchItemFailures": failures}


def gamepipe_cmd(*args: str) -> list[str]:
    """argv running the project's ``gamepipe`` CLI with this interpreter."""
    import sys

    return [sys.executable, "-m", "gamepipe.cli", *args]


def run_demo(
    tmp_path: Any, env: dict[str, str], *, target: str, seed: int, timeout: float
) -> tuple[Any, dict[str, Any], Any]:
    """Run ``gamepipe demo`` on the seed's workload (100 players, 1,000 events, 3% invalid).

    Returns the finished process, the run's ``demo.json`` ({} when missing) and the
    truth file; the answers JSON is ``tmp_path / "answers.json"``.
    """
    import subprocess
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    truth, run_dir = tmp_path / "truth.ndjson", tmp_path / "run"
    argv = gamepipe_cmd(
        "demo",
        *("--target", target, "--users", "100", "--events", "1000", "--seed", str(seed)),
        *("--bad-fraction", "0.03", "--answers-json", str(tmp_path / "answers.json")),
        *("--truth", str(truth), "--run-dir", str(run_dir)),
    )
    proc = subprocess.run(
        argv, cwd=root, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    demo_json = run_dir / "demo.json"
    demo = json.loads(demo_json.read_text()) if demo_json.exists() else {}
    return proc, demo, truth


def oracle_answers(truth_path: Any) -> dict[str, Any]:
    """The oracle's answers JSON (the 7 answers and "kpi") for a generator truth file."""
    from gamepipe.oracle import compute_answers_json, load_truth

    return compute_answers_json(load_truth(truth_path))


def assert_all_stopped(pids: dict[str, int]) -> None:
    """Every process the run recorded is gone (or a zombie awaiting its reaper)."""
    from gamepipe.stack.procs import alive

    left = {name: pid for name, pid in pids.items() if alive(pid)}
    assert not left, f"processes left running: {left}"
