"""EMF metric lines: names, dimensions, reason categories."""

from __future__ import annotations

import json
from typing import Any

from chalicelib import metrics


def _lines(out: str) -> list[dict[str, Any]]:
    return [json.loads(x) for x in out.splitlines() if x.startswith('{"_aws"')]


def test_reason_categories_are_short_and_bounded() -> None:
    assert metrics.reason_category("Object missing required field `userid`") == "missing userid"
    assert (
        metrics.reason_category("Expected `str` matching regex '^u' - at `$.userid`")
        == "invalid userid"
    )
    assert metrics.reason_category("malformed JSON: trailing data") == "malformed JSON"
    assert metrics.reason_category("") == "unknown"


def test_api_metrics_are_emf_with_stage_and_service(capsys: Any) -> None:
    # WHEN one request with 2 accepted and 1 rejected event, and a 503, are recorded
    metrics.api_events("prod", 2, [{"index": 1, "reason": "Object missing required field `x`"}])
    metrics.api_status("prod", 503)
    lines = _lines(capsys.readouterr().out)
    # THEN each is an EMF document in the gamepipe namespace with the alarms' dimensions
    by_name = {ln["_aws"]["CloudWatchMetrics"][0]["Metrics"][0]["Name"]: ln for ln in lines}
    assert by_name[metrics.ACCEPTED][metrics.ACCEPTED] == [2.0]
    assert by_name[metrics.SERVER_ERRORS][metrics.SERVER_ERRORS] == [1.0]
    totals = by_name[metrics.REJECTED]["_aws"]["CloudWatchMetrics"][0]
    assert totals["Namespace"] == "gamepipe" and totals["Dimensions"] == [["stage", "service"]]
    reason = by_name[metrics.REJECTED_BY_REASON]
    assert reason["reason"] == "missing x" and reason["service"] == "api"
