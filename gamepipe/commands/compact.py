"""``gamepipe compact``: merge each partition's batch files into one deduplicated file."""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import UTC, datetime

import click

from chalicelib.tables import TABLES
from gamepipe.commands import DAY
from gamepipe.commands.stack_env import uses_local_stack


@click.command()
@click.option("--table", "tables", multiple=True, type=click.Choice(sorted(TABLES)),
              help="Table(s) to compact (default: all five).")  # fmt: skip
@click.option("--dt", "dts", multiple=True, type=DAY,
              help="Partition date(s) YYYY-MM-DD.")  # fmt: skip
@click.option("--include-today", is_flag=True,
              help="Also compact today's (UTC) partitions, still being written.")  # fmt: skip
@uses_local_stack
def compact(tables: tuple[str, ...], dts: tuple[datetime, ...], include_today: bool) -> None:
    """Compact partitions (default: every partition before today, UTC); one JSON line each."""
    from chalicelib import aws
    from chalicelib.compaction import compact_partition, list_partitions
    from chalicelib.settings import Settings

    settings = Settings.from_env()
    s3 = aws.client("s3")
    today = datetime.now(UTC).date().isoformat()
    for table in tables or tuple(TABLES):
        days = [d.date().isoformat() for d in dts] or [
            d for d in list_partitions(s3, settings, table) if include_today or d < today
        ]
        for dt in days:
            result = compact_partition(s3, settings, table, dt)
            click.echo(
                json.dumps({**asdict(result), "duplicates_dropped": result.duplicates_dropped})
            )
