"""`gamepipe oracle --truth PATH [--answers-json OUT]`."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from gamepipe.commands.oracle import oracle
from gamepipe.oracle import compute_answers, compute_answers_json, compute_reports
from tests import helpers_sql


def test_oracle_cli_writes_answers_and_reports(tmp_path: Path) -> None:
    # GIVEN a truth file with resends and bad events
    events = helpers_sql.make_events(300, 30, seed=9, resend_fraction=0.05, bad_fraction=0.05)
    truth = tmp_path / "truth.ndjson"
    truth.write_text("".join(json.dumps(e) + "\n" for e in events))
    answers, reports = tmp_path / "answers.json", tmp_path / "reports.json"

    # WHEN running the command
    result = CliRunner().invoke(
        oracle,
        ["--truth", str(truth), "--answers-json", str(answers), "--reports-json", str(reports)],
    )

    # THEN it prints and writes the answers JSON (the 7 answers and the KPIs, as the demo
    # writes it), and writes the reports
    assert result.exit_code == 0, result.output
    expected = json.loads(json.dumps(compute_answers_json(events)))
    assert {k: v for k, v in expected.items() if k != "kpi"} == compute_answers(events)
    assert list(expected["kpi"]) == ["daily", "retention"] and expected["kpi"]["daily"]
    assert json.loads(result.output) == expected
    assert json.loads(answers.read_text()) == expected
    assert json.loads(reports.read_text()) == compute_reports(events)
