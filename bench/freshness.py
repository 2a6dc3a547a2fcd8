"""Freshness: time from the API's 200 to the event being visible to a local query.

Per target (embedded, localstack): start the stack, ``chalice local``, the local Kinesis
trigger (in-process consumer, following), then send single-event requests at a steady
rate; a checker re-reads the catalog (no cache) and runs ``SELECT event_id FROM events``
in a loop, noting when each id first shows up. Each target runs in its own child process
(clean env, clients and caches). ``--quick``: 30 events at 10/s; full: 200 at 5/s.

Measured under load on a shared 2-core machine: the figures are noisy.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.common import Figure, main

TARGET_P95_MS = {"embedded": 3000.0}


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(q * (len(ordered) - 1))))
    return ordered[k]


def _event(i: int) -> dict[str, Any]:
    return {
        "event_id": str(uuid.uuid4()),
        "event_type": "find_treasure",
        "userid": f"fresh-{i:05d}",
        "event_ts": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "description": "freshness probe",
    }


def measure(target: str, events: int, rate: float, timeout: float = 120.0) -> dict[str, Any]:
    """Run one target end to end; return per-event latencies (ms) and counts."""
    import requests

    from chalicelib.query import make_engine
    from gamepipe.runtime.lambda_host import load_app, with_log
    from gamepipe.runtime.mapping import make_poller
    from gamepipe.stack.launch import launch

    run_dir = Path(tempfile.mkdtemp(prefix=f"fresh-{target}-"))
    stack = launch(target, run_dir)
    try:
        settings, url = stack.settings, stack.api_url
        poller = make_poller(load_app(stage="local"), settings, run_dir / "ckpt")
        poller.invoke = with_log(poller.invoke, run_dir / "logs" / "consume_events.log")
        stop = threading.Event()
        follower = threading.Thread(target=poller.follow, args=(stop,), daemon=True)
        follower.start()
        engine = make_engine(settings, ttl_seconds=0.0)  # re-read Glue + S3 listing every query
        ok_at: dict[str, float] = {}
        seen_at: dict[str, float] = {}

        def send() -> None:
            http = requests.Session()
            http.headers["Authorization"] = stack.env["GAMEPIPE_API_KEY"]  # the stack's app
            for i in range(events):
                ev = _event(i)
                started = time.perf_counter()
                r = http.post(f"{url}/v1/events", json={"events": [ev]}, timeout=30)
                if r.status_code == 200:
                    ok_at[ev["event_id"]] = time.perf_counter()
                time.sleep(max(0.0, 1.0 / rate - (time.perf_counter() - started)))

        sender = threading.Thread(target=send, daemon=True)
        sender.start()
        deadline = time.monotonic() + timeout + events / rate
        query_ms: list[float] = []
        while time.monotonic() < deadline:
            q0 = time.perf_counter()
            try:
                ids = engine.execute("SELECT event_id FROM events").column(0).to_pylist()
            except Exception:  # before the first partition exists the table has no files
                ids = []
            now = time.perf_counter()
            query_ms.append((now - q0) * 1000)
            for eid in ids:
                if eid in ok_at and eid not in seen_at:
                    seen_at[eid] = now
            if not sender.is_alive() and len(seen_at) >= len(ok_at):
                break
            time.sleep(0.02)
        stop.set()
        follower.join(timeout=30)
        latencies = [(seen_at[e] - ok_at[e]) * 1000 for e in seen_at]
        return {
            "target": target,
            "sent_ok": len(ok_at),
            "visible": len(seen_at),
            "latencies_ms": latencies,
            "query_ms_median": statistics.median(query_ms) if query_ms else None,
        }
    finally:
        stack.stop()


def run(quick: bool) -> list[Figure]:
    """p50/p95 freshness per target, each target measured in its own child process."""
    events, rate = (30, 10.0) if quick else (200, 5.0)
    figures = []
    for target in ("embedded", "localstack"):
        proc = subprocess.run(
            [sys.executable, "-m", "bench.freshness", "--one", target, str(events), str(rate)],
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
        )
        if proc.returncode != 0:
            print(f"freshness on {target} failed:\n{proc.stderr[-2000:]}", file=sys.stderr)
            continue
        res = json.loads(proc.stdout.strip().splitlines()[-1])
        lat = res["latencies_ms"]
        note = (
            f"{res['visible']}/{res['sent_ok']} events visible; {rate:g} events/s, 1 per request; "
            f"checker query median {res['query_ms_median']:.0f} ms (included); measured under load"
        )
        tgt = TARGET_P95_MS.get(target)
        figures += [
            Figure(
                "freshness",
                f"freshness p50, {target} ({events} events)",
                "ms",
                [_percentile(lat, 0.5)],
                note=note,
            ),
            Figure(
                "freshness",
                f"freshness p95, {target} ({events} events)",
                "ms",
                [_percentile(lat, 0.95)],
                target=f"<= {tgt:.0f}" if tgt else "",
                note=note,
            ),
        ]
    return figures


if __name__ == "__main__":
    if len(sys.argv) >= 5 and sys.argv[1] == "--one":
        result = measure(sys.argv[2], int(sys.argv[3]), rate=float(sys.argv[4]))
        print(json.dumps(result))
    else:
        main(run)
