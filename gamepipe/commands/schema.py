"""``gamepipe schema``: print or write the event contract's JSON Schema."""

from __future__ import annotations

import json
from pathlib import Path

import click

from chalicelib.contract import event_schema

ROOT = Path(__file__).resolve().parents[2]
SCHEMA_PATH = ROOT / "chalicelib" / "contract" / "event_schema.json"


def render_schema() -> str:
    """The schema file's exact text (stable key order, trailing newline)."""
    return json.dumps(event_schema(), indent=2, sort_keys=True) + "\n"


@click.command()
@click.option("--write", is_flag=True, help=f"Write {SCHEMA_PATH.name} instead of printing it.")
def schema(write: bool) -> None:
    """Print (or --write) the JSON Schema 2020-12 of the event contract."""
    text = render_schema()
    if write:
        SCHEMA_PATH.write_text(text)
        click.echo(f"wrote {SCHEMA_PATH}")
    else:
        click.echo(text, nl=False)
