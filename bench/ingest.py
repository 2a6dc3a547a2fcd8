"""Ingest API speed: CPU µs per event of the handler for 500-event requests (Kinesis stubbed).

Measures what the ``POST /v1/events`` handler runs per request — ``ClientInfo.from_request``
+ ``ingest_events`` (envelope decode, per-event typed validation, server-field splicing,
NDJSON records per player, PutRecords batching against a stub that returns success) +
``to_response`` — as process CPU time, on generated events from 100 players:

* with client event_ids (what the generator sends) and without (the server assigns UUIDs);
* the naive reference in the same run: ``json.loads`` → ``validate_event(dict)`` →
  ``json.dumps`` per event, grouped the same way, and the ratio to it;
* (full run, or ``--http``) events/s of batched HTTP through ``chalice local`` writing to a
  moto server's Kinesis (1 process, dev server: a floor, not what API Gateway + Lambda do).

    .venv/bin/python -m bench.ingest [--quick] [--json] [--http]
"""

from __future__ import annotations

import json
import os
import signal
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import requests

from bench.common import Figure, cpu_seconds, main
from chalicelib import ingest
from chalicelib.applications import ApplicationStore
from chalicelib.contract import validate_event
from chalicelib.ingest.lines import new_event_id
from chalicelib.kinesis_writer import group_records
from chalicelib.names import resource_names
from chalicelib.settings import Settings
from gamepipe.generator import generate_events
from gamepipe.stack.procs import free_port
from gamepipe.stack.resources import ensure_applications_table

BENCH = "ingest"
EVENTS_PER_REQUEST = 500
HEADERS = {"Host": "api.example.com", "User-Agent": "bench/1.0", "Content-Type": "application/json"}
# As API Gateway passes it once the authorizer allowed the key (chalicelib/auth.py).
CONTEXT = {
    "identity": {"sourceIp": "10.0.0.1"},
    "authorizer": {"application_id": "bench-app", "backfill": "false", "principalId": "bench-app"},
}


class StubKinesis:
    """PutRecords that always succeeds (a CPU benchmark: no network)."""

    def put_records(self, StreamName: str, Records: list[dict[str, Any]]) -> dict[str, Any]:
        ok = {"SequenceNumber": "1", "ShardId": "shardId-000000000000"}
        return {"FailedRecordCount": 0, "Records": [ok] * len(Records)}


def make_bodies(requests: int, *, with_ids: bool, seed: int = 42) -> list[bytes]:
    """``requests`` bodies of 500 generated events each (100 players)."""
    events = list(generate_events(100, requests * EVENTS_PER_REQUEST, seed, resend_fraction=0))
    if not with_ids:
        for e in events:
            del e["event_id"]
    return [
        json.dumps({"events": events[i : i + EVENTS_PER_REQUEST]}).encode()
        for i in range(0, len(events), EVENTS_PER_REQUEST)
    ]


def handler(body: bytes, settings: Settings, client: Any) -> Any:
    """What app.post_events does, minus Chalice's routing."""
    info = ingest.ClientInfo.from_request(HEADERS, CONTEXT)
    return ingest.to_response(ingest.ingest_events(body, info, settings, client))


def naive_handler(body: bytes, settings: Settings, client: Any) -> Any:
    """Reference: parse to dicts, validate each dict, re-encode each event."""
    info = ingest.ClientInfo.from_request(HEADERS, CONTEXT)
    now = datetime.now(UTC).isoformat()
    lines, ids, rejected = [], [], []
    for i, ev in enumerate(json.loads(body)["events"]):
        try:
            validate_event(ev)
        except ValueError as exc:
            rejected.append({"index": i, "reason": str(exc)})
            continue
        ev.setdefault("event_id", new_event_id())
        ev.update(received_at=now, host=info.host, user_agent=info.user_agent)
        lines.append((ev["userid"], json.dumps(ev).encode()))
        ids.append(ev["event_id"])
    records, _ = group_records(lines)
    client.put_records(StreamName="s", Records=[{"PartitionKey": k, "Data": d} for k, d in records])
    return json.dumps({"accepted": len(ids), "event_ids": ids, "rejected": rejected})


def cpu_us_per_event(fn: Callable[..., Any], bodies: list[bytes], repeats: int) -> list[float]:
    """CPU µs per event of ``fn`` over all bodies, once per repeat (after one warm-up)."""
    settings, client = Settings(), StubKinesis()
    fn(bodies[0], settings, client)
    values = []
    for _ in range(repeats):
        start = cpu_seconds()
        for body in bodies:
            fn(body, settings, client)
        values.append((cpu_seconds() - start) * 1e6 / (len(bodies) * EVENTS_PER_REQUEST))
    return values


@contextmanager
def _one_core() -> Iterator[str]:
    """Pin this process to one CPU for the CPU figures, then restore the affinity.

    CPU time is what we report, but pinning keeps cache/migration noise down on a shared
    2-core machine. Restored before the HTTP figure so the servers it starts (which
    inherit the affinity) get every core.
    """
    if not hasattr(os, "sched_setaffinity"):
        yield "not pinned"
        return
    before = os.sched_getaffinity(0)
    cpu = max(before)
    os.sched_setaffinity(0, {cpu})
    try:
        yield f"pinned to CPU {cpu}"
    finally:
        os.sched_setaffinity(0, before)


def _wait(url: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            requests.get(url, timeout=1)
            return
        except requests.ConnectionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


@contextmanager
def _server(args: list[str], **popen: Any) -> Iterator[None]:
    """A server subprocess in its own session; the whole group is stopped on exit."""
    proc = subprocess.Popen(
        args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True, **popen
    )
    try:
        yield
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


@contextmanager
def local_api() -> Iterator[str]:
    """``chalice local --stage local`` over a moto server's Kinesis (4 shards); yields its URL."""
    import boto3

    bindir = Path(sys.executable).parent
    moto_port, api_port = free_port(), free_port()
    endpoint, url = f"http://127.0.0.1:{moto_port}", f"http://127.0.0.1:{api_port}"
    creds = {
        "AWS_ACCESS_KEY_ID": "t",
        "AWS_SECRET_ACCESS_KEY": "t",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    with _server([str(bindir / "moto_server"), "-H", "127.0.0.1", "-p", str(moto_port)]):
        _wait(endpoint + "/moto-api/")

        def client(service: str) -> Any:
            return boto3.client(
                service, endpoint_url=endpoint, region_name="us-east-1",
                aws_access_key_id="t", aws_secret_access_key="t",
            )  # fmt: skip

        # The local stage's stream and applications table (chalicelib/names.py), and a key.
        names = resource_names("local")
        client("kinesis").create_stream(StreamName=names.stream, ShardCount=4)
        ensure_applications_table(client("dynamodb"), names.applications_table)
        _, key = ApplicationStore(client("dynamodb"), names.applications_table).create("bench")
        HEADERS["Authorization"] = key
        chalice = [str(bindir / "chalice"), "local", "--host", "127.0.0.1", "--port", str(api_port)]
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_ENDPOINT_URL")}
        env.update(creds, AWS_ENDPOINT_URL=endpoint)
        root = Path(__file__).resolve().parent.parent
        with _server([*chalice, "--stage", "local", "--no-autoreload"], cwd=root, env=env):
            _wait(url + "/health")
            yield url


def _rate(
    url: str, path_bodies: list[tuple[str, bytes]], concurrency: int, *, keep_alive: bool = True
) -> float:
    """Accepted events per wall-clock second posting the (path, body) list concurrently.

    ``keep_alive=False`` opens a connection per request, like ``ab`` without ``-k``: over a
    kept-alive connection, chalice local's small replies stall ~40 ms each (its dev server
    writes headers and body separately and Nagle waits for the client's delayed ACK).
    """
    local = threading.local()
    headers = HEADERS if keep_alive else {**HEADERS, "Connection": "close"}

    def post(item: tuple[str, bytes]) -> int:
        if not hasattr(local, "session"):
            local.session = requests.Session() if keep_alive else requests
        path, body = item
        r = local.session.post(url + path, data=body, headers=headers, timeout=60)
        return int(r.json()["accepted"])

    post(path_bodies[0])  # warm-up (the first request imports and builds the client)
    start = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        accepted = sum(pool.map(post, path_bodies))
    return accepted / (time.perf_counter() - start)


def http_figures(quick: bool) -> list[Figure]:
    """Batched events/s and single-event requests/s through ``chalice local``."""
    n_batches, batch_conc = (8, 2) if quick else (40, 4)
    # chalice local listens with a backlog of 5: more connections in flight get resets.
    n_single, single_conc = (500, 4) if quick else (3000, 4)
    batched, single = [], []
    singles = [
        (f"/v1/events/{e['event_type']}", json.dumps(e).encode())
        for e in generate_events(100, n_single, 11, resend_fraction=0)
    ]
    for _ in range(1 if quick else 3):
        with local_api() as url:
            bodies = make_bodies(n_batches, with_ids=True, seed=7)
            batches = [("/v1/events", b) for b in bodies]
            batched.append(_rate(url, batches, batch_conc, keep_alive=False))
            single.append(_rate(url, singles, single_conc, keep_alive=False))
    where = (
        "chalice local dev server + moto Kinesis (4 shards) on the same 2 cores;"
        " a connection per request (as the generator does over plain http)"
    )
    return [
        Figure(BENCH,
               f"HTTP events/s via chalice local (500-event batches, {batch_conc} in flight)",
               "events/s", batched, note=where),
        Figure(BENCH, f"HTTP single-event requests/s via chalice local ({single_conc} in flight)",
               "req/s", single,
               note=where + "; the seed's Flask dev server did 1.1-1.3k req/s with ab -c 20"),
    ]  # fmt: skip


def run(quick: bool) -> list[Figure]:
    """The ingest figures (see the module docstring)."""
    n_requests, repeats = (10, 5) if quick else (40, 15)
    with_ids = make_bodies(n_requests, with_ids=True)
    without_ids = make_bodies(n_requests, with_ids=False, seed=43)
    with _one_core() as pinned:
        fast = cpu_us_per_event(handler, with_ids, repeats)
        fast_noid = cpu_us_per_event(handler, without_ids, repeats)
        naive = cpu_us_per_event(naive_handler, with_ids, max(3, repeats // 3))
    note = f"{n_requests} requests x 500 events, 100 players, Kinesis stubbed; {pinned}"
    figures = [
        Figure(BENCH, "ingest handler CPU per event (500-event requests, client event_ids)",
               "µs/event", fast, target="<= 10", note=note, feeds="ingest_us_per_event"),
        Figure(BENCH, "ingest handler CPU per event (500-event requests, server assigns ids)",
               "µs/event", fast_noid, target="<= 10", note=note),
        Figure(BENCH, "naive reference CPU per event (json + validate dict + json.dumps)",
               "µs/event", naive, note=note),
        Figure(BENCH, "naive / ingest handler CPU per event", "ratio",
               [n / statistics.median(fast) for n in naive],
               note="each naive repeat over the handler's median; higher is better"),
    ]  # fmt: skip
    if not quick or "--http" in sys.argv:
        figures += http_figures(quick)
    return figures


if __name__ == "__main__":
    main(run)
