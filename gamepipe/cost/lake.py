"""The lake's shape per event (measured) and the bytes a statement reads from it."""

from __future__ import annotations

from collections.abc import Iterable

from chalicelib.statements import ALL, COMPACTED, LIVE, Scan

# Lake shape measured with bench.naive.lake_profile on 300k synthetic events (100k players,
# the nine types equally likely, 334 B of JSON per event; Snappy Parquet, 2026-11-28):
# rows each table gets per event and compressed bytes per row of each column.
ROWS_PER_EVENT = {
    "purchase_events": 0.334,
    "character_events": 0.333,
    "character_stats": 0.296,
    "guild_events": 0.111,
    "events": 1.0,
}
COLUMN_BYTES = {
    "purchase_events": {"event_ts": 7.09, "userid": 5.59, "event_type": 0.26, "item_type": 0.26,
                        "amount_purchased": 0.38, "price": 0.26, "event_id": 36.19,
                        "received_at": 7.09},
    "character_events": {"event_ts": 7.08, "userid": 5.6, "event_type": 0.26, "event_id": 36.22},
    "character_stats": {"event_ts": 7.08, "userid": 5.77, "event_type": 0.26, "level": 0.76,
                        "attack": 1.15, "defense": 1.15, "health": 1.3, "event_id": 36.26},
    "guild_events": {"event_ts": 7.09, "userid": 6.75, "guild_name": 0.26, "event_id": 37.25},
}  # fmt: skip
# Lake bytes per event = typed columns (fixed) + the raw JSON kept in events.payload, which
# compresses to ~26% of the JSON (same measurement: 202.6 B/event for 334 B of JSON).
LAKE_FIXED_BYTES = 116.3
LAKE_PAYLOAD_RATIO = 0.258


def scan_bytes(scans: Iterable[Scan], events: float, days: float, live_days: float) -> float:
    """Bytes a statement reads: each scan's columns over the rows it reads.

    ``scans`` come from ``chalicelib.statements`` (derived from the SQL): a merge-on-read
    statement reads compacted days without ``event_id`` and live days with it. Columns
    without a measured size (``compacted``, a one-bit flag) count as 0.
    """
    total = 0.0
    for scan in scans:
        day_share = {ALL: days, COMPACTED: days - live_days, LIVE: live_days}[scan.days]
        rows = events * ROWS_PER_EVENT[scan.table] * day_share
        total += rows * sum(COLUMN_BYTES[scan.table].get(c, 0.0) for c in scan.columns)
    return total
