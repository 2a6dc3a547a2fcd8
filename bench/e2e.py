"""End-to-end events/s through the whole local pipeline, per target.

``gamepipe demo`` in a child process (generator over HTTP -> ``chalice local`` -> Kinesis ->
local trigger -> consumer -> Parquet on S3 + Glue), reports off. Throughput = events the API
accepted / (generate-while-consuming time + final drain time). Also the demo's wall time.
``--quick``: 1,000 events; full: 1,000,000 on the embedded target and 20,000 on LocalStack
(its Kinesis takes ~1k records/s, docs/design-local.md). Measured under load on a shared
2-core machine.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common import Figure, main

INGEST_STEP = "generate + ingest over HTTP (consumer running)"
DRAIN_STEP = "drain stream through the consumer"


def one(target: str, events: int) -> tuple[float, float, dict[str, object]]:
    """(events/s, demo wall seconds, demo.json) of one demo run."""
    run_dir = Path(tempfile.mkdtemp(prefix=f"e2e-{target}-"))
    started = time.perf_counter()
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "gamepipe.cli",
            "demo",
            "--target",
            target,
            "--users",
            str(max(100, events // 100)),
            "--events",
            str(events),
            "--seed",
            "1",
            "--no-reports",
            "--run-dir",
            str(run_dir),
        ],
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
    )
    wall = time.perf_counter() - started
    if proc.returncode != 0:
        raise RuntimeError(f"demo on {target} failed: {proc.stderr[-2000:]}")
    demo = json.loads((run_dir / "demo.json").read_text())
    timings = demo["timings"]
    accepted = int(demo["generator"].get("accepted", events))
    return accepted / (timings[INGEST_STEP] + timings[DRAIN_STEP]), wall, demo


def run(quick: bool) -> list[Figure]:
    """events/s and demo wall time per target."""
    sizes = {"embedded": 1_000 if quick else 1_000_000, "localstack": 1_000 if quick else 20_000}
    figures = []
    for target, events in sizes.items():
        try:
            eps, wall, demo = one(target, events)
        except Exception as exc:  # one target failing must not hide the other's figure
            print(f"e2e on {target}: {exc}", file=sys.stderr)
            continue
        c = demo["consumer"]
        note = (
            f"API -> Kinesis (4 shards) -> local trigger -> consumer -> S3/Glue; "
            f"{c.get('invocations')} invocations; measured under load"
        )
        figures += [
            Figure(
                "e2e",
                f"end-to-end events/s, {target} ({events} events)",
                "events/s",
                [eps],
                note=note,
            ),
            Figure(
                "e2e",
                f"demo wall time, {target} ({events} events)",
                "s",
                [wall],
                note="incl. start/stop of the stack and the 7 questions",
            ),
        ]
        figures += [
            Figure(
                "e2e",
                f"peak RSS {process}, {target} ({events} events)",
                "MB",
                [mb],
                note="VmHWM of the main process (ru_maxrss for the generator and the demo)",
            )
            for process, mb in sorted(dict(demo.get("peak_rss_mb", {})).items())
        ]
    return figures


if __name__ == "__main__":
    main(run)
