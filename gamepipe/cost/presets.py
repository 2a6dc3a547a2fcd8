"""Named settings (what the repository deploys, what docs/cost.md recommends), the levers
between them, and how a preset, measured figures and overrides make the model's inputs."""

from __future__ import annotations

import dataclasses
from typing import Any

from gamepipe.cost.inputs import Inputs
from gamepipe.cost.measured import MeasuredFigures
from gamepipe.cost.model import Estimate, estimate

PRESETS: dict[str, dict[str, Any]] = {
    # What the repository deploys today (.chalice/config.json, chalicelib/settings.py).
    "deployed": {},
    # The settings docs/cost.md recommends for production.
    "recommended": {
        "ingest": "http",
        "events_per_request": 100,
        "ingest_memory_mb": 256,
        "arch": "arm",
        "batch_size": 10_000,
        "batch_window_s": 60.0,
        "consumer_memory_mb": 1769,
        "glue_requests_per_lane_day": 0.0,
        "glue_requests_per_query": 1.0,
        "compaction_interval_h": 1.0,
        "log_bytes_per_invocation": 300.0,
        "query_days": 1.0,
        "report_days": 1.0,
    },
}


def build_inputs(
    events_per_day: float,
    avg_bytes: float,
    preset: str = "deployed",
    measured: MeasuredFigures | None = None,
    overrides: dict[str, Any] | None = None,
) -> tuple[Inputs, dict[str, str]]:
    """Inputs from a preset, then measured figures, then explicit overrides; plus sources."""
    values: dict[str, Any] = {"events_per_day": events_per_day, "avg_bytes": avg_bytes}
    sources: dict[str, str] = {}
    values.update(PRESETS[preset])
    for k in PRESETS[preset]:
        sources[k] = f"preset {preset}"
    for k, figure in (measured or MeasuredFigures()).found().items():
        values[k] = figure.value
        sources[k] = f"measured ({figure.source})"
    for k, v in (overrides or {}).items():
        if v is not None:
            values[k] = v
            sources[k] = "command line"
    return Inputs(**values), sources


# The design choices from the deployed settings to the recommended ones, applied one at a
# time (cumulative) so docs/cost.md can show what each is worth.
LEVERS: list[tuple[str, dict[str, Any]]] = [
    ("clients send 100 events per request (was 20)", {"events_per_request": 100}),
    ("HTTP API instead of REST API", {"ingest": "http"}),
    ("consumer batching window 60 s, batch size 10,000", {"batch_window_s": 60.0,
                                                          "batch_size": 10_000}),
    ("hourly compaction of small files", {"compaction_interval_h": 1.0}),
    ("questions and reports filter on dt: scan 1 day, not all retained days",
     {"query_days": 1.0, "report_days": 1.0}),
    ("partition projection (no Glue partition calls)", {"glue_requests_per_lane_day": 0.0,
                                                        "glue_requests_per_query": 1.0}),
    ("right-sized Lambdas on arm64 (ingest 256 MB, consumer 1,769 MB)",
     {"ingest_memory_mb": 256, "consumer_memory_mb": 1769, "arch": "arm",
      "log_bytes_per_invocation": 300.0}),
]  # fmt: skip


def lever_steps(
    events_per_day: float,
    avg_bytes: float,
    measured: MeasuredFigures | None = None,
) -> list[tuple[str, Estimate]]:
    """Estimates from the deployed preset through each lever in turn (cumulative)."""
    changes: dict[str, Any] = {}
    inp, _ = build_inputs(events_per_day, avg_bytes, "deployed", measured)
    steps = [("deployed settings", estimate(inp))]
    for label, change in LEVERS:
        changes.update(change)
        inp, _ = build_inputs(events_per_day, avg_bytes, "deployed", measured, changes)
        steps.append((label, estimate(inp)))
    direct = dataclasses.replace(inp, ingest="direct")
    steps.append(("alternative: game backend calls Kinesis PutRecords directly", estimate(direct)))
    return steps
