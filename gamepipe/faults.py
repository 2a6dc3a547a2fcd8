"""Fault injection on a local pipeline: the faults Kinesis + Lambda + S3 really have, then
replay + compaction, then the books: nothing lost, nothing doubled, answers = oracle.

One moto server (real HTTP) holds every scenario, each in a stage of its own (own stream,
bucket, Glue database: ``gamepipe.fault_lake``, which also keeps the books). Events go
through the API's own ingest code (validation, server ``received_at``, PutRecords), the
local trigger (``gamepipe.runtime``: checkpoints, retries, bisect, S3 on-failure
destination) feeds the consumer's handler, and faults are botocore event hooks on the
consumer's clients (``gamepipe.fault_injection``); a killed trigger is restarted from its
checkpoints. Used by tests/e2e/test_faults.py and bench/faults.py.
"""

from __future__ import annotations

import contextlib
import io
import json
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from chalicelib.consumer import handle_kinesis_event
from chalicelib.ingest import ClientInfo, ingest_events
from chalicelib.maintenance import compact_dirty
from gamepipe.fault_injection import (
    Killed,
    ambiguous_writes,
    function_errors,
    glue_throttled,
    killed_mid_batch,
    s3_unavailable,
)
from gamepipe.fault_lake import Books, Lake, books, new_lake
from gamepipe.generator import generate_events
from gamepipe.replay import replay_deadletters, replay_failed
from gamepipe.runtime.kinesis_poller import KinesisPoller
from gamepipe.runtime.on_failure import s3_on_failure

REQUEST_EVENTS = 50  # events per API request
SHIFT = timedelta(days=1)  # how far a shifted resend moves event_ts
# The application the API's authorizer would stamp: ingest refuses events without one.
APPLICATION = "faults-application"


@dataclass
class FaultResult:
    """One scenario: what was sent and accepted, the books before and after the repair."""

    name: str
    sent: int
    accepted: int  # distinct event_ids the API accepted (a resend is accepted again)
    distinct: int  # distinct event_ids sent: all accepted when the workload fits the window
    before: Books
    after: Books
    notes: dict[str, Any] = field(default_factory=dict)

    def row(self) -> dict[str, Any]:
        """A flat dict for tables and JSON."""
        return {
            "fault": self.name,
            "sent": self.sent,
            "distinct_sent": self.distinct,
            "accepted": self.accepted,
            "landed_before": self.before.landed,
            "duplicated_before": self.before.duplicated,
            "landed_after": self.after.landed,
            "dead_lettered_after": self.after.dead_lettered,
            "lost_after": self.after.lost,
            "duplicated_after": self.after.duplicated,
            "answers_equal_oracle": self.after.answers_equal_oracle,
            **self.notes,
        }


def workload(users: int, events: int, seed: int, start: datetime) -> list[dict[str, Any]]:
    """Generated events (2% resent with the same event_ts), dated from ``start``."""
    return [
        e
        for e in generate_events(users, events, seed, start=start, days=1, resend_fraction=0.02)
        if isinstance(e, dict)
    ]


def shifted_resends(events: list[dict[str, Any]], every: int = 10) -> list[dict[str, Any]]:
    """Every ``every``-th event again (same event_id), its event_ts a day earlier."""
    out = []
    for event in events[::every]:
        copy = dict(event)
        ts = datetime.fromisoformat(str(event["event_ts"]).replace("Z", "+00:00"))
        copy["event_ts"] = (ts - SHIFT).isoformat().replace("+00:00", "Z")
        out.append(copy)
    return out


def send(lake: Lake, events: list[dict[str, Any]]) -> list[str]:
    """POST the events through the API's ingest code, 50 per request; accepted ids."""
    info = ClientInfo(
        host="faults.example", user_agent="gamepipe-faults", application_id=APPLICATION
    )
    accepted: list[str] = []
    for i in range(0, len(events), REQUEST_EVENTS):
        body = json.dumps({"events": events[i : i + REQUEST_EVENTS]}).encode()
        accepted += ingest_events(body, info, lake.settings, lake.kinesis).event_ids
    return accepted


def poller(lake: Lake, *, batch_size: int = 40, max_retries: int = 2) -> KinesisPoller:
    """The local trigger for the consumer's handler, resuming from the lake's checkpoints."""
    catalog = lake.catalog()

    def invoke(event: dict[str, Any]) -> Any:
        lake.invocations += 1
        # the summary + EMF lines, and the write failures we cause on purpose
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            return handle_kinesis_event(event, lake.settings, s3=lake.s3, catalog=catalog)

    trigger = KinesisPoller(
        lake.kinesis,
        lake.settings.stream_name,
        invoke,
        checkpoint_path=lake.checkpoint,
        batch_size=batch_size,
        max_retries=max_retries,
        poll_interval=0.01,
    )
    trigger.on_failure = s3_on_failure(lake.clean_s3, lake.settings.data_bucket, trigger.esm_uuid)
    return trigger


def drain(lake: Lake, **kwargs: Any) -> int:
    """Consume everything; a ``Killed`` trigger is restarted from its checkpoints. Restarts."""
    restarts = 0
    while True:
        try:
            poller(lake, **kwargs).drain(timeout=120)
            return restarts
        except Killed:
            restarts += 1


def repair(lake: Lake) -> dict[str, Any]:
    """What an operator runs after an incident: replay both, then compact."""
    catalog = lake.catalog()
    with contextlib.redirect_stdout(io.StringIO()):
        failed = replay_failed(lake.clean_s3, lake.settings, catalog)
        dead = replay_deadletters(lake.clean_s3, lake.settings, catalog)
        again = replay_failed(lake.clean_s3, lake.settings, catalog)
    run = compact_dirty(lake.clean_s3, lake.settings)
    return {
        "failed_batches_replayed": failed.replayed,
        "second_replay_replayed": again.replayed,
        "deadletters_reingested": dead.lines_valid_now,
        "compaction_cross_partition_losers": run.cross_partition_losers,
    }


# -- scenarios ---------------------------------------------------------------------------------


def run_fault(
    name: str,
    workdir: Path,
    *,
    users: int = 20,
    events: int = 300,
    seed: int = 11,
    now: datetime | None = None,
) -> FaultResult:
    """One scenario on the current endpoint: send, consume under the fault, repair, count."""
    now = now or datetime.now(UTC)
    # 6 days back (shifted resends 7): old days, still inside the API's and the consumer's
    # event-time window (45 days, chalicelib/contract/rules.py)
    lake = new_lake(f"f-{name.replace('_', '-')}"[:16], workdir)
    truth = workload(users, events, seed, now - timedelta(days=6))
    notes: dict[str, Any] = {}
    if name == "shifted_resends":
        truth = truth + shifted_resends(truth)
    if name == "missing_bucket":
        lake.clean_s3.delete_bucket(Bucket=lake.settings.data_bucket)
    accepted = send(lake, truth)
    fault = {
        "s3_unavailable": lambda: s3_unavailable(lake, invocations=8),
        "ambiguous_writes": lambda: ambiguous_writes(lake, every=13),
        "glue_throttling": lambda: glue_throttled(lake, calls=4),
        "killed_mid_batch": lambda: killed_mid_batch(lake, at_put=3, times=3),
        "bisected_redelivery": lambda: function_errors(lake, at_put=2, times=3),
        "missing_bucket": contextlib.nullcontext,
        "shifted_resends": contextlib.nullcontext,
    }[name]
    with fault():
        if name == "missing_bucket":
            trigger = poller(lake)
            for _ in range(40):
                trigger.poll_once()  # no crash, nothing checkpointed past what failed
            notes["destination_errors"] = trigger.stats.destination_errors
            lake.clean_s3.create_bucket(Bucket=lake.settings.data_bucket)
            trigger.drain(timeout=120)
        else:
            notes["restarts"] = drain(lake)
    notes["faults_injected"] = lake.injected
    before = books(lake, accepted)
    notes.update(repair(lake))
    after = books(lake, accepted, truth)
    distinct = len({e["event_id"] for e in truth})
    return FaultResult(name, len(truth), len(set(accepted)), distinct, before, after, notes)


FAULTS = (
    "s3_unavailable",
    "ambiguous_writes",
    "glue_throttling",
    "killed_mid_batch",
    "bisected_redelivery",
    "missing_bucket",
    "shifted_resends",
)


def run_all(names: tuple[str, ...] = FAULTS, **kwargs: Any) -> list[FaultResult]:
    """Every scenario on one in-process moto server."""
    from gamepipe.stack.moto_server import in_process

    with in_process(), tempfile.TemporaryDirectory() as tmp:
        return [run_fault(name, Path(tmp), **kwargs) for name in names]


def render(results: list[FaultResult]) -> str:
    """The fault table (markdown)."""
    head = (
        "| fault | sent | accepted | landed / duplicated before | landed / duplicated after "
        "| lost after | = oracle |\n|---|---:|---:|---:|---:|---:|---|"
    )
    rows = [
        f"| {r.name} | {r.sent} | {r.accepted} | {r.before.landed} / {r.before.duplicated} "
        f"| {r.after.landed} / {r.after.duplicated} | {r.after.lost} "
        f"| {'yes' if r.after.answers_equal_oracle else 'NO'} |"
        for r in results
    ]
    return "\n".join([head, *rows])
