"""``gamepipe demo``: the whole pipeline on one machine, started and stopped by one command.

Target up -> resources -> ``chalice local`` -> generator over real HTTP -> local Kinesis
trigger (in-process consumer) -> the 7 questions -> reports -> where everything is.
Everything started here is stopped here (also on error or Ctrl-C) unless ``--keep``.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
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

import click

from gamepipe.answers_text import format_answers
from gamepipe.stack import state
from gamepipe.stack.targets import TARGETS, Target

ROOT = Path(__file__).resolve().parents[1]


@dataclass
class DemoOptions:
    """What ``gamepipe demo`` was asked to do."""

    target: str = "embedded"
    users: int = 100
    events: int = 1000
    seed: int = 42
    bad_fraction: float | None = None
    truth: Path | None = None
    answers_json: Path | None = None
    keep: bool = False
    shards: int = 4
    stage: str = "local"
    reports: bool = True
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
    ]
    if opts.bad_fraction is not None:
        argv += ["--bad-fraction", str(opts.bad_fraction)]
    return argv


@contextlib.contextmanager
def _step(result: DemoResult, name: str) -> Iterator[None]:
    click.echo(f"--> {name} ...", err=True)
    start = time.perf_counter()
    yield
    result.timings[name] = round(time.perf_counter() - start, 3)
    click.echo(f"    {name}: {result.timings[name]:.2f}s", err=True)


def run_demo(opts: DemoOptions) -> DemoResult:
    """Run the demo end to end; stop whatever it started unless ``opts.keep``."""
    from chalicelib import aws
    from chalicelib.settings import Settings
    from gamepipe.runtime.lambda_host import load_app, stage_environment, with_log
    from gamepipe.runtime.mapping import make_poller
    from gamepipe.stack import procs
    from gamepipe.stack.api import start_api
    from gamepipe.stack.resources import create_resources

    run_dir = opts.run_dir or state.STATE_DIR / "runs" / datetime.now(UTC).strftime(
        "%Y%m%dT%H%M%SZ"
    )
    run_dir.mkdir(parents=True, exist_ok=True)
    truth = opts.truth or run_dir / "truth.ndjson"
    result = DemoResult(answers={})
    target = Target(name=opts.target, state_dir=run_dir)
    kept = False
    try:
        with _step(result, f"start target {opts.target}"):
            env = target.start()
            os.environ.update(env)
            os.environ.update(stage_environment(stage=opts.stage))
            aws.reset()
            settings = Settings.from_env()
        with _step(result, "create resources"):
            created = create_resources(settings, shards=opts.shards)
        with _step(result, "start chalice local"):
            api_proc, url = start_api(env, run_dir, stage=opts.stage)
            target._own("api", api_proc, int(url.rsplit(":", 1)[1]))
        app = load_app(stage=opts.stage)
        poller = make_poller(app, settings, run_dir / "checkpoints")
        poller.invoke = with_log(poller.invoke, run_dir / "logs" / "consume_events.log")
        with _step(result, "generate + ingest over HTTP (consumer running)"):
            # the trigger runs while the generator sends, as Lambda would
            stop = threading.Event()
            follower = threading.Thread(target=poller.follow, args=(stop,), daemon=True)
            follower.start()
            try:
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
                    result.peak_rss_mb["generator"] = usage.ru_maxrss / 1024
                if rc != 0:
                    tail = gen_log.read_text(errors="replace")[-2000:]
                    raise click.ClickException(f"generator failed (exit {rc}):\n{tail}")
            finally:
                stop.set()
                follower.join()
        with _step(result, "drain stream through the consumer"):
            stats = poller.drain(timeout=opts.drain_timeout)
            result.consumer = dict(stats.__dict__)
        with _step(result, "answer the 7 questions"):
            from chalicelib.query.answers import collect_answers

            result.answers = plain(collect_answers(settings))
        result.oracle_match = _matches_oracle(result.answers, truth)
        if opts.answers_json:
            opts.answers_json.parent.mkdir(parents=True, exist_ok=True)
            opts.answers_json.write_text(json.dumps(result.answers, indent=2) + "\n")
        if opts.reports:
            with _step(result, "write reports"):
                result.reports = _write_reports(settings, run_dir)
        result.locations = {
            "lake tables": f"{settings.tables_root}/<table>/dt=YYYY-MM-DD/",
            "dead letters": f"s3://{settings.data_bucket}/{settings.deadletter_prefix}/",
            "reports": str((result.reports or {}).get("index_uri") or "(not written)"),
            "reports (local copy)": str((result.reports or {}).get("local_index") or "-"),
            "glue database": f"{created['glue_database']} ({len(created['glue_tables'])} tables)",
            "stream": created["stream_arn"],
            "API": f"{url}/v1/events",
            "truth file": str(truth),
            "answers json": str(opts.answers_json or "(not written)"),
            "run dir (logs, checkpoints)": str(run_dir),
            **{k: v for k, v in sorted(os.environ.items()) if k.startswith("AWS_ENDPOINT_URL")},
        }
        summary_path = run_dir / "generator-summary.json"
        generator = json.loads(summary_path.read_text()) if summary_path.exists() else {}
        result.counts = accounting(generator, run_dir / "logs" / "consume_events.log")
        result.peak_rss_mb.update(peak_rss(target.pids))
        (run_dir / "demo.json").write_text(
            json.dumps(
                {
                    "pids": target.pids,
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
            consumer = procs.spawn(
                [
                    sys.executable,
                    "-m",
                    "gamepipe.cli",
                    "consume",
                    "--follow",
                    "--stage",
                    opts.stage,
                    "--checkpoint-dir",
                    str(run_dir / "checkpoints"),
                ],
                env={**os.environ},
                log_path=run_dir / "logs" / "consumer.log",
            )
            target._own("consumer", consumer, 0)
            state.save(
                {
                    "target": opts.target,
                    "stage": opts.stage,
                    "state_dir": str(run_dir),
                    "env": env,
                    "pids": dict(target.pids),
                    "order": list(target.pids),
                    "ports": dict(target.ports),
                    "api_url": url,
                    "started_at": time.time(),
                }
            )
            kept = True
        return result
    finally:
        if not kept:
            target.stop()
        for pid in target.pids.values():  # belt and braces: nothing we started may linger
            if not kept and procs.alive(pid):
                procs.stop_pid(pid)


def _matches_oracle(answers: dict[str, Any], truth: Path) -> bool | None:
    """Whether the lake's answers equal the oracle's over the truth file (None: no oracle)."""
    try:
        from gamepipe.oracle import compute_answers, load_truth
    except ImportError:
        return None
    if not truth.exists():
        return None
    return bool(compute_answers(load_truth(truth)) == answers)


def _write_reports(settings: Any, run_dir: Path) -> dict[str, Any] | None:
    """Render and publish the three reports for today (UTC), plus a local copy in the run dir.

    The local copy outlives the emulator's S3, which is gone once the demo stops.
    """
    try:
        from chalicelib.reports.handlers import generate_report
        from gamepipe.report_cli import write_local
    except ImportError:
        return None
    files, published = generate_report(settings, datetime.now(UTC).date())
    local = write_local(files, run_dir / "reports")
    return {**published.to_dict(), "local_index": str(local)}


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


@click.command()
@click.option("--target", type=click.Choice(TARGETS), default="embedded", show_default=True)
@click.option("--users", default=100, show_default=True, help="Players.")
@click.option("--events", default=1000, show_default=True, help="Events to send.")
@click.option("--seed", default=42, show_default=True, help="Generator seed.")
@click.option("--bad-fraction", type=float, default=None, help="Share of invalid events.")
@click.option("--truth", type=click.Path(path_type=Path), default=None, help="Truth NDJSON.")
@click.option("--answers-json", type=click.Path(path_type=Path), default=None)
@click.option("--keep", is_flag=True, help="Leave the stack up (gamepipe stack down stops it).")
@click.option("--shards", default=4, show_default=True, help="Kinesis shards.")
@click.option("--stage", default="local", show_default=True, help="Chalice stage (env vars).")
@click.option("--reports/--no-reports", default=True, help="Render and publish the reports.")
@click.option("--run-dir", type=click.Path(path_type=Path), default=None, hidden=True)
def demo(**kwargs: Any) -> None:
    """Run the whole pipeline locally and print the 7 answers."""
    opts = DemoOptions(**kwargs)
    # SIGTERM (CI timeouts, `kill`) must run the finally that stops our children: they live
    # in their own process groups and would otherwise outlive us
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    if opts.keep and state.running(state.load()):
        raise click.ClickException("a stack is already up; `gamepipe stack down` first")
    result = run_demo(opts)
    click.echo("")
    click.echo(format_answers(result.answers))
    if result.oracle_match is not None:
        verdict = "yes" if result.oracle_match else "NO (see the truth file and answers JSON)"
        click.echo(f"Answers equal the oracle's (plain Python over the truth file): {verdict}\n")
    click.echo("Where everything is:")
    for name, where in result.locations.items():
        click.echo(f"  {name:<28} {where}")
    c = result.consumer
    click.echo(
        f"\nconsumer: {c.get('records_delivered', 0)} records in {c.get('invocations', 0)} "
        f"invocations, {c.get('failed_invocations', 0)} failed, "
        f"{c.get('records_dead_lettered', 0)} dead-lettered"
    )
    n = result.counts
    if n:
        click.echo(
            f"counts: sent {n['sent']} = accepted {n['accepted']} + rejected {n['rejected']}; "
            f"accepted = {n['rows']} rows + {n['dead_lettered']} dead-lettered + "
            f"{n['duplicates_dropped']} in-batch duplicates dropped: "
            + ("balanced" if n["balanced"] else "NOT BALANCED")
        )
    click.echo("timings: " + ", ".join(f"{k} {v:.1f}s" for k, v in result.timings.items()))
    if opts.keep:
        click.echo("stack left running: `gamepipe stack status`, `gamepipe stack down`")
