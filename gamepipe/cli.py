"""The ``gamepipe`` console command; subcommands load lazily from their own modules."""

from __future__ import annotations

import importlib
from typing import Any

import click

# name -> "module:attribute" of a click command. Each lives in the module that owns it,
# so adding a subcommand never touches the others (and `--help` stays fast).
COMMANDS: dict[str, str] = {
    "generate": "gamepipe.generator.cli:generate",
    "schema": "gamepipe.schema_cli:schema",
    "query": "gamepipe.query_cli:query",
    "oracle": "gamepipe.oracle_cli:oracle",
    "consume": "gamepipe.runtime.cli:consume",
    "invoke": "gamepipe.runtime.cli:invoke",
    "stack": "gamepipe.stack.cli:stack",
    "demo": "gamepipe.demo:demo",
    "report": "gamepipe.report_cli:report",
    "compact": "gamepipe.compact_cli:compact",
    "cost": "gamepipe.cost.cli:cost",
}


class LazyGroup(click.Group):
    """A click group whose subcommands are imported only when used."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        module_name, attr = target.split(":")
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name and module_name.startswith(exc.name):
                return _unavailable(cmd_name)
            raise
        command: Any = getattr(module, attr)
        return command  # type: ignore[no-any-return]


def _unavailable(name: str) -> click.Command:
    @click.command(name=name, help="(not available in this build)")
    def _cmd() -> None:
        raise click.ClickException(f"'{name}' is not available in this build")

    return _cmd


@click.group(cls=LazyGroup)
def main() -> None:
    """gamepipe: generate game events, run the pipeline locally, query and report."""


if __name__ == "__main__":
    main()
