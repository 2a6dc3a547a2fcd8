"""AWS cost model of the pipeline: ``gamepipe cost --events-per-day N --avg-bytes B``.

Pure arithmetic over (1) list prices kept in :data:`PRICES` — one place, each with its
source and date — (2) design parameters (:class:`Inputs`, two presets: what the repo deploys
today and the recommended production settings) and (3) measured speeds and sizes: the latest
``bench/out/latest.json`` written by ``python -m bench.run`` when present, else defaults
measured on the dev machine and documented in docs/cost.md. The method is explained there.
"""

from __future__ import annotations

import dataclasses
import json
import math
import statistics
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click

# --- prices ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Price:
    """One public list price (us-east-1, on-demand, first volume tier)."""

    value: float
    unit: str
    source: str
    as_of: str


_CHECKED = (
    "AWS list price as published in 2025; cross-checked 2026-11-28 against stored copies of"
    " the pricing pages (not fetched live)"
)
# Public us-east-1 list prices, first volume tier, no free tier, no discounts (Savings Plans,
# EDP). They may have changed since: check the source URL before quoting a figure.
PRICES: dict[str, Price] = {
    "apigw_rest_request": Price(
        3.50e-6, "USD/request (REST API, first 333M/month)",
        "https://aws.amazon.com/api-gateway/pricing/", _CHECKED,
    ),
    "apigw_http_request": Price(
        1.00e-6, "USD/request (HTTP API, first 300M/month; metered per 512 KB)",
        "https://aws.amazon.com/api-gateway/pricing/", _CHECKED,
    ),
    "lambda_request": Price(
        0.20e-6, "USD/invocation", "https://aws.amazon.com/lambda/pricing/", _CHECKED,
    ),
    "lambda_gb_s_x86": Price(
        0.0000166667, "USD/GB-second (x86_64)", "https://aws.amazon.com/lambda/pricing/", _CHECKED,
    ),
    "lambda_gb_s_arm": Price(
        0.0000133334, "USD/GB-second (arm64)", "https://aws.amazon.com/lambda/pricing/", _CHECKED,
    ),
    "kinesis_shard_hour": Price(
        0.015, "USD/shard-hour (provisioned)",
        "https://aws.amazon.com/kinesis/data-streams/pricing/", _CHECKED,
    ),
    "kinesis_put_unit": Price(
        0.014e-6, "USD/PUT payload unit (25 KB)",
        "https://aws.amazon.com/kinesis/data-streams/pricing/", _CHECKED,
    ),
    "s3_put": Price(
        0.005e-3, "USD/PUT, COPY, POST or LIST request (S3 Standard)",
        "https://aws.amazon.com/s3/pricing/", _CHECKED,
    ),
    "s3_get": Price(
        0.0004e-3, "USD/GET request (S3 Standard)", "https://aws.amazon.com/s3/pricing/", _CHECKED,
    ),
    "s3_gb_month": Price(
        0.023, "USD/GB-month (S3 Standard, first 50 TB)",
        "https://aws.amazon.com/s3/pricing/", _CHECKED,
    ),
    "glue_request": Price(
        1.00e-6, "USD/Data Catalog request (over the free 1M/month)",
        "https://aws.amazon.com/glue/pricing/", _CHECKED,
    ),
    "glue_object_month": Price(
        1.00e-5, "USD/Data Catalog object-month (over the free 1M objects)",
        "https://aws.amazon.com/glue/pricing/", _CHECKED,
    ),
    "athena_tb_scanned": Price(
        5.00, "USD/TB scanned (10 MB minimum per query)",
        "https://aws.amazon.com/athena/pricing/", _CHECKED,
    ),
    "logs_gb_ingested": Price(
        0.50, "USD/GB ingested (CloudWatch Logs)",
        "https://aws.amazon.com/cloudwatch/pricing/", _CHECKED,
    ),
}  # fmt: skip

# --- fixed facts -----------------------------------------------------------------------

DAYS_PER_MONTH = 30.4375
SHARD_IN_BYTES_S = 1_000_000  # provisioned shard write limit: 1 MB/s ...
SHARD_IN_RECORDS_S = 1_000  # ... or 1,000 records/s
PUT_UNIT_BYTES = 25 * 1024
RECORD_MAX_BYTES = 1_048_576
LAMBDA_PAYLOAD_MAX = 6 * 1_048_576  # sync invoke payload; Kinesis data arrives base64 (4/3)
HTTP_API_METER_BYTES = 512 * 1024
ATHENA_MIN_BYTES = 10 * 1_000_000
LAMBDA_MB_PER_VCPU = 1769  # Lambda gives one full vCPU at 1,769 MB
S3_GETS_PER_PARQUET_FILE = 3  # footer length, footer, column chunks (ranged GETs)

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

# What each question / report reads, from chalicelib/athena_sql (merge-on-read): the table,
# the columns of each scan of it (a self-join scans twice; Athena bills each scan), and the
# extra columns read only on "live" days — partitions not compacted yet, where the SQL
# dedupes on event_id. Compacted days are already deduplicated.
Scans = tuple[tuple[str, ...], ...]
QUESTIONS: dict[str, tuple[str, Scans, tuple[str, ...]]] = {
    "q1": ("purchase_events", (("item_type", "amount_purchased"),), ("received_at", "event_id")),
    "q2": (  # latest guild: one aggregate, then only tied players looked up again
        "guild_events",
        (("userid", "event_ts", "guild_name"), ("userid", "event_ts", "guild_name", "event_id")),
        (),
    ),
    "q3": ("character_stats", (("userid", "level"),), ()),
    "q4": ("character_events", (("userid", "event_type"),), ("event_id",)),
    "q5": ("character_stats", (("userid", "event_type"),), ("event_id",)),
    "q6": ("character_events", (("userid", "event_type"),), ("event_id",)),
    "q7": ("character_events", (("userid", "event_type"),), ()),
}
REPORTS: dict[str, tuple[str, Scans, tuple[str, ...]]] = {
    "player_standings": (
        "character_stats",
        (
            ("userid", "event_ts"),
            ("userid", "event_ts", "level", "attack", "defense", "health", "event_id"),
        ),
        (),
    ),
    "player_purchases": (
        "purchase_events",
        (("userid", "item_type", "amount_purchased", "price"),),
        ("received_at", "event_id"),
    ),
    "guild_membership": (
        "guild_events",
        (("userid", "event_ts", "guild_name"), ("userid", "event_ts", "guild_name", "event_id")),
        (),
    ),
}


def query_bytes(
    table: str, scans: Scans, live_only: tuple[str, ...], rows: float, live_rows: float
) -> float:
    """Bytes one query reads: every scan's columns over ``rows``, plus live-only columns."""
    col = COLUMN_BYTES[table]
    per_row = sum(col.get(c, 0.0) for scan in scans for c in scan)
    return rows * per_row + live_rows * sum(col.get(c, 0.0) for c in live_only)


# --- inputs ----------------------------------------------------------------------------


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


PRESETS: dict[str, dict[str, Any]] = {
    # What the repository deploys today (.chalice/config.json, chalicelib/settings.py).
    "deployed": {},
    # The settings docs/cost.md recommends for production.
    "recommended": {
        "ingest": "http",
        "events_per_request": 100,
        "ingest_memory_mb": 256,
        "arch": "arm",
        "batch_size": 10_000,
        "batch_window_s": 60.0,
        "consumer_memory_mb": 1769,
        "glue_requests_per_lane_day": 0.0,
        "glue_requests_per_query": 1.0,
        "compaction_interval_h": 1.0,
        "log_bytes_per_invocation": 300.0,
        "query_days": 1.0,
        "report_days": 1.0,
    },
}

# --- measured figures ------------------------------------------------------------------

DEFAULT_BENCH_JSON = Path(__file__).resolve().parent.parent / "bench" / "out" / "latest.json"

# Input field -> (bench script, units accepted, words the figure name must contain, words it
# must not, convert(median) -> input value). First matching figure wins.
_MEASURED_RULES: list[tuple[str, str, tuple[str, ...], tuple[str, ...], tuple[str, ...]]] = [
    ("ingest_us_per_event", "ingest", ("µs/event", "us/event"), ("handler",), ("http", "local")),
    ("ingest_us_per_event", "ingest", ("µs/event", "us/event"), (), ("http", "local", "naive")),
    # Per CPU-second first: on a dedicated Lambda vCPU wall ≈ CPU, and it is what a shared
    # benchmark machine measures least noisily.
    (
        "consumer_events_per_s", "consumer", ("events/s",), ("cpu",),
        ("naive", "duckdb", "ceiling", "pylist", "reference", "e2e", "s3"),
    ),
    (
        "consumer_events_per_s", "consumer", ("events/s",), (),
        ("naive", "duckdb", "ceiling", "pylist", "reference", "e2e", "s3"),
    ),
    ("consumer_batch_overhead_ms", "consumer", ("ms",), ("batch",), ("event",)),
    ("lake_bytes_per_event", "", ("B/event", "bytes/event"), ("parquet",), ()),
]  # fmt: skip


def load_measured(path: Path | str | None = None) -> dict[str, tuple[float, str]]:
    """Inputs found in a bench.run JSON file: field -> (value, where it came from)."""
    p = Path(path) if path else DEFAULT_BENCH_JSON
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    figures = [f for f in data.get("figures", []) if f.get("values")]
    found: dict[str, tuple[float, str]] = {}
    for fld, bench, units, must, must_not in _MEASURED_RULES:
        if fld in found:
            continue
        for f in figures:
            name = str(f.get("name", "")).lower()
            if bench and f.get("bench") != bench:
                continue
            if f.get("unit") not in units:
                continue
            if not all(w in name for w in must) or any(w in name for w in must_not):
                continue
            median = statistics.median(float(v) for v in f["values"])
            if median > 0:
                found[fld] = (median, f"{p.name} {data.get('date', '')}: {f['bench']}: {f['name']}")
                break
    return found


def build_inputs(
    events_per_day: float,
    avg_bytes: float,
    preset: str = "deployed",
    measured: dict[str, tuple[float, str]] | None = None,
    overrides: dict[str, Any] | None = None,
) -> tuple[Inputs, dict[str, str]]:
    """Inputs from a preset, then measured figures, then explicit overrides; plus sources."""
    values: dict[str, Any] = {"events_per_day": events_per_day, "avg_bytes": avg_bytes}
    sources: dict[str, str] = {}
    values.update(PRESETS[preset])
    for k in PRESETS[preset]:
        sources[k] = f"preset {preset}"
    for k, (v, src) in (measured or {}).items():
        values[k] = v
        sources[k] = f"measured ({src})"
    for k, v in (overrides or {}).items():
        if v is not None:
            values[k] = v
            sources[k] = "command line"
    return Inputs(**values), sources


# --- the model -------------------------------------------------------------------------


@dataclass(frozen=True)
class CostLine:
    """One billed quantity per day and its cost."""

    service: str
    item: str
    quantity: float
    unit: str
    usd_per_day: float


@dataclass
class Estimate:
    """Cost lines for one volume plus the derived sizes behind them."""

    inputs: Inputs
    lines: list[CostLine] = field(default_factory=list)
    derived: dict[str, float] = field(default_factory=dict)

    @property
    def usd_per_day(self) -> float:
        """Total USD per day."""
        return sum(line.usd_per_day for line in self.lines)

    @property
    def usd_per_million_events(self) -> float:
        """Total USD per million events."""
        return self.usd_per_day / (self.inputs.events_per_day / 1e6)

    def by_service(self) -> dict[str, float]:
        """USD per day per service, biggest first."""
        out: dict[str, float] = {}
        for line in self.lines:
            out[line.service] = out.get(line.service, 0.0) + line.usd_per_day
        return dict(sorted(out.items(), key=lambda kv: -kv[1]))


def _p(key: str, prices: dict[str, Price]) -> float:
    return prices[key].value


def vcpu_share(memory_mb: float) -> float:
    """CPU share Lambda allocates at a memory size (1 vCPU at 1,769 MB; one thread uses ≤ 1)."""
    return min(1.0, memory_mb / LAMBDA_MB_PER_VCPU)


def shards_needed(records_per_s: float, bytes_per_s: float, min_shards: int = 1) -> int:
    """Provisioned shards for a write rate: 1 MB/s and 1,000 records/s per shard."""
    return max(
        min_shards,
        math.ceil(records_per_s / SHARD_IN_RECORDS_S - 1e-9),
        math.ceil(bytes_per_s / SHARD_IN_BYTES_S - 1e-9),
    )


def consumer_batches(
    records_per_day: float, lanes: int, window_s: float, max_records_per_batch: float
) -> float:
    """Consumer invocations per day: full batches, or one per window per lane with data.

    Each lane (shard × parallelization factor) is polled about once a second; the batching
    window makes Lambda wait up to ``window_s`` for a full batch. With ``r`` records per lane
    per window (Poisson), a window yields a batch with probability 1 - e^-r.
    """
    if records_per_day <= 0:
        return 0.0
    windows = 86_400 / max(window_s, 1.0)
    r = records_per_day / (lanes * windows)
    return lanes * windows * max(r / max_records_per_batch, 1.0 - math.exp(-r))


def estimate(inp: Inputs, prices: dict[str, Price] | None = None) -> Estimate:
    """Cost per day of every billed quantity at ``inp.events_per_day``."""
    pr = prices or PRICES
    est = Estimate(inp)
    add = est.lines.append
    n = float(inp.events_per_day)
    gb_s_price = _p("lambda_gb_s_arm" if inp.arch == "arm" else "lambda_gb_s_x86", pr)
    log_gb = 0.0

    # Ingest: API Gateway + ingest Lambda (not on the direct PutRecords path).
    if inp.ingest in ("rest", "http"):
        requests = n / inp.events_per_request
        req_bytes = inp.events_per_request * inp.avg_bytes
        if inp.ingest == "http":
            units = requests * math.ceil(req_bytes / HTTP_API_METER_BYTES)
            add(
                CostLine(
                    "API Gateway",
                    "HTTP API requests",
                    units,
                    "requests",
                    units * _p("apigw_http_request", pr),
                )
            )
        else:
            add(
                CostLine(
                    "API Gateway",
                    "REST API requests",
                    requests,
                    "requests",
                    requests * _p("apigw_rest_request", pr),
                )
            )
        cpu_ms = inp.events_per_request * inp.ingest_us_per_event / 1000
        ms = inp.ingest_overhead_ms + cpu_ms / vcpu_share(inp.ingest_memory_mb) + inp.kinesis_put_ms
        billed_ms = math.ceil(ms)  # Lambda bills per 1 ms
        gb_s = requests * billed_ms / 1000 * inp.ingest_memory_mb / 1024
        add(
            CostLine(
                "Lambda (ingest)",
                "invocations",
                requests,
                "invocations",
                requests * _p("lambda_request", pr),
            )
        )
        add(
            CostLine(
                "Lambda (ingest)",
                f"compute ({billed_ms} ms × {inp.ingest_memory_mb} MB)",
                gb_s,
                "GB-s",
                gb_s * gb_s_price,
            )
        )
        log_gb += requests * inp.log_bytes_per_invocation / 1e9
        est.derived["ingest_requests_per_day"] = requests
        est.derived["ingest_ms_per_request"] = ms

    # Kinesis: shards sized for the peak, PUT payload units per 25 KB of each record.
    per_record = inp.records_events
    records = n / per_record
    record_bytes = per_record * inp.avg_bytes
    peak = inp.peak_factor / 86_400
    shards = shards_needed(records * peak, records * record_bytes * peak, inp.min_shards)
    put_units = records * math.ceil(record_bytes / PUT_UNIT_BYTES)
    add(
        CostLine(
            "Kinesis",
            f"shard-hours ({shards} shards)",
            shards * 24,
            "shard-hours",
            shards * 24 * _p("kinesis_shard_hour", pr),
        )
    )
    add(
        CostLine(
            "Kinesis",
            f"PUT payload units ({per_record} events/record)",
            put_units,
            "units",
            put_units * _p("kinesis_put_unit", pr),
        )
    )

    # Consumer Lambda: batches from the event source settings, time from measured speed.
    lanes = shards * max(1, inp.parallelization_factor)
    max_batch = min(inp.batch_size, LAMBDA_PAYLOAD_MAX // math.ceil(record_bytes * 4 / 3))
    max_batch = max(1, max_batch)
    batches = consumer_batches(records, lanes, inp.batch_window_s, max_batch)
    events_per_batch = n / batches if batches else 0.0
    cpu_s = events_per_batch / inp.consumer_events_per_s / vcpu_share(inp.consumer_memory_mb)
    batch_ms = inp.consumer_batch_overhead_ms + cpu_s * 1000
    gb_s = batches * math.ceil(batch_ms) / 1000 * inp.consumer_memory_mb / 1024
    add(
        CostLine(
            "Lambda (consumer)",
            "invocations",
            batches,
            "invocations",
            batches * _p("lambda_request", pr),
        )
    )
    add(
        CostLine(
            "Lambda (consumer)",
            f"compute ({batch_ms:,.0f} ms × {inp.consumer_memory_mb} MB)",
            gb_s,
            "GB-s",
            gb_s * gb_s_price,
        )
    )
    log_gb += batches * inp.log_bytes_per_invocation / 1e9

    # S3 writes: one file per table a batch touches per partition.
    tables_per_batch = sum(
        1.0 - math.exp(-rows * events_per_batch) for rows in ROWS_PER_EVENT.values()
    )
    files_per_day = batches * tables_per_batch * inp.partitions_per_batch
    add(
        CostLine(
            "S3", "PUTs of batch files", files_per_day, "requests", files_per_day * _p("s3_put", pr)
        )
    )
    lake_bytes_day = n * inp.lake_bytes
    small_files_per_table = {
        t: batches * (1.0 - math.exp(-rows * events_per_batch)) * inp.partitions_per_batch
        for t, rows in ROWS_PER_EVENT.items()
    }

    # Compaction, interval style: each run merges the small files written since the last run
    # into one file per table (each small file is read once, each byte written twice).
    if inp.compaction_interval_h > 0:
        runs = 24 / inp.compaction_interval_h
        gets = files_per_day
        puts = runs * len(ROWS_PER_EVENT) * inp.partitions_per_batch
        lists = puts * max(1.0, files_per_day / len(ROWS_PER_EVENT) / runs / 1000)
        add(CostLine("S3", "compaction GETs", gets, "requests", gets * _p("s3_get", pr)))
        add(
            CostLine(
                "S3",
                "compaction PUTs + LISTs",
                puts + lists,
                "requests",
                (puts + lists) * _p("s3_put", pr),
            )
        )
        comp_s = 2 * lake_bytes_day / 1e6 / inp.compaction_mb_per_s  # read + write
        comp_gb_s = comp_s / vcpu_share(inp.consumer_memory_mb) * inp.consumer_memory_mb / 1024
        add(
            CostLine(
                "Lambda (compaction)",
                f"compute ({runs:g} runs/day)",
                comp_gb_s,
                "GB-s",
                comp_gb_s * gb_s_price + runs * _p("lambda_request", pr),
            )
        )

        # Past days hold one file per run; today also holds, on average, half an interval of
        # small files not compacted yet.
        def files_scanned(table: str, days: float) -> float:
            small_now = small_files_per_table[table] / runs / 2
            return days * runs + small_now

    else:

        def files_scanned(table: str, days: float) -> float:
            return days * small_files_per_table[table]

    est.derived["files_per_day"] = files_per_day
    est.derived["avg_file_kb"] = lake_bytes_day / files_per_day / 1024 if files_per_day else 0.0

    # S3 storage: steady state = retention days of Parquet.
    stored_gb = lake_bytes_day * inp.retention_days / 1e9
    add(
        CostLine(
            "S3",
            f"storage ({inp.retention_days:g} days retained)",
            stored_gb,
            "GB stored",
            stored_gb * _p("s3_gb_month", pr) / DAYS_PER_MONTH,
        )
    )

    # Glue: partition registration (cached per container; 0 with projection) + Athena's reads;
    # storage: one object per table partition retained (+ 5 tables).
    queries = inp.query_runs_per_day * len(QUESTIONS) + inp.report_runs_per_day * len(REPORTS)
    glue_requests = lanes * inp.glue_requests_per_lane_day + queries * inp.glue_requests_per_query
    glue_requests += (24 / inp.compaction_interval_h) if inp.compaction_interval_h > 0 else 0.0
    add(
        CostLine(
            "Glue",
            "Data Catalog requests",
            glue_requests,
            "requests",
            glue_requests * _p("glue_request", pr),
        )
    )
    objects = len(ROWS_PER_EVENT) * (1 + inp.retention_days)
    add(
        CostLine(
            "Glue",
            "Data Catalog objects",
            objects,
            "object-months",
            objects * _p("glue_object_month", pr) / DAYS_PER_MONTH,
        )
    )

    # Athena: bytes of the columns each query reads in the partitions it scans.
    scanned = 0.0
    gets = 0.0
    q_days, r_days = inp.days_scanned
    # Not `runs`: files_scanned() reads the compaction runs of that name from this scope.
    for query_runs, specs, days in (
        (inp.query_runs_per_day, QUESTIONS, q_days),
        (inp.report_runs_per_day, REPORTS, r_days),
    ):
        # Compaction leaves only today's partition live; without it every day is live.
        live_days = min(days, 1.0) if inp.compaction_interval_h > 0 else days
        for table, scans, live_only in specs.values():
            rows = n * ROWS_PER_EVENT[table]
            q_bytes = query_bytes(table, scans, live_only, rows * days, rows * live_days)
            scanned += query_runs * max(ATHENA_MIN_BYTES, q_bytes)
            gets += query_runs * files_scanned(table, days) * S3_GETS_PER_PARQUET_FILE
    tb = scanned / 1e12
    add(
        CostLine(
            "Athena",
            f"data scanned ({queries:g} queries/day)",
            tb,
            "TB",
            tb * _p("athena_tb_scanned", pr),
        )
    )
    add(CostLine("S3", "GETs by Athena", gets, "requests", gets * _p("s3_get", pr)))
    add(
        CostLine(
            "CloudWatch Logs",
            "Lambda log ingestion",
            log_gb,
            "GB",
            log_gb * _p("logs_gb_ingested", pr),
        )
    )

    est.derived.update(
        shards=shards,
        records_per_day=records,
        record_bytes=record_bytes,
        consumer_batches_per_day=batches,
        events_per_batch=events_per_batch,
        consumer_ms_per_batch=batch_ms,
        lake_gb_per_day=lake_bytes_day / 1e9,
        athena_gb_scanned_per_day=scanned / 1e9,
    )
    return est


# --- output ----------------------------------------------------------------------------

DEFAULT_VOLUMES = (1e6, 1e8, 1e9)
GOAL_USD_PER_MILLION = 0.10  # at 100M events/day
GAP_PUBLISHED = "AWS Game Analytics Pipeline publishes $0.25–0.36 per million events"


def human(n: float) -> str:
    """1e6 → '1M', 1e8 → '100M', 1e9 → '1B'."""
    for div, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if n >= div:
            v = n / div
            return f"{v:g}{suffix}" if v == int(v) else f"{v:.3g}{suffix}"
    return f"{n:g}"


def parse_volume(text: str) -> float:
    """'100M', '1B', '2.5e7', '100_000_000' → events per day."""
    t = text.strip().replace("_", "").replace(",", "")
    mult = {"k": 1e3, "m": 1e6, "b": 1e9, "g": 1e9}.get(t[-1:].lower(), 1.0)
    if mult != 1.0:
        t = t[:-1]
    value = float(t) * mult
    if value <= 0:
        raise ValueError("events per day must be positive")
    return value


def to_dict(est: Estimate) -> dict[str, Any]:
    """JSON-ready estimate: inputs, lines, totals, by service, derived sizes."""
    return {
        "events_per_day": est.inputs.events_per_day,
        "usd_per_day": est.usd_per_day,
        "usd_per_month": est.usd_per_day * DAYS_PER_MONTH,
        "usd_per_million_events": est.usd_per_million_events,
        "by_service": est.by_service(),
        "lines": [dataclasses.asdict(line) for line in est.lines],
        "derived": est.derived,
        "inputs": dataclasses.asdict(est.inputs),
    }


def _val(v: Any) -> str:
    return f"{v:,.4g}" if isinstance(v, float) else repr(v)


def _qty(v: float) -> str:
    if v >= 100:
        return f"{v:,.0f}"
    return f"{v:.4g}"


def _money(v: float) -> str:
    if v >= 100:
        return f"${v:,.0f}"
    if v >= 1:
        return f"${v:,.2f}"
    return f"${v:.4f}"


def render_markdown(ests: list[Estimate], sources: dict[str, str], preset: str) -> str:
    """Markdown: a per-volume summary, where the cost goes, and each volume's lines."""
    out = [
        f"Preset `{preset}`; list prices us-east-1 (see `gamepipe.cost.PRICES`).",
        "",
        "| events/day | $/day | $/month | $/million events | biggest item |",
        "|---:|---:|---:|---:|---|",
    ]
    for e in ests:
        top, top_usd = next(iter(e.by_service().items()))
        share = top_usd / e.usd_per_day * 100 if e.usd_per_day else 0
        out.append(
            f"| {human(e.inputs.events_per_day)} | {_money(e.usd_per_day)} |"
            f" {_money(e.usd_per_day * DAYS_PER_MONTH)} | {_money(e.usd_per_million_events)} |"
            f" {top} ({share:.0f}%) |"
        )
    services = list(dict.fromkeys(s for e in ests for s in e.by_service()))
    out += ["", "Where the cost goes ($ per million events):", ""]
    out.append("| service | " + " | ".join(human(e.inputs.events_per_day) for e in ests) + " |")
    out.append("|---|" + "---:|" * len(ests))
    for s in services:
        cells = [_money(e.by_service().get(s, 0.0) / (e.inputs.events_per_day / 1e6)) for e in ests]
        out.append(f"| {s} | " + " | ".join(cells) + " |")
    for e in ests:
        out += ["", f"Lines at {human(e.inputs.events_per_day)} events/day:", ""]
        out += ["| service | item | quantity/day | unit | $/day |", "|---|---|---:|---|---:|"]
        for line in e.lines:
            out.append(
                f"| {line.service} | {line.item} | {_qty(line.quantity)} | {line.unit} |"
                f" {_money(line.usd_per_day)} |"
            )
        d = e.derived
        out.append(
            f"\nShards {d['shards']:g}; consumer batches/day {d['consumer_batches_per_day']:,.0f}"
            f" ({d['events_per_batch']:,.0f} events, {d['consumer_ms_per_batch']:,.0f} ms each);"
            f" Parquet files/day {d['files_per_day']:,.0f} (avg {d['avg_file_kb']:,.0f} KB);"
            f" Athena scans {d['athena_gb_scanned_per_day']:,.2f} GB/day."
        )
    if sources:
        out += ["", "Inputs not at their defaults:", ""]
        out += [
            f"- `{k}` = {_val(getattr(ests[0].inputs, k))} ({v})"
            for k, v in sorted(sources.items())
        ]
    return "\n".join(out)


def render_table(ests: list[Estimate], sources: dict[str, str], preset: str) -> str:
    """Plain text: per volume, the lines and the total."""
    out = [f"Preset {preset}; us-east-1 list prices (gamepipe.cost.PRICES)."]
    for e in ests:
        out.append("")
        out.append(
            f"== {human(e.inputs.events_per_day)} events/day: {_money(e.usd_per_day)}/day,"
            f" {_money(e.usd_per_day * DAYS_PER_MONTH)}/month,"
            f" {_money(e.usd_per_million_events)} per million events"
        )
        for line in e.lines:
            share = line.usd_per_day / e.usd_per_day * 100 if e.usd_per_day else 0
            out.append(
                f"  {line.service:<19} {line.item:<44} {_qty(line.quantity):>14} {line.unit:<13}"
                f" {_money(line.usd_per_day):>10} {share:5.1f}%"
            )
    if sources:
        out.append("")
        out += [
            f"  {k} = {_val(getattr(ests[0].inputs, k))}  ({v})" for k, v in sorted(sources.items())
        ]
    return "\n".join(out)


# The design choices from the deployed settings to the recommended ones, applied one at a
# time (cumulative) so docs/cost.md can show what each is worth.
LEVERS: list[tuple[str, dict[str, Any]]] = [
    ("clients send 100 events per request (was 20)", {"events_per_request": 100}),
    ("HTTP API instead of REST API", {"ingest": "http"}),
    ("consumer batching window 60 s, batch size 10,000", {"batch_window_s": 60.0,
                                                          "batch_size": 10_000}),
    ("hourly compaction of small files", {"compaction_interval_h": 1.0}),
    ("questions and reports filter on dt: scan 1 day, not all retained days",
     {"query_days": 1.0, "report_days": 1.0}),
    ("partition projection (no Glue partition calls)", {"glue_requests_per_lane_day": 0.0,
                                                        "glue_requests_per_query": 1.0}),
    ("right-sized Lambdas on arm64 (ingest 256 MB, consumer 1,769 MB)",
     {"ingest_memory_mb": 256, "consumer_memory_mb": 1769, "arch": "arm",
      "log_bytes_per_invocation": 300.0}),
]  # fmt: skip


def lever_steps(
    events_per_day: float,
    avg_bytes: float,
    measured: dict[str, tuple[float, str]] | None = None,
) -> list[tuple[str, Estimate]]:
    """Estimates from the deployed preset through each lever in turn (cumulative)."""
    changes: dict[str, Any] = {}
    inp, _ = build_inputs(events_per_day, avg_bytes, "deployed", measured)
    steps = [("deployed settings", estimate(inp))]
    for label, change in LEVERS:
        changes.update(change)
        inp, _ = build_inputs(events_per_day, avg_bytes, "deployed", measured, changes)
        steps.append((label, estimate(inp)))
    direct = dataclasses.replace(inp, ingest="direct")
    steps.append(("alternative: game backend calls Kinesis PutRecords directly", estimate(direct)))
    return steps


def render_levers(steps: list[tuple[str, Estimate]]) -> str:
    """Markdown table of the lever steps: $/million events and what changed most."""
    out = [
        "| step | $/million events | $/day | biggest item |",
        "|---|---:|---:|---|",
    ]
    for label, e in steps:
        top, top_usd = next(iter(e.by_service().items()))
        share = top_usd / e.usd_per_day * 100 if e.usd_per_day else 0
        out.append(
            f"| {label} | {_money(e.usd_per_million_events)} | {_money(e.usd_per_day)} |"
            f" {top} ({share:.0f}%) |"
        )
    return "\n".join(out)


# --- command ---------------------------------------------------------------------------


@click.command(name="cost")
@click.option(
    "--events-per-day",
    "volumes",
    multiple=True,
    metavar="N",
    help="Events per day (100M, 1e9, ...); repeatable. Default: 1M, 100M and 1B.",
)
@click.option(
    "--avg-bytes",
    type=float,
    default=350.0,
    show_default=True,
    help="Average JSON bytes per event as written to Kinesis.",
)
@click.option(
    "--preset",
    type=click.Choice(sorted(PRESETS)),
    default="deployed",
    show_default=True,
    help="deployed = this repo's settings; recommended = docs/cost.md",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "json", "markdown"]),
    default="table",
    show_default=True,
)
@click.option(
    "--bench-json",
    type=click.Path(dir_okay=False),
    default=None,
    help="bench.run output to take measured speeds from [bench/out/latest.json].",
)
@click.option("--no-bench", is_flag=True, help="Ignore measured figures; use the defaults.")
@click.option(
    "--levers",
    is_flag=True,
    help="Show the design choices one at a time, deployed → recommended (markdown).",
)
@click.option("--ingest", type=click.Choice(["rest", "http", "direct"]), default=None)
@click.option("--events-per-request", type=int, default=None)
@click.option("--events-per-record", type=int, default=None)
@click.option("--batch-size", type=int, default=None)
@click.option("--batch-window", "batch_window_s", type=float, default=None)
@click.option("--consumer-memory", "consumer_memory_mb", type=int, default=None)
@click.option("--compaction-interval-h", type=float, default=None)
@click.option("--retention-days", type=float, default=None)
@click.option("--query-runs-per-day", type=float, default=None)
@click.option("--query-days", type=float, default=None)
def cost(
    volumes: tuple[str, ...],
    avg_bytes: float,
    preset: str,
    fmt: str,
    bench_json: str | None,
    no_bench: bool,
    levers: bool,
    **overrides: Any,
) -> None:
    """Estimate the AWS bill per day and per million events from measured figures."""
    try:
        days = [parse_volume(v) for v in volumes] or list(DEFAULT_VOLUMES)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--events-per-day") from exc
    measured = {} if no_bench else load_measured(bench_json)
    if levers:
        for n in days:
            click.echo(f"\n{human(n)} events/day, {avg_bytes:g} B/event:\n")
            click.echo(render_levers(lever_steps(n, avg_bytes, measured)))
        return
    ests: list[Estimate] = []
    sources: dict[str, str] = {}
    for n in days:
        inp, sources = build_inputs(n, avg_bytes, preset, measured, overrides)
        ests.append(estimate(inp))
    if fmt == "json":
        click.echo(
            json.dumps(
                {
                    "preset": preset,
                    "sources": sources,
                    "estimates": [to_dict(e) for e in ests],
                    "prices": {k: dataclasses.asdict(p) for k, p in PRICES.items()},
                },
                indent=2,
            )
        )
    elif fmt == "markdown":
        click.echo(render_markdown(ests, sources, preset))
    else:
        click.echo(render_table(ests, sources, preset))
