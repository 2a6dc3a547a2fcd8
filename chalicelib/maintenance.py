"""Scheduled lake maintenance: compact the partitions of days that have closed.

The consumer writes one small file per table, partition and batch; a closed day (UTC)
receives almost nothing more, so a daily run shortly after midnight merges each of its
partitions into one sorted, deduplicated file (see chalicelib/compaction.py). Late events
for an already compacted day land as new small files and are merged by the next run that
covers that day (``lookback_days``).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from chalicelib.compaction import CompactionResult, compact_partition, list_partitions
from chalicelib.settings import Settings
from chalicelib.tables import TABLES


def closed_days(today: date, lookback_days: int) -> list[str]:
    """The ``lookback_days`` dates before ``today``, oldest first, as ``YYYY-MM-DD``."""
    return [(today - timedelta(days=n)).isoformat() for n in range(lookback_days, 0, -1)]


def compact_closed_days(
    s3: Any, settings: Settings, today: date, lookback_days: int
) -> list[CompactionResult]:
    """Compact every table's existing partitions among the closed days before ``today``."""
    wanted = set(closed_days(today, lookback_days))
    results = []
    for table in TABLES:
        for dt in list_partitions(s3, settings, table):
            if dt in wanted:
                results.append(compact_partition(s3, settings, table, dt))
    return results


def handle_scheduled_compaction(
    event: dict[str, Any], settings: Settings, s3: Any
) -> dict[str, Any]:
    """Scheduled-event entry point: compact the closed days before the event's date (UTC)."""
    when = event.get("time")
    today = (
        datetime.fromisoformat(when.replace("Z", "+00:00")).date()
        if isinstance(when, str)
        else datetime.now(UTC).date()
    )
    results = compact_closed_days(s3, settings, today, settings.compaction_lookback_days)
    done = [r for r in results if r.key]
    return {
        "days": closed_days(today, settings.compaction_lookback_days),
        "partitions_compacted": len(done),
        "files_in": sum(r.files_in for r in done),
        "rows_out": sum(r.rows_out for r in done),
        "duplicates_dropped": sum(r.duplicates_dropped for r in done),
    }
