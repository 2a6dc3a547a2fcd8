"""``gamepipe oracle --truth PATH``: the answers JSON (the 7 answers and the KPIs, as
``gamepipe demo --answers-json`` writes it) and the reports, computed in plain Python."""

from __future__ import annotations

import json
from pathlib import Path

import click


@click.command("oracle")
@click.option(
    "--truth",
    required=True,
    type=click.Path(exists=True, dir_okay=False),
    help="The generator's truth NDJSON (every event sent).",
)
@click.option("--answers-json", type=click.Path(dir_okay=False), help="Also write answers here.")
@click.option("--reports-json", type=click.Path(dir_okay=False), help="Write the 3 reports here.")
def oracle(truth: str, answers_json: str | None, reports_json: str | None) -> None:
    """Print the answers the SQL must give for the events in --truth."""
    from gamepipe.oracle import compute_answers_json, compute_reports, load_truth

    events = load_truth(truth)
    answers = compute_answers_json(events)
    text = json.dumps(answers, indent=2)
    click.echo(text)
    if answers_json:
        Path(answers_json).write_text(text + "\n", encoding="utf-8")
    if reports_json:
        reports = compute_reports(events)
        Path(reports_json).write_text(json.dumps(reports, indent=2) + "\n", encoding="utf-8")
