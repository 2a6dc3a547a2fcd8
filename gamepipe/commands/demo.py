"""``gamepipe demo``: the whole pipeline on one machine, started and stopped by one command."""

from __future__ import annotations

import signal
import sys
from pathlib import Path
from typing import Any

import click

from gamepipe.answers_text import format_answers
from gamepipe.commands.options import workload_options
from gamepipe.demo import DemoOptions, run_demo
from gamepipe.stack import state
from gamepipe.stack.targets import TARGETS


@click.command()
@click.option("--target", type=click.Choice(TARGETS), default="embedded", show_default=True)
@workload_options
@click.option(
    "--bad-fraction",
    type=click.FloatRange(0, 1),
    default=0.05,
    show_default=True,
    help="Share of invalid events (rejected with a reason and counted).",
)
@click.option("--truth", type=click.Path(path_type=Path), default=None, help="Truth NDJSON.")
@click.option("--answers-json", type=click.Path(path_type=Path), default=None)
@click.option("--keep", is_flag=True, help="Leave the stack up (gamepipe stack down stops it).")
@click.option("--shards", default=4, show_default=True, help="Kinesis shards.")
@click.option("--stage", default="local", show_default=True, help="Chalice stage (env vars).")
@click.option("--reports/--no-reports", default=True, help="Render and publish the reports.")
@click.option(
    "--screenshot/--no-screenshot",
    default=True,
    help="Keep a PNG of the dashboard next to the reports (needs Debian's chromium).",
)
@click.option("--run-dir", type=click.Path(path_type=Path), default=None, hidden=True)
def demo(**kwargs: Any) -> None:
    """Run the whole pipeline locally and print the 7 answers."""
    opts = DemoOptions(**kwargs)
    _check_days(opts.days)
    # SIGTERM (CI timeouts, `kill`) must run the finally that stops our children: they live
    # in their own process groups and would otherwise outlive us
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    if opts.keep and state.running(state.load()):
        raise click.ClickException("a stack is already up; `gamepipe stack down` first")
    result = run_demo(opts)
    click.echo("")
    click.echo(format_answers(result.answers))
    kpi = result.answers.get("kpi") or {}
    days, cohorts = len(kpi.get("daily", [])), len(kpi.get("retention", []))
    click.echo(
        f"KPIs: {days} day{'s' * (days != 1)}, {cohorts} cohort{'s' * (cohorts != 1)} "
        '(the answers JSON\'s "kpi"; the dashboard in the reports)\n'
    )
    if result.oracle_match is not None:
        verdict = (
            "yes"
            if result.oracle_match
            else f"NO: {', '.join(result.oracle_differs)} (see the truth file and answers JSON)"
        )
        click.echo(
            f"Answers equal the oracle's: {verdict} (the 7 questions and the KPIs, against "
            "plain Python over the truth file)\n"
        )
    click.echo("Where everything is:")
    for name, where in result.locations.items():
        click.echo(f"  {name:<29} {where}")
    c = result.consumer
    click.echo(
        f"\nconsumer: {c.get('records_delivered', 0)} records in {c.get('invocations', 0)} "
        f"invocations, {c.get('failed_invocations', 0)} failed, "
        f"{c.get('records_dead_lettered', 0)} dead-lettered"
    )
    n = result.counts
    if n:
        click.echo(
            f"counts: sent {n['sent']} = accepted {n['accepted']} + rejected {n['rejected']}; "
            f"accepted = {n['rows']} rows + {n['dead_lettered']} dead-lettered + "
            f"{n['duplicates_dropped']} in-batch duplicates dropped: "
            + ("balanced" if n["balanced"] else "NOT BALANCED")
        )
    click.echo("timings: " + ", ".join(f"{k} {v:.1f}s" for k, v in result.timings.items()))
    if opts.keep:
        click.echo("stack left running: `gamepipe stack status`, `gamepipe stack down`")


def _check_days(days: int | None) -> None:
    """Refuse a span the API would reject in part: events older than the event-time window."""
    from chalicelib.settings import Settings

    longest = Settings.from_env().limits.max_age_days
    if days is not None and days > longest:
        raise click.BadParameter(
            f"{days} days: the API keeps events up to {longest:g} days old (the event-time "
            "window); older history is imported by an application allowed to backfill "
            "(README: Backfilling history)",
            param_hint="--days",
        )
