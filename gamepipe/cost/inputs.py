"""What the model is computed from: volume, design parameters and measured speeds."""

from __future__ import annotations

from dataclasses import dataclass

from gamepipe.cost.lake import LAKE_FIXED_BYTES, LAKE_PAYLOAD_RATIO
from gamepipe.cost.prices import RECORD_MAX_BYTES


@dataclass(frozen=True)
class Inputs:
    """Volume, design parameters and measured speeds the model needs (defaults = deployed)."""

    events_per_day: float
    avg_bytes: float = 350.0  # JSON bytes per event as stored in Kinesis (server fields incl.)
    # Ingest path: "rest" (API Gateway REST API, what Chalice deploys), "http" (HTTP API),
    # "direct" (a game backend calls Kinesis PutRecords; no API Gateway, no ingest Lambda).
    ingest: str = "rest"
    events_per_request: int = 20  # client batch: events per POST /v1/events
    events_per_record: int | None = None  # None = events_per_request (one player per request)
    ingest_us_per_event: float = 10.0  # handler CPU per event at 1 vCPU (target ≤ 10)
    ingest_overhead_ms: float = 2.0  # per request besides events (parse envelope, respond)
    kinesis_put_ms: float = 15.0  # PutRecords round trip the ingest Lambda waits for
    ingest_memory_mb: int = 1024
    arch: str = "x86"  # "x86" or "arm" (Graviton: 20% cheaper GB-s)
    peak_factor: float = 3.0  # peak / average traffic; shards are sized for the peak
    min_shards: int = 1
    batch_size: int = 1000  # Kinesis event source BatchSize (records)
    batch_window_s: float = 1.0  # MaximumBatchingWindowInSeconds
    parallelization_factor: int = 1
    consumer_memory_mb: int = 1024
    consumer_events_per_s: float = 150_000.0  # consumer core speed at 1 vCPU
    consumer_batch_overhead_ms: float = 150.0  # per batch: S3 PUTs, Glue call, Lambda overhead
    partitions_per_batch: float = 1.0  # dt partitions a batch touches (~1; 2 around midnight)
    # Consumer's Glue calls per lane (≈ one warm container) per day: the catalog cache makes
    # it ~5 BatchCreatePartition for the new dt + ~11 catalog checks per cold start. 0 with
    # partition projection.
    glue_requests_per_lane_day: float = 30.0
    compaction_interval_h: float = 0.0  # 0 = no compaction; 24 = daily; 1 = hourly
    compaction_mb_per_s: float = 50.0  # compaction throughput (read + rewrite) at 1 vCPU
    lake_bytes_per_event: float | None = None  # None = LAKE_FIXED_BYTES + ratio × avg_bytes
    retention_days: float = 30.0  # days of Parquet kept in S3 Standard
    query_runs_per_day: float = 24.0  # the seven questions, e.g. an hourly dashboard
    # dt partitions each question / report scans. None = every retained day: the SQL in
    # chalicelib/athena_sql has no dt filter today (all-time answers), so nothing is pruned.
    query_days: float | None = None
    report_runs_per_day: float = 1.0  # the three reports, once a day
    report_days: float | None = None
    glue_requests_per_query: float = 2.0  # Athena's GetTable + GetPartitions (1 w/ projection)
    log_bytes_per_invocation: float = 400.0  # Lambda START/END/REPORT + our summary line

    @property
    def records_events(self) -> int:
        """Events per Kinesis record (aggregation), capped by the 1 MiB record limit."""
        per = self.events_per_record or self.events_per_request
        if self.ingest != "direct":
            per = min(per, self.events_per_request)
        return max(1, min(per, int(RECORD_MAX_BYTES // max(self.avg_bytes, 1))))

    @property
    def days_scanned(self) -> tuple[float, float]:
        """Day partitions (questions, reports) scan: explicit, else all retained days."""
        q = self.query_days if self.query_days is not None else self.retention_days
        r = self.report_days if self.report_days is not None else self.retention_days
        return q, r

    @property
    def lake_bytes(self) -> float:
        """Parquet bytes per event over the five tables."""
        if self.lake_bytes_per_event is not None:
            return self.lake_bytes_per_event
        return LAKE_FIXED_BYTES + LAKE_PAYLOAD_RATIO * self.avg_bytes
