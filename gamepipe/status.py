"""The running pipeline at a glance, from what it leaves in Kinesis, S3 and CloudWatch.

The same picture as the consumer's metrics and the template's dashboard, computed from the
stack itself so it works locally (no CloudWatch) and on AWS alike:

- per-shard lag: records waiting after the local trigger's checkpoint and the age of the
  oldest one (what Lambda calls IteratorAge); on AWS, the consumer's IteratorAge metric;
- last batch and freshness: the newest dirty marker (each batch writes one, with its
  figures: rows, dead letters, freshness lag = written - oldest received_at);
- rows per table today: the Parquet footers of today's partitions (no query engine);
- dead letters by reason today, failed batches waiting for replay, dirty partitions.
"""

from __future__ import annotations

import json
import struct
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from chalicelib import lake_state
from chalicelib.metrics import reason_category
from chalicelib.settings import Settings
from chalicelib.tables import TABLES
from gamepipe.replay import failed_batches, not_replayed

LAG_SCAN_LIMIT = 10_000  # records read per shard to measure the backlog (a bound, not all)


def shard_lag(kinesis: Any, stream: str, checkpoints: dict[str, str]) -> list[dict[str, Any]]:
    """Per shard: records after the checkpoint (up to LAG_SCAN_LIMIT) and the oldest's age."""
    out = []
    now = datetime.now(UTC)
    for shard in kinesis.list_shards(StreamName=stream)["Shards"]:
        sid = shard["ShardId"]
        kwargs: dict[str, Any] = {"StreamName": stream, "ShardId": sid}
        if sid in checkpoints:
            kwargs.update(ShardIteratorType="AFTER_SEQUENCE_NUMBER")
            kwargs["StartingSequenceNumber"] = checkpoints[sid]
        else:
            kwargs["ShardIteratorType"] = "TRIM_HORIZON"
        iterator = kinesis.get_shard_iterator(**kwargs)["ShardIterator"]
        waiting, oldest = 0, None
        while iterator and waiting < LAG_SCAN_LIMIT:
            page = kinesis.get_records(ShardIterator=iterator, Limit=LAG_SCAN_LIMIT - waiting)
            records = page.get("Records", [])
            if not records:
                break
            if oldest is None:
                oldest = records[0]["ApproximateArrivalTimestamp"]
            waiting += len(records)
            iterator = page.get("NextShardIterator")
        age = (now - oldest.astimezone(UTC)).total_seconds() if oldest else 0.0
        out.append(
            {
                "shard": sid,
                "checkpoint": checkpoints.get(sid),
                "records_waiting": waiting,
                "more_than": waiting >= LAG_SCAN_LIMIT,
                "iterator_age_s": round(age, 1),
            }
        )
    return out


def iterator_age_metric(cloudwatch: Any, function: str) -> float | None:
    """The deployed consumer's IteratorAge (ms, max over the last 10 minutes), if any."""
    now = datetime.now(UTC)
    points = cloudwatch.get_metric_statistics(
        Namespace="AWS/Lambda",
        MetricName="IteratorAge",
        Dimensions=[{"Name": "FunctionName", "Value": function}],
        StartTime=now - timedelta(minutes=10),
        EndTime=now,
        Period=300,
        Statistics=["Maximum"],
    ).get("Datapoints", [])
    return max((p["Maximum"] for p in points), default=None)


def parquet_rows(s3: Any, bucket: str, key: str, size: int) -> int:
    """Rows of a Parquet object from its footer only (two small ranged GETs)."""
    tail = s3.get_object(Bucket=bucket, Key=key, Range=f"bytes={max(0, size - 8)}-")
    last8 = tail["Body"].read()
    footer_len = struct.unpack("<I", last8[:4])[0]
    start = max(0, size - 8 - footer_len)
    footer = s3.get_object(Bucket=bucket, Key=key, Range=f"bytes={start}-")["Body"].read()
    # the footer alone parses as a file once it starts with the magic bytes
    return int(pq.read_metadata(pa.BufferReader(b"PAR1" + footer)).num_rows)


def rows_today(s3: Any, settings: Settings, day: str) -> dict[str, dict[str, int]]:
    """Per table: rows and files in partition ``day`` (copies not yet compacted included)."""
    out = {}
    for table in TABLES:
        prefix = f"{settings.data_prefix}/{table}/dt={day}/"
        objs = [
            o
            for o in lake_state.list_keys(s3, settings.data_bucket, prefix)
            if o["Key"].endswith(".parquet")
        ]
        rows = sum(parquet_rows(s3, settings.data_bucket, o["Key"], o["Size"]) for o in objs)
        out[table] = {"rows": rows, "files": len(objs)}
    return out


def dead_letters_by_reason(s3: Any, settings: Settings, day: str) -> dict[str, int]:
    """Dead letters received on ``day``, counted by reason category."""
    counts: Counter[str] = Counter()
    prefix = f"{settings.deadletter_prefix}/dt={day}/"
    for obj in lake_state.list_keys(s3, settings.data_bucket, prefix):
        body = s3.get_object(Bucket=settings.data_bucket, Key=obj["Key"])["Body"].read()
        for line in body.splitlines():
            if line.strip():
                counts[reason_category(str(json.loads(line).get("reason", "")))] += 1
    return dict(counts)


def collect(
    s3: Any,
    kinesis: Any,
    settings: Settings,
    *,
    checkpoint_file: Path | None = None,
    cloudwatch: Any = None,
    consumer_function: str | None = None,
) -> dict[str, Any]:
    """Everything ``gamepipe status`` shows, as one JSON-able dict."""
    now = datetime.now(UTC)
    today = now.date().isoformat()
    bucket = settings.data_bucket
    status: dict[str, Any] = {"at": now.isoformat(timespec="seconds"), "stage": settings.stage}
    checkpoints = _checkpoints(checkpoint_file)
    if checkpoints is not None:
        status["shards"] = shard_lag(kinesis, settings.stream_name, checkpoints)
    elif cloudwatch is not None and consumer_function:
        status["iterator_age_ms"] = iterator_age_metric(cloudwatch, consumer_function)
    markers = lake_state.read_markers(s3, bucket)
    status["dirty_partitions"] = [list(p) for p in lake_state.dirty_partitions(markers)]
    if markers:
        last = markers[-1]
        written = _marker_time(last.key)
        status["last_batch"] = {
            "written_at": written.isoformat(timespec="seconds") if written else None,
            "seconds_ago": round((now - written).total_seconds(), 1) if written else None,
            **{k: last.figures.get(k) for k in ("shard_id", "events_in", "rows", "dead_lettered")},
            "freshness_lag_s": last.figures.get("freshness_lag_s"),
        }
    status["rows_today"] = rows_today(s3, settings, today)
    status["dead_letters_today"] = dead_letters_by_reason(s3, settings, today)
    status["failed_batches_waiting"] = len(not_replayed(s3, bucket, failed_batches(s3, bucket)))
    return status


def _checkpoints(path: Path | None) -> dict[str, str] | None:
    if path is None or not path.exists():
        return None
    data = json.loads(path.read_text())
    merged: dict[str, str] = {}
    for shards in data.values():  # one stream incarnation per key; the newest wins
        merged.update(shards)
    return merged


def _marker_time(key: str) -> datetime | None:
    stamp = key[len(lake_state.DIRTY_PREFIX) :].split("-", 1)[0]
    try:
        return datetime.strptime(stamp, "%Y%m%dT%H%M%S.%f").replace(tzinfo=UTC)
    except ValueError:
        return None


def render(status: dict[str, Any]) -> str:
    """The status as a few aligned lines."""
    lines = [f"gamepipe {status['stage']} at {status['at']}"]
    for shard in status.get("shards", []):
        more = "+" if shard["more_than"] else ""
        lines.append(
            f"  {shard['shard']}: {shard['records_waiting']}{more} records waiting, "
            f"oldest {shard['iterator_age_s']:.0f} s old"
        )
    if "iterator_age_ms" in status:
        age = status["iterator_age_ms"]
        lines.append(f"  consumer IteratorAge: {'n/a' if age is None else f'{age / 1000:.0f} s'}")
    last = status.get("last_batch")
    if last:
        lines.append(
            f"  last batch: {last['seconds_ago']} s ago, {last['events_in']} events -> "
            f"{last['rows']}, {last['dead_lettered']} dead-lettered; "
            f"freshness lag {last['freshness_lag_s']} s"
        )
    else:
        lines.append("  last batch: none since the last compaction")
    rows = ", ".join(
        f"{t} {v['rows']} ({v['files']} files)" for t, v in status["rows_today"].items()
    )
    lines.append(f"  rows today: {rows}")
    lines.append(f"  dead letters today: {status['dead_letters_today'] or 'none'}")
    lines.append(f"  failed batches waiting for replay: {status['failed_batches_waiting']}")
    dirty = status["dirty_partitions"]
    lines.append(
        f"  dirty partitions: {len(dirty)}"
        + (
            f" ({', '.join(f'{t}/{d}' for t, d in dirty[:6])}{' ...' if len(dirty) > 6 else ''})"
            if dirty
            else ""
        )
    )
    return "\n".join(lines)
