"""CloudWatch metrics as Embedded Metric Format log lines (aws-lambda-powertools Metrics).

A function prints one JSON line per dimension set; CloudWatch Logs turns them into metrics
with no API call (and no PutMetricData permission). Namespace ``gamepipe``; every metric has
the dimensions ``stage`` and ``service`` (``api`` or ``consumer``); breakdowns add one more
(``table`` or ``reason``) under a metric of its own, so the alarms in the template can read
the totals with exactly ``stage`` + ``service``. Names are constants: the template's alarms
and dashboard use the same ones.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit, single_metric

NAMESPACE = "gamepipe"
# api
ACCEPTED = "EventsAccepted"
REJECTED = "EventsRejected"
REJECTED_BY_REASON = "EventsRejectedByReason"
SERVER_ERRORS = "ServerErrors"  # 5xx replies
REQUESTS = "Requests"
# consumer
EVENTS_IN = "EventsIn"
ROWS = "RowsWritten"
ROWS_BY_TABLE = "RowsWrittenByTable"
DEAD_LETTERS = "DeadLetters"
DEAD_LETTERS_BY_REASON = "DeadLettersByReason"
DUPLICATES = "DuplicatesDropped"
BATCH_MS = "BatchMs"
FRESHNESS = "FreshnessLagSeconds"
FAILED_RECORDS = "RecordsToRedeliver"

_UNITS = {
    BATCH_MS: MetricUnit.Milliseconds,
    FRESHNESS: MetricUnit.Seconds,
}
_MISSING = re.compile(r"missing required field `([^`]+)`")
_AT = re.compile(r" - at `\$\.?([^`\[]*)")


def reason_category(reason: str) -> str:
    """A low-cardinality label for a rejection or dead-letter reason (a metric dimension)."""
    missing = _MISSING.search(reason)
    if missing:
        return f"missing {missing.group(1)}"
    at = _AT.search(reason)
    if at:
        return f"invalid {at.group(1) or 'event'}"
    return reason.split(":", 1)[0].strip()[:40] or "unknown"


def emit(
    service: str,
    stage: str,
    values: Mapping[str, float],
    breakdowns: Mapping[str, tuple[str, Mapping[str, float]]] | None = None,
) -> None:
    """Print the metrics: ``values`` under (stage, service), each breakdown
    ``name -> (dimension, {value: amount})`` under (stage, service, dimension)."""
    base = {"stage": stage, "service": service}
    for name, value in values.items():
        _one(name, value, base)
    for name, (dimension, amounts) in (breakdowns or {}).items():
        for label, value in amounts.items():
            _one(name, value, {**base, dimension: label})


def _one(name: str, value: float, dimensions: dict[str, str]) -> None:
    unit = _UNITS.get(name, MetricUnit.Count)
    with single_metric(
        name=name, unit=unit, value=value, namespace=NAMESPACE, default_dimensions=dimensions
    ):
        pass  # the line is printed when the block exits


def count_reasons(reasons: Iterable[str]) -> dict[str, int]:
    """Reasons -> {category: count}."""
    return dict(Counter(reason_category(r) for r in reasons))


def api_status(stage: str, status: int) -> None:
    """One API reply: a request, and a server error if it is a 5xx."""
    emit("api", stage, {REQUESTS: 1, SERVER_ERRORS: 1 if status >= 500 else 0})


def api_events(stage: str, accepted: int, rejected: list[dict[str, Any]]) -> None:
    """The events of one ingest request: accepted, rejected (and why)."""
    emit(
        "api",
        stage,
        {ACCEPTED: accepted, REJECTED: len(rejected)},
        {REJECTED_BY_REASON: ("reason", count_reasons(str(r.get("reason")) for r in rejected))},
    )
