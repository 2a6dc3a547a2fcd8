"""The options several commands share, declared once: one name, type and help each."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Any

import click

Decorator = Callable[[Callable[..., Any]], Callable[..., Any]]

# --date, --as-of, --dt: one format, so a bad date is the same short usage error everywhere
DAY = click.DateTime(formats=["%Y-%m-%d"])


def _date(_ctx: click.Context, _param: click.Parameter, value: datetime | None) -> date | None:
    return value.date() if value else None


def day_option(*decls: str, help: str) -> Decorator:
    """A YYYY-MM-DD option whose value is a ``date`` (None when not given)."""
    return click.option(*decls, type=DAY, default=None, callback=_date, help=help)


application_option = click.option(
    "--application",
    "application_id",
    default=None,
    help="Only this application's events (default: every application).",
)

# The generated workload: `gamepipe generate` and the demo, which runs it.
_WORKLOAD = (
    click.option("--users", default=100, show_default=True, help="Number of players."),
    click.option("--events", default=1000, show_default=True, help="Events to send (all kinds)."),
    click.option(
        "--seed", default=42, show_default=True, help="Random seed (same seed, same events)."
    ),
    click.option(
        "--days",
        type=click.IntRange(min=1),
        default=None,
        help="Simulate player lifecycles over N days (installs, sessions, churn, payers, "
        "progression); without it, one day of events from random players.",
    ),
)


def workload_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """--users, --events, --seed and --days, in that order."""
    for option in reversed(_WORKLOAD):
        command = option(command)
    return command
