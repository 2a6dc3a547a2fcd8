"""``gamepipe generate``: send plausible game events to the API or straight to the stream."""

from __future__ import annotations

import json
import os
from datetime import UTC, date, datetime
from pathlib import Path

import click
from tqdm import tqdm

from chalicelib.applications import ENV_API_KEY
from gamepipe.commands.options import workload_options
from gamepipe.commands.stack_env import attach_local_stack
from gamepipe.generator.lifecycle import generate_lifecycles
from gamepipe.generator.model import parse_weights
from gamepipe.generator.runner import Summary, run
from gamepipe.generator.sender import open_target
from gamepipe.generator.stream import generate as generate_stream


def _target(given: str | None) -> str:
    """--target, else the running local stack's API; kinesis:// writes go to the stack too."""
    if given is not None and not given.startswith("kinesis://"):
        return given
    stack = attach_local_stack()
    if given is not None:
        return given
    if stack is None or not stack.get("api_url"):
        raise click.UsageError(
            "no --target and no local stack with an API: start one with `gamepipe stack up`, "
            "or give --target http://host:port"
        )
    return str(stack["api_url"])


def _stack_key(target: str) -> str | None:
    """The running local stack's key when ``target`` is that stack's API."""
    from gamepipe.stack import state

    stack = state.load() or {}
    if state.running(stack) and str(stack.get("api_url", "")).rstrip("/") == target.rstrip("/"):
        return (stack.get("env") or {}).get(ENV_API_KEY) or None
    return None


def _parse_start(value: str) -> datetime:
    if len(value) == 10:  # a date: its midnight, UTC
        return datetime.combine(date.fromisoformat(value), datetime.min.time(), UTC)
    ts = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if ts.tzinfo is None:
        raise click.BadParameter("needs a timezone, e.g. 2021-08-06T00:00:00Z")
    return ts


@click.command(name="generate")
@workload_options
@click.option(
    "--weights",
    default="",
    help="Event-type weights over the defaults, e.g. purchase_sword=1,level_up=0.5 (0 disables).",
)
@click.option("--batch-size", default=100, show_default=True, help="Events per request/batch.")
@click.option("--concurrency", default=4, show_default=True, help="Batches in flight.")
@click.option(
    "--target",
    default=None,
    help="http://host:port of the API, or kinesis://<stream> to write the stream directly "
    "(default: the running local stack's API).",
)
@click.option("--bad-fraction", default=0.0, show_default=True, help="Share of invalid events.")
@click.option("--resend-fraction", default=0.02, show_default=True, help="Share of resends.")
@click.option(
    "--truth", type=click.Path(dir_okay=False, path_type=Path), help="Write sent events (NDJSON)."
)
@click.option(
    "--start",
    default=None,
    help="First day (YYYY-MM-DD) or time of the first event; default: the events end before "
    "today (one day) or today (--days N), inside the API's event-time window.",
)
@click.option(
    "--keep-alive/--no-keep-alive",
    default=None,
    help="Reuse HTTP connections (default: yes for https, no for plain http such as chalice "
    "local, where a connection per request measured 2x faster).",
)
@click.option(
    "--api-key",
    default=None,
    help=f"The application's API key (default: ${ENV_API_KEY}, or the running local stack's). "
    "`gamepipe apps create NAME` makes one.",
)
@click.option("--quiet", is_flag=True, help="No progress bar or text summary.")
@click.option(
    "--summary-json", type=click.Path(dir_okay=False, path_type=Path), help="Write the summary."
)
def generate(
    users: int,
    events: int,
    seed: int,
    weights: str,
    batch_size: int,
    concurrency: int,
    target: str | None,
    bad_fraction: float,
    resend_fraction: float,
    truth: Path | None,
    start: str | None,
    days: int | None,
    keep_alive: bool | None,
    api_key: str | None,
    quiet: bool,
    summary_json: Path | None,
) -> None:
    """Generate plausible game events and send them (deterministic for a seed)."""
    target = _target(target)
    api_key = api_key or os.environ.get(ENV_API_KEY) or _stack_key(target)
    if target.startswith("http") and not api_key:
        raise click.UsageError(
            f"the API needs an application's key: give --api-key or set {ENV_API_KEY} "
            "(`gamepipe apps create NAME` makes one)"
        )
    try:
        parsed_weights = parse_weights(weights)
        sink = open_target(target, keep_alive=keep_alive, api_key=api_key)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None
    if batch_size < 1 or batch_size > 500:
        raise click.BadParameter("--batch-size must be 1..500 (the API's limit)")
    mixed = {"bad_fraction": bad_fraction, "resend_fraction": resend_fraction}
    first = _parse_start(start) if start else None
    if days is None:
        stream = generate_stream(users, events, seed, weights=parsed_weights, start=first, **mixed)
    else:
        stream = generate_lifecycles(
            users,
            events,
            seed,
            days=days,
            first_day=first and first.date(),
            weights=parsed_weights,
            **mixed,
        )
    summary = Summary(target=target)
    progress = tqdm(total=events, unit="ev", disable=quiet, leave=False)
    truth_file = truth.open("wb") if truth else None
    try:
        run(
            sink,
            stream,
            batch_size=batch_size,
            concurrency=concurrency,
            truth=truth_file,
            summary=summary,
            progress=progress,
        )
    finally:
        progress.close()
        sink.close()
        if truth_file:
            truth_file.close()
    if summary_json:
        summary_json.write_text(json.dumps(summary.to_dict(), indent=2) + "\n")
    if not quiet:
        click.echo(
            f"sent {summary.sent:,}  accepted {summary.accepted:,}  rejected {summary.rejected:,}"
            f"  failed {summary.failed:,}  (invalid generated {summary.invalid_generated:,},"
            f" resent {summary.resent:,})  in {summary.seconds:.2f} s"
            f" = {summary.events_per_second:,.0f} events/s"
        )
    if summary.failed:
        raise SystemExit(1)
