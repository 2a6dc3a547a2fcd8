"""``gamepipe replay failed|deadletter``: run what was set aside through the consumer again."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import date
from typing import Any

import click

from gamepipe.commands.options import day_option
from gamepipe.commands.stack_env import uses_local_stack


@click.group()
def replay() -> None:
    """Replay failed batches (kept whole by the on-failure destination) or dead letters."""


def _context() -> tuple[Any, Any, Any]:
    from chalicelib import aws
    from chalicelib.glue_catalog import Catalog
    from chalicelib.settings import Settings

    settings = Settings.from_env()
    return settings, aws.client("s3"), Catalog(aws.client("glue"), settings)


def _bar(what: str) -> Any:
    from tqdm import tqdm

    def progress(items: Iterable[Any]) -> Iterable[Any]:
        return tqdm(list(items), desc=what, unit=" objects", leave=False)

    return progress


def _finish(summary: Any, text: str) -> None:
    """The human summary on stderr, the figures as JSON on stdout; exit 1 if any failed."""
    click.echo(text, err=True)
    click.echo(json.dumps(summary.as_dict()))
    if summary.failed:
        raise SystemExit(1)


@replay.command()
@day_option("--since", help="Only batches stored on or after this day.")
@click.option("--force", is_flag=True, help="Replay batches that have a receipt too.")
@uses_local_stack
def failed(since: date | None, force: bool) -> None:
    """Re-run stored failed batches through the consumer (once each: a receipt marks them)."""
    from gamepipe.replay import replay_failed

    settings, s3, catalog = _context()
    s = replay_failed(s3, settings, catalog, since=since, force=force, progress=_bar("batches"))
    _finish(
        s,
        f"failed batches: {s.found} stored, {s.skipped} already replayed, {s.replayed} "
        f"replayed now ({s.records} records, {s.events_in} events -> {sum(s.rows.values())} "
        f"rows, {s.dead_lettered} dead-lettered, {s.duplicates_dropped} in-batch duplicates), "
        f"{s.failed} failed again",
    )


@replay.command()
@day_option("--since", help="Only dead letters received on or after.")
@click.option("--reason", default=None, help="Only dead letters whose reason contains this.")
@uses_local_stack
def deadletter(since: date | None, reason: str | None) -> None:
    """Re-validate dead letters with today's contract; re-ingest those that pass now."""
    from gamepipe.replay import replay_deadletters

    settings, s3, catalog = _context()
    s = replay_deadletters(
        s3, settings, catalog, since=since, reason=reason, progress=_bar("dead-letter files")
    )
    _finish(
        s,
        f"dead letters: {s.found} files, {s.lines_valid_now} lines valid now and re-ingested "
        f"({sum(s.rows.values())} rows), {s.lines_still_invalid} still invalid "
        f"{dict(s.still_invalid)}, {s.failed} files failed to write",
    )
