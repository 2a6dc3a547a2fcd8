"""``gamepipe compact``: merge each dirty partition's batch files into one deduplicated file."""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import datetime

import click

from chalicelib.tables import TABLES
from gamepipe.commands.options import DAY
from gamepipe.commands.stack_env import uses_local_stack


@click.command()
@click.option("--table", "tables", multiple=True, type=click.Choice(sorted(TABLES)),
              help="Only these table(s) (with --dt; default: every dirty partition).")  # fmt: skip
@click.option("--dt", "dts", multiple=True, type=DAY,
              help="Only these partition date(s) YYYY-MM-DD.")  # fmt: skip
@uses_local_stack
def compact(tables: tuple[str, ...], dts: tuple[datetime, ...]) -> None:
    """Compact every dirty partition (any date, today's included), each event_id once
    across partitions; one JSON line per partition, then a summary line."""
    from chalicelib import aws, lake_state
    from chalicelib.maintenance import compact_dirty
    from chalicelib.settings import Settings

    settings = Settings.from_env()
    s3 = aws.client("s3")
    only = None
    if tables or dts:
        days = [d.date().isoformat() for d in dts] or sorted(
            {
                dt
                for _, dt in lake_state.dirty_partitions(
                    lake_state.read_markers(s3, settings.data_bucket)
                )
            }
        )
        only = {(t, d) for t in tables or tuple(TABLES) for d in days}
    run = compact_dirty(s3, settings, only=only)
    for result in run.results:
        click.echo(json.dumps({**asdict(result), "duplicates_dropped": result.duplicates_dropped}))
    click.echo(json.dumps({"summary": run.summary()}))
