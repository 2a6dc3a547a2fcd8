"""The ``gamepipe`` console command: every subcommand, loaded lazily, and one error policy.

Subcommands live in ``gamepipe.commands`` (one module per command or group) and are imported
only when used, so ``gamepipe --help`` stays fast. A mistake the user can fix (no region, no
credentials, an endpoint that does not answer, a missing database or bucket, ...) is turned
into a short message and exit code 1 here, in one place (``gamepipe.errors``); anything else
keeps its traceback.
"""

from __future__ import annotations

import importlib
from typing import Any

import click

from gamepipe.errors import explain

# name -> "module:attribute" of a click command
COMMANDS: dict[str, str] = {
    "apps": "gamepipe.commands.apps:apps",
    "generate": "gamepipe.commands.generate:generate",
    "schema": "gamepipe.commands.schema:schema",
    "query": "gamepipe.commands.query:query",
    "oracle": "gamepipe.commands.oracle:oracle",
    "consume": "gamepipe.commands.functions:consume",
    "invoke": "gamepipe.commands.functions:invoke",
    "stack": "gamepipe.commands.stack:stack",
    "demo": "gamepipe.commands.demo:demo",
    "report": "gamepipe.commands.report:report",
    "compact": "gamepipe.commands.compact:compact",
    "replay": "gamepipe.commands.replay:replay",
    "status": "gamepipe.commands.status:status",
    "cost": "gamepipe.commands.cost:cost",
}


class Gamepipe(click.Group):
    """Subcommands imported when used; known mistakes reported in one short message."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        module_name, attr = target.split(":")
        command: Any = getattr(importlib.import_module(module_name), attr)
        return command  # type: ignore[no-any-return]

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except click.ClickException:
            raise
        except Exception as exc:
            message = explain(exc)
            if message is None:
                raise
            raise click.ClickException(message) from None


@click.group(cls=Gamepipe)
def main() -> None:
    """gamepipe: generate game events, run the pipeline locally, query and report."""


if __name__ == "__main__":
    main()
