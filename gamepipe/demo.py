"""The demo: the whole pipeline on one machine, started and stopped by one call.

:func:`gamepipe.stack.launch.launch` (target, resources, ``chalice local``) -> generator over
real HTTP -> local Kinesis trigger (in-process consumer) -> the 7 questions -> reports ->
where everything is. Everything started here is stopped here (also on error or Ctrl-C)
unless ``keep``, which leaves the stack up and records it like ``gamepipe stack up``.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from gamepipe.errors import UserError
from gamepipe.stack import state

ROOT = Path(__file__).resolve().parents[1]


@dataclass
class DemoOptions:
    """What ``gamepipe demo`` was asked to do."""

    target: str = "embedded"
    users: int = 100
    events: int = 1000
    seed: int = 42
    days: int | None = None  # player lifecycles over N days ending today (generate --days)
    # Some invalid events by default: the demo shows them rejected with a reason and counted.
    bad_fraction: float = 0.05
    truth: Path | None = None
    answers_json: Path | None = None
    keep: bool = False
    shards: int = 4
    stage: str = "local"
    reports: bool = True
    screenshot: bool = True  # of the dashboard, when Debian's chromium is installed
    run_dir: Path | None = None
    drain_timeout: float = 300.0


@dataclass
class DemoResult:
    """What the demo produced and where it put it."""

    answers: dict[str, Any]
    locations: dict[str, str] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    consumer: dict[str, int] = field(default_factory=dict)
    counts: dict[str, Any] = field(default_factory=dict)
    peak_rss_mb: dict[str, float] = field(default_factory=dict)
    reports: dict[str, Any] | None = None
    oracle_match: bool | None = None
    oracle_differs: list[str] = field(default_factory=list)  # answers unlike the oracle's


def plain(value: Any) -> Any:
    """JSON-ready copy: Decimal sums (DuckDB's SUM of BIGINT) become int, tuples lists."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value


def generator_argv(url: str, opts: DemoOptions, truth: Path, summary: Path) -> list[str]:
    """The ``gamepipe generate`` command line for the demo's workload over HTTP."""
    argv = [
        sys.executable,
        "-m",
        "gamepipe.cli",
        "generate",
        "--target",
        url,
        "--users",
        str(opts.users),
        "--events",
        str(opts.events),
        "--seed",
        str(opts.seed),
        "--truth",
        str(truth),
        "--quiet",
        "--summary-json",
        str(summary),
        "--bad-fraction",
        str(opts.bad_fraction),
    ]
    if opts.days is not None:
        argv += ["--days", str(opts.days)]
    return argv


def lake_answers(settings: Any) -> dict[str, Any]:
    """The answers JSON from the lake: ``q1``..``q7`` and ``"kpi"`` (daily and retention
    over every day with events, issue 15)."""
    from chalicelib.query.answers import collect_answers
    from chalicelib.query.kpi import collect_kpi_answers

    answers = plain(collect_answers(settings))
    answers["kpi"] = plain(collect_kpi_answers(settings))
    return dict(answers)


@contextlib.contextmanager
def _step(result: DemoResult, name: str) -> Iterator[None]:
    print(f"--> {name} ...", file=sys.stderr, flush=True)
    start = time.perf_counter()
    yield
    result.timings[name] = round(time.perf_counter() - start, 3)
    print(f"    {name}: {result.timings[name]:.2f}s", file=sys.stderr, flush=True)


def run_demo(opts: DemoOptions) -> DemoResult:
    """Run the demo end to end; stop whatever it started unless ``opts.keep``."""
    from gamepipe.runtime.lambda_host import load_app, with_log
    from gamepipe.runtime.mapping import make_poller
    from gamepipe.stack.launch import launch

    run_dir = opts.run_dir or state.state_dir() / "runs" / datetime.now(UTC).strftime(
        "%Y%m%dT%H%M%SZ"
    )
    run_dir.mkdir(parents=True, exist_ok=True)
    truth = opts.truth or run_dir / "truth.ndjson"
    result = DemoResult(answers={})
    stack = launch(
        opts.target,
        run_dir,
        stage=opts.stage,
        shards=opts.shards,
        step=lambda name: _step(result, name),
    )
    settings, url = stack.settings, str(stack.api_url)
    kept = False
    try:
        if opts.target == "aws":  # the deployed consumer Lambda reads the stream
            from gamepipe.stack.deploy import DeployedPoller

            poller: Any = DeployedPoller(settings, run_dir / "generator-summary.json")
        else:
            poller = make_poller(load_app(stage=opts.stage), settings, run_dir / "checkpoints")
            poller.invoke = with_log(poller.invoke, run_dir / "logs" / "consume_events.log")
        with _step(result, "generate + ingest over HTTP (consumer running)"):
            # the trigger runs while the generator sends, as Lambda would
            stop = threading.Event()
            follower = threading.Thread(target=poller.follow, args=(stop,), daemon=True)
            follower.start()
            try:
                result.peak_rss_mb["generator"] = _generate(url, opts, truth, run_dir)
            finally:
                stop.set()
                follower.join()
        with _step(result, "drain stream through the consumer"):
            stats = poller.drain(timeout=opts.drain_timeout)
            result.consumer = dict(stats.__dict__)
        with _step(result, "answer the 7 questions and the KPIs"):
            result.answers = lake_answers(settings)
        differs = _oracle_differs(result.answers, truth)
        if differs is not None:
            result.oracle_match, result.oracle_differs = not differs, differs
        if opts.answers_json:
            opts.answers_json.parent.mkdir(parents=True, exist_ok=True)
            opts.answers_json.write_text(json.dumps(result.answers, indent=2) + "\n")
        if opts.reports:
            with _step(result, "write reports"):
                result.reports = _write_reports(settings, run_dir)
            if opts.screenshot:
                with _step(result, "screenshot the dashboard"):
                    result.reports["screenshot"] = _screenshot(Path(result.reports["local_index"]))
        created = stack.resources
        result.locations = {
            "lake tables": f"{settings.tables_root}/<table>/dt=YYYY-MM-DD/",
            "dead letters": f"s3://{settings.data_bucket}/{settings.deadletter_prefix}/",
            "reports": str((result.reports or {}).get("index_uri") or "(not written)"),
            "reports (local copy)": str((result.reports or {}).get("local_index") or "-"),
            "dashboard screenshot": str((result.reports or {}).get("screenshot") or "-"),
            "glue database": f"{created['glue_database']} ({len(created['glue_tables'])} tables)",
            "stream": created["stream_arn"],
            "API": f"{url}/v1/events",
            "application (sent the events)": str(stack.application_id),
            "truth file": str(truth),
            "answers json": str(opts.answers_json or "(not written)"),
            "run dir (logs, checkpoints)": str(run_dir),
            **{k: v for k, v in sorted(os.environ.items()) if k.startswith("AWS_ENDPOINT_URL")},
        }
        summary_path = run_dir / "generator-summary.json"
        generator = json.loads(summary_path.read_text()) if summary_path.exists() else {}
        result.counts = accounting(generator, run_dir / "logs" / "consume_events.log")
        result.peak_rss_mb.update(peak_rss(stack.target.pids))
        (run_dir / "demo.json").write_text(
            json.dumps(
                {
                    "pids": stack.target.pids,
                    "locations": result.locations,
                    "timings": result.timings,
                    "consumer": result.consumer,
                    "generator": generator,
                    "oracle_match": result.oracle_match,
                    "counts": result.counts,
                    "peak_rss_mb": result.peak_rss_mb,
                },
                indent=2,
            )
        )
        if opts.keep and opts.target != "aws":
            # keep consuming what arrives later, from where the demo's trigger stopped
            stack.spawn_consumer(run_dir / "checkpoints")
            stack.save()
            kept = True
        return result
    finally:
        if opts.target == "aws" and stack.application_id:
            _revoke(settings, stack.application_id)  # its key was in this run's environment
        if not kept:
            stack.stop()


def _revoke(settings: Any, application_id: str) -> None:
    """Revoke the application the demo created on a deployed stage."""
    from gamepipe.applications import open_store

    open_store(settings).revoke(application_id)


def _generate(url: str, opts: DemoOptions, truth: Path, run_dir: Path) -> float:
    """Run ``gamepipe generate`` against the API as a child; return its peak RSS in MB."""
    gen_log = run_dir / "logs" / "generator.log"
    with open(gen_log, "wb") as log:
        gen = subprocess.Popen(
            generator_argv(url, opts, truth, run_dir / "generator-summary.json"),
            env={**os.environ},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        # wait4 reports the child's own peak RSS (subprocess.run discards it);
        # like subprocess.run, never leave the generator behind on an error/signal
        try:
            _, status, usage = os.wait4(gen.pid, 0)
        except BaseException:
            gen.kill()
            gen.wait()
            raise
        gen.returncode = rc = os.waitstatus_to_exitcode(status)
    if rc != 0:
        tail = gen_log.read_text(errors="replace")[-2000:]
        raise UserError(f"generator failed (exit {rc}):\n{tail}")
    return usage.ru_maxrss / 1024


def _oracle_differs(answers: dict[str, Any], truth: Path) -> list[str] | None:
    """The answers (``q3``, ``kpi.daily``, ...) unlike the oracle's over the truth file
    ([] when all are equal; None: no truth file)."""
    from gamepipe.oracle import compute_answers_json, load_truth

    if not truth.exists():
        return None
    expected = compute_answers_json(load_truth(truth))
    kpi, expected_kpi = answers.get("kpi", {}), expected.pop("kpi")
    return [k for k in expected if answers.get(k) != expected[k]] + [
        f"kpi.{k}" for k in expected_kpi if kpi.get(k) != expected_kpi[k]
    ]


def _write_reports(settings: Any, run_dir: Path) -> dict[str, Any]:
    """Render and publish the three reports for today (UTC), plus a local copy in the run dir.

    The local copy outlives the emulator's S3, which is gone once the demo stops.
    """
    from chalicelib.reports.handlers import generate_report
    from gamepipe.report_files import write_local

    files, published = generate_report(settings, datetime.now(UTC).date())
    local = write_local(files, run_dir / "reports")
    return {**published.to_dict(), "local_index": str(local)}


def _screenshot(index: Path) -> str:
    """The dashboard's screenshot next to the local copy of the reports; or, without
    chromium, how to get one (the demo does not fail for it)."""
    from gamepipe.screenshot import INSTALL_HINT, find_chromium, screenshot

    if find_chromium() is None:
        return f"(no chromium for a screenshot: {INSTALL_HINT})"
    try:
        return str(screenshot(index, index.with_name("dashboard.png")))
    except (RuntimeError, OSError, subprocess.TimeoutExpired) as exc:
        return f"(screenshot failed: {exc})"


def peak_rss(pids: dict[str, int]) -> dict[str, float]:
    """Peak RSS in MB of the demo process (it hosts the consumer Lambda and runs the queries)
    and of each process the target started, read while they still run."""
    import resource

    from gamepipe.stack.procs import peak_rss_mb

    out = {"demo (consumer + queries)": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}
    for name, pid in pids.items():
        peak = peak_rss_mb(pid)
        if peak is not None:
            out[name] = peak
    return out


def accounting(generator: dict[str, Any], consumer_log: Path) -> dict[str, Any]:
    """Count every event: sent = accepted + rejected; accepted = rows + dead-lettered + dropped.

    ``rows`` are the raw ``events`` table rows the consumer wrote; ``dropped`` are duplicate
    event_ids within one batch (resends); batches that reported a failure are left out, as
    their redelivery is logged again.
    """
    batches = []
    if consumer_log.exists():
        for line in consumer_log.read_text(errors="replace").splitlines():
            if line.startswith("{") and '"consumer batch"' in line:
                batch = json.loads(line)
                if batch.get("failed_from") is None:
                    batches.append(batch)
    rows = sum(b.get("rows", {}).get("events", 0) for b in batches)
    dead = sum(b.get("dead_lettered", 0) for b in batches)
    dropped = sum(b.get("duplicates_dropped", 0) for b in batches)
    sent, accepted = generator.get("sent", 0), generator.get("accepted", 0)
    rejected = generator.get("rejected", 0)
    return {
        "sent": sent,
        "accepted": accepted,
        "rejected": rejected,
        "rows": rows,
        "dead_lettered": dead,
        "duplicates_dropped": dropped,
        "balanced": sent == accepted + rejected and accepted == rows + dead + dropped,
    }
