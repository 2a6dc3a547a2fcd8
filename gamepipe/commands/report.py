"""``gamepipe report``: run the three report queries, render, publish to S3 (and/or a folder)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import click

from chalicelib import aws
from chalicelib.reports import publish_report, render_report
from chalicelib.settings import Settings
from gamepipe.commands.options import application_option, day_option
from gamepipe.commands.stack_env import uses_local_stack
from gamepipe.report_files import write_local


@click.command()
@day_option("--date", "day", help="Report date (UTC), default today.")
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Also write the files to OUT/dt=YYYY-MM-DD/.",
)
@click.option(
    "--publish/--no-publish",
    default=True,
    show_default=True,
    help="Upload to s3://<reports bucket>/reports/dt=YYYY-MM-DD/.",
)
@application_option
@uses_local_stack
def report(day: date | None, out: Path | None, publish: bool, application_id: str | None) -> None:
    """Render Player Standings, Player Purchases and Guild Membership for a date."""
    settings = Settings.from_env()
    as_of = day or datetime.now(UTC).date()
    files = render_report(settings, as_of, application_id=application_id)
    counts = ", ".join(f"{k}={v}" for k, v in files.row_counts.items())
    click.echo(f"report {as_of.isoformat()} (engine {settings.query_engine}): {counts}")
    if out is not None:
        click.echo(f"wrote {write_local(files, out)}")
    if publish:
        result = publish_report(aws.client("s3"), settings, files, as_of)
        click.echo(f"published {result.index_uri}")
