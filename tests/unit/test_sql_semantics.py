"""The question and report SQL equal the oracle on adversarial data: many same-second ties,
resends and bad events (local engine over an on-disk lake, no network)."""

from __future__ import annotations

from pathlib import Path

import pytest

from chalicelib.query.answers import collect_answers, collect_reports
from chalicelib.query.local_engine import LocalEngine
from chalicelib.settings import Settings
from gamepipe.oracle import compute_answers, compute_reports
from tests import helpers_sql

SETTINGS = Settings()


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_ties_resends_and_bad_events_match_the_oracle(tmp_path: Path, seed: int) -> None:
    # GIVEN 600 events of 15 players within 40 seconds: same-second ties everywhere,
    # 10% resends spread over batches, 5% bad events
    events = helpers_sql.make_events(
        600, 15, seed=seed, resend_fraction=0.1, bad_fraction=0.05, span_seconds=40
    )
    helpers_sql.write_lake_dir(tmp_path, helpers_sql.table_rows(events, batch_size=50))
    engine = LocalEngine(SETTINGS, lake_root=tmp_path)

    # WHEN the questions and reports run
    answers = collect_answers(SETTINGS, engine)
    reports = collect_reports(SETTINGS, engine)
    engine.close()

    # THEN they equal the oracle exactly, ties broken the same way
    assert answers == compute_answers(events)
    assert reports == compute_reports(events)
    assert len(answers["q5"]) >= 1 and answers["q7"] > 0
