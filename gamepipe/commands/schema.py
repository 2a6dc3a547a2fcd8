"""``gamepipe schema``: print or write the event contract's JSON Schema, or the tables' DDL."""

from __future__ import annotations

import json
from pathlib import Path

import click

from chalicelib.contract import event_schema
from chalicelib.ddl import render_ddl
from chalicelib.settings import Settings
from chalicelib.tables import TABLES

ROOT = Path(__file__).resolve().parents[2]
SCHEMA_PATH = ROOT / "chalicelib" / "contract" / "event_schema.json"


def render_schema() -> str:
    """The schema file's exact text (stable key order, trailing newline)."""
    return json.dumps(event_schema(), indent=2, sort_keys=True) + "\n"


@click.command()
@click.option("--write", is_flag=True, help=f"Write {SCHEMA_PATH.name} instead of printing it.")
@click.option(
    "--ddl",
    "tables",
    multiple=True,
    type=click.Choice(["all", *TABLES]),
    help="Print the CREATE EXTERNAL TABLE statement of a lake table (repeatable; 'all': "
    "every table) for this stage's bucket, instead of the JSON Schema.",
)
def schema(write: bool, tables: tuple[str, ...]) -> None:
    """Print (or --write) the JSON Schema 2020-12 of the event contract, or the tables' DDL."""
    if tables:
        if write:
            raise click.UsageError("--write writes the JSON Schema; --ddl only prints")
        settings = Settings.from_env()
        names = list(TABLES) if "all" in tables else list(dict.fromkeys(tables))
        click.echo(";\n\n".join(render_ddl(name, settings) for name in names) + ";")
        return
    text = render_schema()
    if write:
        SCHEMA_PATH.write_text(text)
        click.echo(f"wrote {SCHEMA_PATH}")
    else:
        click.echo(text, nl=False)
