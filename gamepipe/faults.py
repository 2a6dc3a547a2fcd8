"""Fault injection on a local pipeline: the faults Kinesis + Lambda + S3 really have, then
replay + compaction, then the books: nothing lost, nothing doubled, answers = oracle.

One moto server (real HTTP) holds every scenario, each in a stage of its own (own stream,
bucket, Glue database). Events go through the API's own ingest code (validation, server
``received_at``, PutRecords), the local trigger (``gamepipe.runtime``: checkpoints, retries,
bisect, S3 on-failure destination) feeds the consumer's handler, and faults are botocore
event hooks on the consumer's clients: ``before-call`` raises as if S3 or Glue failed,
``after-call`` raises after S3 stored the object (an ambiguous write), a ``Killed``
(BaseException) ends the trigger the way a killed process would (restarted from its
checkpoints). Used by tests/e2e/test_faults.py and bench/faults.py.
"""

from __future__ import annotations

import contextlib
import io
import json
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pyarrow.parquet as pq
from botocore.config import Config
from botocore.exceptions import ClientError

from chalicelib.consumer import handle_kinesis_event
from chalicelib.glue_catalog import Catalog
from chalicelib.ingest import ClientInfo, ingest_events
from chalicelib.maintenance import compact_dirty
from chalicelib.settings import Settings
from chalicelib.tables import TABLES
from gamepipe.generator import generate_events
from gamepipe.replay import replay_deadletters, replay_failed
from gamepipe.runtime.kinesis_poller import KinesisPoller
from gamepipe.runtime.on_failure import s3_on_failure
from gamepipe.stack.resources import create_resources

REQUEST_EVENTS = 50  # events per API request
SHIFT = timedelta(days=1)  # how far a shifted resend moves event_ts
# the consumer's clients fail fast: the trigger's retries are what is under test
_CLIENT = Config(retries={"max_attempts": 1, "mode": "standard"})


class Killed(BaseException):
    """The consumer's process died mid-batch (not an Exception: nothing catches it)."""


@dataclass
class Books:
    """Counts of one moment: what was accepted and where it is."""

    landed: int  # accepted event_ids in the `events` table
    dead_lettered: int  # accepted event_ids in the dead letters (with a reason)
    lost: int  # accepted event_ids in neither
    duplicated: int  # rows beyond one per event_id, summed over the five tables
    answers_equal_oracle: bool | None = None


@dataclass
class FaultResult:
    """One scenario: what was sent and accepted, the books before and after the repair."""

    name: str
    sent: int
    accepted: int  # distinct event_ids the API accepted (a resend is accepted again)
    before: Books
    after: Books
    notes: dict[str, Any] = field(default_factory=dict)

    def row(self) -> dict[str, Any]:
        """A flat dict for tables and JSON."""
        return {
            "fault": self.name,
            "sent": self.sent,
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


@dataclass
class Lake:
    """One scenario's stage on the shared server, and the consumer's (faulty) clients."""

    settings: Settings
    s3: Any  # the consumer's, hooks installed here
    glue: Any
    kinesis: Any
    clean_s3: Any  # for the books: never faulty
    checkpoint: Path
    invocations: int = 0
    injected: int = 0  # faults that fired

    def catalog(self) -> Catalog:
        """A fresh catalog cache, as a new Lambda container has."""
        return Catalog(self.glue, self.settings)


def new_lake(stage: str, workdir: Path, shards: int = 2) -> Lake:
    """Create ``stage``'s stream, buckets and Glue tables on the current endpoint."""
    settings = Settings.from_env({"GAMEPIPE_STAGE": stage})
    session = boto3.session.Session()
    clean = session.client("s3")
    create_resources(
        settings,
        shards,
        kinesis=session.client("kinesis"),
        s3=clean,
        glue=session.client("glue"),
    )
    return Lake(
        settings,
        session.client("s3", config=_CLIENT),
        session.client("glue", config=_CLIENT),
        session.client("kinesis"),
        clean,
        workdir / f"{stage}-checkpoints.json",
    )


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
    info = ClientInfo(host="faults.example", user_agent="gamepipe-faults")
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


def _table_ids(lake: Lake, table: str) -> list[str]:
    bucket, prefix = lake.settings.data_bucket, f"{lake.settings.data_prefix}/{table}/"
    ids: list[str] = []
    pages = lake.clean_s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
    for page in pages:
        for obj in page.get("Contents", []):
            body = lake.clean_s3.get_object(Bucket=bucket, Key=obj["Key"])["Body"].read()
            ids += pq.read_table(io.BytesIO(body), columns=["event_id"]).column(0).to_pylist()
    return ids


def _dead_letter_ids(lake: Lake) -> set[str]:
    bucket, out = lake.settings.data_bucket, set()
    prefix = f"{lake.settings.deadletter_prefix}/"
    pages = lake.clean_s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
    for page in pages:
        for obj in page.get("Contents", []):
            body = lake.clean_s3.get_object(Bucket=bucket, Key=obj["Key"])["Body"].read()
            for line in body.splitlines():
                item = json.loads(line)
                with contextlib.suppress(ValueError, TypeError):
                    if item.get("reason"):
                        out.add(str(json.loads(item["data"]).get("event_id")))
    return out


def books(lake: Lake, accepted: list[str], truth: list[dict[str, Any]] | None = None) -> Books:
    """Where every accepted event is; with ``truth``, whether the answers equal the oracle."""
    per_table = {t: _table_ids(lake, t) for t in TABLES}
    landed = set(per_table["events"])
    dead = _dead_letter_ids(lake) - landed
    wanted = set(accepted)
    result = Books(
        landed=len(wanted & landed),
        dead_lettered=len(wanted & dead),
        lost=len(wanted - landed - dead),
        duplicated=sum(len(ids) - len(set(ids)) for ids in per_table.values()),
    )
    if truth is not None:
        result.answers_equal_oracle = answers_equal_oracle(lake, truth)
    return result


def answers_equal_oracle(lake: Lake, truth: list[dict[str, Any]]) -> bool:
    """The 7 questions on the local engine over the lake == the oracle over what was sent."""
    from chalicelib.query.answers import collect_answers
    from gamepipe.athena.engine import LocalEngine
    from gamepipe.oracle import compute_answers

    session = boto3.session.Session()
    engine = LocalEngine(
        lake.settings,
        glue_client=session.client("glue"),
        s3_client=lake.clean_s3,
        session=session,
    )
    try:
        return bool(collect_answers(lake.settings, engine) == compute_answers(truth))
    finally:
        engine.close()


# -- the faults ------------------------------------------------------------------------------

Hook = Callable[..., None]


def _error(code: str, operation: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": f"injected {code}"}}, operation)


def _is_lake_write(params: dict[str, Any]) -> bool:
    return not str(params.get("Key", "")).startswith("aws/lambda/")  # not the destination


@contextlib.contextmanager
def hooked(client: Any, event: str, hook: Hook) -> Iterator[None]:
    """Install a botocore event hook on ``client`` for the duration."""
    client.meta.events.register(event, hook)
    try:
        yield
    finally:
        client.meta.events.unregister(event, hook)


def s3_unavailable(lake: Lake, invocations: int) -> contextlib.AbstractContextManager[None]:
    """Every lake PutObject fails (503) during the first ``invocations`` invocations."""

    def hook(params: dict[str, Any], **_: Any) -> None:
        if lake.invocations <= invocations and _is_lake_write(params):
            lake.injected += 1
            raise _error("ServiceUnavailable", "PutObject")

    return hooked(lake.s3, "before-call.s3.PutObject", hook)


def ambiguous_writes(lake: Lake, every: int) -> contextlib.AbstractContextManager[None]:
    """Every ``every``-th PutObject is stored, but the client sees an error."""
    calls = [0]

    def hook(**_: Any) -> None:
        calls[0] += 1
        if calls[0] % every == 0:
            lake.injected += 1
            raise _error("InternalError", "PutObject")

    return hooked(lake.s3, "after-call.s3.PutObject", hook)


def glue_throttled(lake: Lake, calls: int) -> contextlib.AbstractContextManager[None]:
    """The first ``calls`` Glue partition calls are throttled."""
    count = [0]

    def hook(**_: Any) -> None:
        count[0] += 1
        if count[0] <= calls:
            lake.injected += 1
            raise _error("ThrottlingException", "BatchCreatePartition")

    return contextlib.ExitStack() if calls == 0 else _glue_hooks(lake, hook)


@contextlib.contextmanager
def _glue_hooks(lake: Lake, hook: Hook) -> Iterator[None]:
    with (
        hooked(lake.glue, "before-call.glue.BatchCreatePartition", hook),
        hooked(lake.glue, "before-call.glue.GetPartitions", hook),
    ):
        yield


def _at_put(
    lake: Lake, at_put: int, times: int, fault: Callable[[], BaseException]
) -> contextlib.AbstractContextManager[None]:
    """Raise ``fault()`` at the ``at_put``-th lake PutObject of an invocation, ``times`` times."""
    state = {"invocation": -1, "puts": 0, "fired": 0}

    def hook(params: dict[str, Any], **_: Any) -> None:
        if state["invocation"] != lake.invocations:
            state["invocation"], state["puts"] = lake.invocations, 0
        state["puts"] += 1
        if state["fired"] < times and state["puts"] == at_put and _is_lake_write(params):
            state["fired"] += 1
            lake.injected += 1
            raise fault()

    return hooked(lake.s3, "before-call.s3.PutObject", hook)


def killed_mid_batch(
    lake: Lake, at_put: int, times: int
) -> contextlib.AbstractContextManager[None]:
    """The process dies mid-batch, ``times`` times (the trigger restarts from checkpoints)."""
    return _at_put(lake, at_put, times, Killed)


def function_errors(lake: Lake, at_put: int, times: int) -> contextlib.AbstractContextManager[None]:
    """An unhandled error (a bug, a timeout) mid-batch, ``times`` times: Lambda bisects the
    batch and redelivers shorter ones over half-written objects."""
    return _at_put(lake, at_put, times, lambda: RuntimeError("injected: timed out mid-batch"))


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
    return FaultResult(name, len(truth), len(set(accepted)), before, after, notes)


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
