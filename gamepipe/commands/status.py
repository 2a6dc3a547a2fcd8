"""``gamepipe status``: lag, last batch, rows today, dead letters, replays and compaction due."""

from __future__ import annotations

import json
import os
from pathlib import Path

import click

from gamepipe.commands.stack_env import attach_local_stack


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print the status as JSON.")
def status(as_json: bool) -> None:
    """The running stack's picture (local or AWS): per-shard lag, last batch, rows per table
    today, dead letters by reason, failed batches waiting for replay, dirty partitions."""
    from chalicelib import aws
    from chalicelib.settings import Settings
    from gamepipe.status import collect, render

    stack = attach_local_stack()
    settings = Settings.from_env()
    checkpoint_dir = (stack or {}).get("checkpoint_dir")
    picture = collect(
        aws.client("s3"),
        aws.client("kinesis"),
        settings,
        checkpoint_file=Path(checkpoint_dir) / "consume_events.json" if checkpoint_dir else None,
        cloudwatch=None if stack else aws.client("cloudwatch"),
        consumer_function=os.environ.get("GAMEPIPE_CONSUMER_FUNCTION"),
    )
    click.echo(json.dumps(picture, default=str) if as_json else render(picture))
