"""The model: every billed quantity of one day at a volume, and its price.

Pure arithmetic over :class:`~gamepipe.cost.inputs.Inputs`, the list prices and the lake's
measured shape. :func:`estimate` adds the lines service by service, in the order a request
travels: ingest, stream, consumer, S3 writes, compaction, storage, catalog, queries, logs.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

from chalicelib.statements import QUESTIONS, REPORTS
from gamepipe.cost.inputs import Inputs
from gamepipe.cost.lake import ROWS_PER_EVENT, scan_bytes
from gamepipe.cost.prices import (
    ATHENA_MIN_BYTES,
    DAYS_PER_MONTH,
    HTTP_API_METER_BYTES,
    LAMBDA_MB_PER_VCPU,
    LAMBDA_PAYLOAD_MAX,
    PRICES,
    PUT_UNIT_BYTES,
    S3_GETS_PER_PARQUET_FILE,
    SHARD_IN_BYTES_S,
    SHARD_IN_RECORDS_S,
    Price,
)


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


@dataclass(frozen=True)
class Day:
    """One day's volumes at the inputs' rate, from which every line is priced."""

    inp: Inputs
    prices: Mapping[str, Price]
    events: float
    per_record: int  # events per Kinesis record
    records: float
    record_bytes: float
    shards: int
    lanes: int  # shards × parallelization factor: concurrent consumer invocations
    batches: float  # consumer invocations
    events_per_batch: float
    lake_bytes: float  # Parquet bytes written
    small_files: dict[str, float]  # batch files written per table

    def price(self, key: str) -> float:
        """The list price ``key``."""
        return self.prices[key].value

    @property
    def gb_s_price(self) -> float:
        """Lambda's GB-second price on the chosen architecture."""
        return self.price("lambda_gb_s_arm" if self.inp.arch == "arm" else "lambda_gb_s_x86")

    @property
    def files(self) -> float:
        """Batch files the consumer writes (all tables)."""
        tables_per_batch = sum(
            1.0 - math.exp(-rows * self.events_per_batch) for rows in ROWS_PER_EVENT.values()
        )
        return self.batches * tables_per_batch * self.inp.partitions_per_batch


def one_day(inp: Inputs, prices: Mapping[str, Price] = PRICES) -> Day:
    """The day's records, shards, consumer batches and lake files at ``inp``'s settings."""
    n = float(inp.events_per_day)
    per_record = inp.records_events
    records = n / per_record
    record_bytes = per_record * inp.avg_bytes
    peak = inp.peak_factor / 86_400  # shards are sized for the peak rate
    shards = shards_needed(records * peak, records * record_bytes * peak, inp.min_shards)
    lanes = shards * max(1, inp.parallelization_factor)
    # Kinesis data reaches the consumer base64-encoded in a payload of at most 6 MB.
    max_batch = max(1, min(inp.batch_size, LAMBDA_PAYLOAD_MAX // math.ceil(record_bytes * 4 / 3)))
    batches = consumer_batches(records, lanes, inp.batch_window_s, max_batch)
    events_per_batch = n / batches if batches else 0.0
    # One file per table a batch touches (a table gets a row with probability 1 - e^-rows).
    small_files = {
        t: batches * (1.0 - math.exp(-rows * events_per_batch)) * inp.partitions_per_batch
        for t, rows in ROWS_PER_EVENT.items()
    }
    return Day(inp, prices, n, per_record, records, record_bytes, shards, lanes, batches,
               events_per_batch, n * inp.lake_bytes, small_files)  # fmt: skip


def estimate(inp: Inputs, prices: Mapping[str, Price] | None = None) -> Estimate:
    """Cost per day of every billed quantity at ``inp.events_per_day``."""
    day = one_day(inp, prices or PRICES)
    est = Estimate(inp)
    if inp.ingest in ("rest", "http"):  # not on the direct PutRecords path
        est.lines += ingest_lines(day, est.derived)
    est.lines += kinesis_lines(day)
    batch_ms = consumer_ms_per_batch(day)
    est.lines += consumer_lines(day, batch_ms)
    est.lines.append(_line(day, "S3", "PUTs of batch files", day.files, "requests", "s3_put"))
    if inp.compaction_interval_h > 0:
        est.lines += compaction_lines(day)
    est.derived["files_per_day"] = day.files
    est.derived["avg_file_kb"] = day.lake_bytes / day.files / 1024 if day.files else 0.0
    stored_gb = day.lake_bytes * inp.retention_days / 1e9  # steady state
    storage = f"storage ({inp.retention_days:g} days retained)"
    est.lines.append(
        CostLine("S3", storage, stored_gb, "GB stored",
                 stored_gb * day.price("s3_gb_month") / DAYS_PER_MONTH)
    )  # fmt: skip
    est.lines += glue_lines(day)
    scanned, athena = athena_lines(day)
    est.lines += athena
    est.lines.append(logs_line(day))
    est.derived.update(
        shards=day.shards,
        records_per_day=day.records,
        record_bytes=day.record_bytes,
        consumer_batches_per_day=day.batches,
        events_per_batch=day.events_per_batch,
        consumer_ms_per_batch=batch_ms,
        lake_gb_per_day=day.lake_bytes / 1e9,
        athena_gb_scanned_per_day=scanned / 1e9,
    )
    return est


def _line(day: Day, service: str, item: str, quantity: float, unit: str, price: str) -> CostLine:
    return CostLine(service, item, quantity, unit, quantity * day.price(price))


def ingest_lines(day: Day, derived: dict[str, float]) -> list[CostLine]:
    """API Gateway requests and the ingest Lambda's invocations and compute."""
    inp = day.inp
    requests = day.events / inp.events_per_request
    if inp.ingest == "http":  # the HTTP API meters each 512 KB of a request
        req_bytes = inp.events_per_request * inp.avg_bytes
        units = requests * math.ceil(req_bytes / HTTP_API_METER_BYTES)
        api = _line(
            day, "API Gateway", "HTTP API requests", units, "requests", "apigw_http_request"
        )
    else:
        api = _line(day, "API Gateway", "REST API requests", requests, "requests",
                    "apigw_rest_request")  # fmt: skip
    cpu_ms = inp.events_per_request * inp.ingest_us_per_event / 1000
    ms = inp.ingest_overhead_ms + cpu_ms / vcpu_share(inp.ingest_memory_mb) + inp.kinesis_put_ms
    billed_ms = math.ceil(ms)  # Lambda bills per 1 ms
    gb_s = requests * billed_ms / 1000 * inp.ingest_memory_mb / 1024
    derived["ingest_requests_per_day"] = requests
    derived["ingest_ms_per_request"] = ms
    compute = f"compute ({billed_ms} ms × {inp.ingest_memory_mb} MB)"
    return [
        api,
        _line(day, "Lambda (ingest)", "invocations", requests, "invocations", "lambda_request"),
        CostLine("Lambda (ingest)", compute, gb_s, "GB-s", gb_s * day.gb_s_price),
    ]


def kinesis_lines(day: Day) -> list[CostLine]:
    """Shard-hours (sized for the peak) and PUT payload units (per 25 KB of each record)."""
    put_units = day.records * math.ceil(day.record_bytes / PUT_UNIT_BYTES)
    shards = f"shard-hours ({day.shards} shards)"
    units = f"PUT payload units ({day.per_record} events/record)"
    return [
        _line(day, "Kinesis", shards, day.shards * 24, "shard-hours", "kinesis_shard_hour"),
        _line(day, "Kinesis", units, put_units, "units", "kinesis_put_unit"),
    ]


def consumer_ms_per_batch(day: Day) -> float:
    """One consumer invocation: fixed overhead plus the batch's events at measured speed."""
    inp = day.inp
    share = vcpu_share(inp.consumer_memory_mb)
    cpu_s = day.events_per_batch / inp.consumer_events_per_s / share
    return inp.consumer_batch_overhead_ms + cpu_s * 1000


def consumer_lines(day: Day, batch_ms: float) -> list[CostLine]:
    """The consumer Lambda's invocations and compute (billed per 1 ms)."""
    memory = day.inp.consumer_memory_mb
    gb_s = day.batches * math.ceil(batch_ms) / 1000 * memory / 1024
    compute = f"compute ({batch_ms:,.0f} ms × {memory} MB)"
    return [
        _line(day, "Lambda (consumer)", "invocations", day.batches, "invocations",
              "lambda_request"),
        CostLine("Lambda (consumer)", compute, gb_s, "GB-s", gb_s * day.gb_s_price),
    ]  # fmt: skip


def compaction_lines(day: Day) -> list[CostLine]:
    """Interval compaction: each run merges the small files written since the last run into
    one file per table (each small file read once, each byte written twice)."""
    inp = day.inp
    runs = 24 / inp.compaction_interval_h
    puts = runs * len(ROWS_PER_EVENT) * inp.partitions_per_batch
    lists = puts * max(1.0, day.files / len(ROWS_PER_EVENT) / runs / 1000)
    comp_s = 2 * day.lake_bytes / 1e6 / inp.compaction_mb_per_s  # read + write
    memory = inp.consumer_memory_mb
    comp_gb_s = comp_s / vcpu_share(memory) * memory / 1024
    usd = comp_gb_s * day.gb_s_price + runs * day.price("lambda_request")
    return [
        _line(day, "S3", "compaction GETs", day.files, "requests", "s3_get"),
        _line(day, "S3", "compaction PUTs + LISTs", puts + lists, "requests", "s3_put"),
        CostLine("Lambda (compaction)", f"compute ({runs:g} runs/day)", comp_gb_s, "GB-s", usd),
    ]


def queries_per_day(inp: Inputs) -> float:
    """Athena queries per day: the questions and the reports at their rates."""
    return inp.query_runs_per_day * len(QUESTIONS) + inp.report_runs_per_day * len(REPORTS)


def glue_lines(day: Day) -> list[CostLine]:
    """Catalog requests (partition registration, Athena's reads, compaction) and objects."""
    inp = day.inp
    requests = day.lanes * inp.glue_requests_per_lane_day
    requests += queries_per_day(inp) * inp.glue_requests_per_query
    requests += (24 / inp.compaction_interval_h) if inp.compaction_interval_h > 0 else 0.0
    objects = len(ROWS_PER_EVENT) * (1 + inp.retention_days)  # one per table partition
    return [
        _line(day, "Glue", "Data Catalog requests", requests, "requests", "glue_request"),
        CostLine("Glue", "Data Catalog objects", objects, "object-months",
                 objects * day.price("glue_object_month") / DAYS_PER_MONTH),
    ]  # fmt: skip


def files_scanned(day: Day, table: str, days: float) -> float:
    """Parquet files a query opens in ``days`` partitions of ``table``.

    Compacted days hold one file per compaction run; today also holds, on average, half an
    interval of small files not compacted yet. Without compaction every batch file stays.
    """
    if day.inp.compaction_interval_h > 0:
        runs = 24 / day.inp.compaction_interval_h
        return days * runs + day.small_files[table] / runs / 2
    return days * day.small_files[table]


def athena_lines(day: Day) -> tuple[float, list[CostLine]]:
    """Bytes Athena scans (the columns each statement reads in the days it reads) and the
    S3 GETs of the files it opens; returns the bytes too."""
    inp = day.inp
    scanned = gets = 0.0
    q_days, r_days = inp.days_scanned
    for runs, statements, days in (
        (inp.query_runs_per_day, QUESTIONS, q_days),
        (inp.report_runs_per_day, REPORTS, r_days),
    ):
        # Compaction leaves only today's partition live; without it every day is live.
        live_days = min(days, 1.0) if inp.compaction_interval_h > 0 else days
        for statement in statements:
            read = scan_bytes(statement.scans, day.events, days, live_days)
            scanned += runs * max(ATHENA_MIN_BYTES, read)
            for table in dict.fromkeys(scan.table for scan in statement.scans):
                gets += runs * files_scanned(day, table, days) * S3_GETS_PER_PARQUET_FILE
    tb = scanned / 1e12
    item = f"data scanned ({queries_per_day(inp):g} queries/day)"
    return scanned, [
        _line(day, "Athena", item, tb, "TB", "athena_tb_scanned"),
        _line(day, "S3", "GETs by Athena", gets, "requests", "s3_get"),
    ]


def logs_line(day: Day) -> CostLine:
    """CloudWatch Logs ingestion: a few lines per ingest and consumer invocation."""
    inp = day.inp
    log_gb = 0.0
    if inp.ingest in ("rest", "http"):
        log_gb += day.events / inp.events_per_request * inp.log_bytes_per_invocation / 1e9
    log_gb += day.batches * inp.log_bytes_per_invocation / 1e9
    return _line(day, "CloudWatch Logs", "Lambda log ingestion", log_gb, "GB", "logs_gb_ingested")
