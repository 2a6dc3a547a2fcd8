"""``gamepipe query q3`` / ``gamepipe query --sql "SELECT ..."``: run SQL, print the rows."""

from __future__ import annotations

import dataclasses
import io
import json
from datetime import UTC, date, datetime, timedelta
from typing import Any

import click
import pyarrow as pa

from gamepipe.commands.options import application_option, day_option
from gamepipe.commands.stack_env import attach_local_stack


@click.command("query")
@click.argument("name", required=False)
@click.option("--sql", "sql_text", help="Athena SQL text to run instead of a named statement.")
@click.option(
    "--param",
    "-p",
    "params",
    multiple=True,
    help="A value for the next '?' in the SQL (repeatable, in order).",
)
@day_option(
    "--as-of",
    help="Report statements: the date bound to :as_of (partitions dt <= it). Default: today, UTC.",
)
@day_option(
    "--start",
    help="KPI statements (kpi/...): the first day bound to :start. Default: 29 days before --end.",
)
@day_option(
    "--end",
    help="KPI statements: the last day bound to :end (the lake as of it). Default: today, UTC.",
)
@application_option
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "csv", "json"]),
    default="table",
    show_default=True,
)
@click.option(
    "--engine",
    type=click.Choice(["local", "athena"]),
    default=None,
    help="Override GAMEPIPE_QUERY_ENGINE.",
)
@click.option(
    "--lake-root",
    type=click.Path(file_okay=False, exists=True),
    default=None,
    help="Local engine: read <root>/<table>/dt=*/ directly instead of Glue + S3.",
)
@click.option("--translate", is_flag=True, help="Local engine: print the DuckDB SQL, don't run.")
@click.option("--list", "list_names", is_flag=True, help="List the named statements.")
def query(
    name: str | None,
    sql_text: str | None,
    params: tuple[str, ...],
    as_of: date | None,
    start: date | None,
    end: date | None,
    application_id: str | None,
    fmt: str,
    engine: str | None,
    lake_root: str | None,
    translate: bool,
    list_names: bool,
) -> None:
    """Run a named statement (q1..q7, player_standings, kpi/daily, seed/q3, ...) or --sql text."""
    from chalicelib.query import make_engine, resolve_sql
    from chalicelib.query.sql_files import catalog
    from chalicelib.settings import Settings
    from gamepipe.athena.translate import UnsupportedSqlError

    if list_names:
        for key, path in sorted(catalog().items()):
            click.echo(f"{key:32} {path.parent.name}/{path.name}")
        return
    if bool(name) == bool(sql_text):
        raise click.UsageError("give exactly one of NAME or --sql")
    if not lake_root:
        attach_local_stack()
    settings = Settings.from_env()
    if engine:
        settings = dataclasses.replace(settings, query_engine=engine)
    kwargs: dict[str, Any] = {}
    if lake_root:
        if settings.query_engine != "local":
            raise click.UsageError("--lake-root needs the local engine")
        kwargs["lake_root"] = lake_root
    try:
        sql = resolve_sql(sql_text or name or "")
        bound = bind_options(
            sql,
            name,
            list(params),
            as_of=as_of,
            start=start,
            end=end,
            application_id=application_id,
        )
        runner = make_engine(settings, **kwargs)
        try:
            if translate:
                if not hasattr(runner, "translate"):
                    raise click.UsageError("--translate needs the local engine")
                click.echo(runner.translate(sql))
                return
            table = runner.execute(sql, bound)
        finally:
            runner.close()
    except (KeyError, UnsupportedSqlError) as exc:
        raise click.ClickException(str(exc).strip("'\"")) from None
    click.echo(render(table, fmt), nl=False)


def bind_options(
    sql: str,
    name: str | None,
    params: list[str],
    *,
    as_of: date | None = None,
    start: date | None = None,
    end: date | None = None,
    application_id: str | None = None,
) -> Any:
    """The statement's parameters from the options: ``?`` from --param; ``:as_of``,
    ``:start``/``:end`` and ``:application_id`` from their options (defaults: today, the
    30 days up to --end, every application). An option the statement cannot take is an
    error, not ignored."""
    from chalicelib.query.kpi import check_range, kpi_params
    from chalicelib.query.params import APPLICATION, as_of_params, bind_for
    from chalicelib.statements import STATEMENTS, Kpi

    uses = {p: f":{p}" in sql for p in ("as_of", "start", "end", APPLICATION)}
    if any(uses.values()) and params:
        named = ", ".join(f":{p}" for p, used in uses.items() if used)
        raise click.UsageError(
            f"this statement binds {named}: give --as-of/--start/--end/--application, not --param"
        )
    today = datetime.now(UTC).date()
    bound: Any = params or None
    if uses["start"] or uses["end"]:
        last = end or today
        first = start or last - timedelta(days=29)
        statement = STATEMENTS.get(name or "")
        try:
            if isinstance(statement, Kpi):
                check_range(statement.name, first, last)
            elif last < first:
                raise ValueError(f"--end {last} is before --start {first}")
        except ValueError as exc:
            raise click.UsageError(str(exc)) from None
        bound = kpi_params(first, last, application_id)
    elif start or end:
        raise click.UsageError("--start/--end: this statement has no :start/:end")
    if uses["as_of"]:
        bound = {**(bound or {}), **as_of_params(as_of or today)}
    elif as_of:
        raise click.UsageError("--as-of: this statement has no :as_of")
    if uses[APPLICATION]:
        bound = {**(bound or {}), APPLICATION: application_id or ""}
    elif application_id:
        raise click.UsageError("--application: this statement has no application filter")
    return bind_for(sql, bound)


def render(table: pa.Table, fmt: str) -> str:
    """The rows as an aligned text table, CSV or a JSON list of objects."""
    if fmt == "json":
        return json.dumps(table.to_pylist(), default=str, indent=2) + "\n"
    if fmt == "csv":
        import pyarrow.csv as pacsv

        buf = io.BytesIO()
        pacsv.write_csv(table, buf)
        return buf.getvalue().decode()
    cells = [[_cell(v) for v in row.values()] for row in table.to_pylist()]
    header = table.column_names
    widths = [max([len(h)] + [len(r[i]) for r in cells]) for i, h in enumerate(header)]
    numeric = [pa.types.is_integer(t) or pa.types.is_floating(t) for t in table.schema.types]
    lines = [
        " | ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)),
        "-+-".join("-" * w for w in widths),
    ]
    for row in cells:
        lines.append(
            " | ".join(
                c.rjust(w) if num else c.ljust(w)
                for c, w, num in zip(row, widths, numeric, strict=True)
            )
        )
    lines.append(f"({table.num_rows} row{'s' if table.num_rows != 1 else ''})")
    return "\n".join(lines) + "\n"


def _cell(value: Any) -> str:
    return "NULL" if value is None else str(value)
