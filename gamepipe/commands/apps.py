"""``gamepipe apps create NAME | list | revoke ID | rotate ID | backfill ID on|off``: the
applications (games) allowed to send events, and their API keys."""

from __future__ import annotations

import json
from typing import Any

import click

from chalicelib.applications import HEADER, Application
from gamepipe.commands.stack_env import attach_local_stack

FORMAT = click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
)


@click.group()
def apps() -> None:
    """Applications allowed to send events (each with one API key, stored only as a hash)."""


@apps.command()
@click.argument("name")
@click.option(
    "--allow-backfill",
    is_flag=True,
    help="Accept events older than the event-time window (importing history; README: "
    "Backfilling history).",
)
@FORMAT
def create(name: str, allow_backfill: bool, fmt: str) -> None:
    """Register an application and print its API key (shown this once only)."""
    from gamepipe.applications import create_application

    app, key = create_application(_settings(), name, allow_backfill=allow_backfill)
    _print_key(app, key, fmt)


@apps.command(name="list")
@click.option(
    "--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True
)
def list_apps(fmt: str) -> None:
    """Every application: id, name, key hint, created/rotated/revoked, backfill."""
    rows = [a.public() for a in _store().list()]
    if fmt == "json":
        click.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        click.echo("no applications (gamepipe apps create NAME)")
        return
    for row in rows:
        flags = " backfill" if row["allow_backfill"] else ""
        click.echo(
            f"{row['application_id']}  {row['status']:<7} key {row['key_hint']}  "
            f"created {row['created_at']}{flags}  {row['name']}"
        )


@apps.command()
@click.argument("application_id")
def revoke(application_id: str) -> None:
    """Stop accepting the application's key (within 300 s: the authorizer caches)."""
    app = _store().revoke(application_id)
    click.echo(f"revoked {app.application_id} ({app.name}) at {app.revoked_at}")


@apps.command()
@click.argument("application_id")
@FORMAT
def rotate(application_id: str, fmt: str) -> None:
    """Give the application a new key; the old one stops working (within 300 s)."""
    app, key = _store().rotate(application_id)
    _print_key(app, key, fmt)


@apps.command()
@click.argument("application_id")
@click.argument("state", type=click.Choice(["on", "off"]))
def backfill(application_id: str, state: str) -> None:
    """Allow (on) or stop (off) the application sending events older than the window."""
    app = _store().set_backfill(application_id, state == "on")
    click.echo(f"{app.application_id} ({app.name}): backfill {state}")


def _print_key(app: Application, key: str, fmt: str) -> None:
    if fmt == "json":
        click.echo(json.dumps({"application_id": app.application_id, "api_key": key,
                               "header": HEADER}))  # fmt: skip
        return
    click.echo(f"application {app.application_id} ({app.name})")
    click.echo(f"API key (shown once, stored only as a hash): {key}")
    click.echo(f"send it as the {HEADER} header:  {HEADER}: {key}")


def _settings() -> Any:
    from chalicelib.settings import Settings

    attach_local_stack()
    return Settings.from_env()


def _store() -> Any:
    from gamepipe.applications import open_store

    return open_store(_settings())
