"""``gamepipe cost --events-per-day N --avg-bytes B``: the AWS bill per day and per million
events (docs/cost.md)."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import click

from gamepipe.cost.measured import MeasuredFigures, load_measured
from gamepipe.cost.model import Estimate, estimate
from gamepipe.cost.presets import PRESETS, build_inputs, lever_steps
from gamepipe.cost.prices import PRICES
from gamepipe.cost.render import (
    DEFAULT_VOLUMES,
    human,
    parse_volume,
    render_levers,
    render_markdown,
    render_table,
    to_dict,
)

FORMATS = ("table", "json", "markdown")


@click.command(name="cost")
@click.option(
    "--events-per-day",
    "volumes",
    multiple=True,
    metavar="N",
    help="Events per day (100M, 1e9, ...); repeatable. Default: 1M, 100M and 1B.",
)
@click.option(
    "--avg-bytes",
    type=float,
    default=350.0,
    show_default=True,
    help="Average JSON bytes per event as written to Kinesis.",
)
@click.option(
    "--preset",
    type=click.Choice(sorted(PRESETS)),
    default="deployed",
    show_default=True,
    help="deployed = this repo's settings; recommended = docs/cost.md",
)
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True)
@click.option(
    "--bench-json",
    type=click.Path(dir_okay=False),
    default=None,
    help="bench.run output to take measured speeds from [bench/out/latest.json].",
)
@click.option("--no-bench", is_flag=True, help="Ignore measured figures; use the defaults.")
@click.option(
    "--levers",
    is_flag=True,
    help="Show the design choices one at a time, deployed → recommended (markdown).",
)
@click.option("--ingest", type=click.Choice(["rest", "http", "direct"]), default=None)
@click.option("--events-per-request", type=int, default=None)
@click.option("--events-per-record", type=int, default=None)
@click.option("--batch-size", type=int, default=None)
@click.option("--batch-window", "batch_window_s", type=float, default=None)
@click.option("--consumer-memory", "consumer_memory_mb", type=int, default=None)
@click.option("--compaction-interval-h", type=float, default=None)
@click.option("--retention-days", type=float, default=None)
@click.option("--query-runs-per-day", type=float, default=None)
@click.option("--query-days", type=float, default=None)
def cost(
    volumes: tuple[str, ...],
    avg_bytes: float,
    preset: str,
    fmt: str,
    bench_json: str | None,
    no_bench: bool,
    levers: bool,
    **overrides: Any,
) -> None:
    """Estimate the AWS bill per day and per million events from measured figures."""
    try:
        days = [parse_volume(v) for v in volumes] or list(DEFAULT_VOLUMES)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--events-per-day") from exc
    measured = MeasuredFigures() if no_bench else load_measured(bench_json)
    if levers:
        for n in days:
            click.echo(f"\n{human(n)} events/day, {avg_bytes:g} B/event:\n")
            click.echo(render_levers(lever_steps(n, avg_bytes, measured)))
        return
    ests: list[Estimate] = []
    sources: dict[str, str] = {}
    for n in days:
        inp, sources = build_inputs(n, avg_bytes, preset, measured, overrides)
        ests.append(estimate(inp))
    if fmt == "json":
        click.echo(
            json.dumps(
                {
                    "preset": preset,
                    "sources": sources,
                    "estimates": [to_dict(e) for e in ests],
                    "prices": {k: dataclasses.asdict(p) for k, p in PRICES.items()},
                },
                indent=2,
            )
        )
    elif fmt == "markdown":
        click.echo(render_markdown(ests, sources, preset))
    else:
        click.echo(render_table(ests, sources, preset))
