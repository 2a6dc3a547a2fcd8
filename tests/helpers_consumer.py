"""Test helpers of the consumer: Lambda-shaped Kinesis events and lake readers."""

from __future__ import annotations

import base64
import io
import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from chalicelib.contract.models import EVENT_CLASSES

EVENTS_DIR = Path(__file__).parent / "events" / "kinesis"
SHARD = "shardId-000000000000"


def load_event(name: str) -> dict[str, Any]:
    """A Lambda Kinesis event stored in tests/events/kinesis/<name>.json."""
    return json.loads((EVENTS_DIR / name).with_suffix(".json").read_text())  # type: ignore[no-any-return]


def ndjson(*events: dict[str, Any]) -> bytes:
    """One Kinesis record's data: the events as newline-delimited JSON."""
    return b"\n".join(json.dumps(e).encode() for e in events)


def sequence(n: int) -> str:
    """A Kinesis-like, increasing sequence number."""
    return f"4959{n:052d}"


def kinesis_event(
    datas: list[bytes], *, shard: str = SHARD, first: int = 0, arrival: float = 1795824000.0
) -> dict[str, Any]:
    """A Lambda Kinesis event with increasing sequence numbers (chalice's repeats one)."""
    return {
        "Records": [
            {
                "kinesis": {
                    "kinesisSchemaVersion": "1.0",
                    "partitionKey": "p",
                    "sequenceNumber": sequence(first + i),
                    "data": base64.b64encode(d).decode("ascii"),
                    "approximateArrivalTimestamp": arrival,
                },
                "eventSource": "aws:kinesis",
                "eventVersion": "1.0",
                "eventID": f"{shard}:{sequence(first + i)}",
                "eventName": "aws:kinesis:record",
                "awsRegion": "us-east-1",
                "eventSourceARN": "arn:aws:kinesis:us-east-1:123456789012:stream/gamepipe-events",
            }
            for i, d in enumerate(datas)
        ]
    }


def renumber(event: dict[str, Any], *, shard: str = SHARD, first: int = 0) -> dict[str, Any]:
    """Give a chalice-generated Kinesis event distinct, increasing sequence numbers."""
    for i, rec in enumerate(event["Records"]):
        rec["kinesis"]["sequenceNumber"] = sequence(first + i)
        rec["eventID"] = f"{shard}:{sequence(first + i)}"
    return event


def list_keys(s3: Any, bucket: str, prefix: str = "") -> list[str]:
    """All keys under a prefix, sorted."""
    keys: list[str] = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        keys.extend(o["Key"] for o in page.get("Contents", []))
    return sorted(keys)


def read_table(s3: Any, bucket: str, prefix: str) -> pa.Table:
    """All Parquet files under a prefix as one Arrow table, with a ``dt`` column."""
    parts = []
    for key in list_keys(s3, bucket, prefix):
        if not key.endswith(".parquet"):
            continue
        body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        t = pq.read_table(io.BytesIO(body))
        dt = key.split("dt=")[1].split("/")[0]
        parts.append(t.append_column("dt", pa.array([dt] * t.num_rows, pa.string())))
    return pa.concat_tables(parts) if parts else pa.table({})


def read_deadletters(s3: Any, bucket: str, prefix: str) -> list[dict[str, Any]]:
    """Every dead-letter line under a prefix."""
    out = []
    for key in list_keys(s3, bucket, prefix):
        body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        out.extend(json.loads(line) for line in body.splitlines() if line)
    return out


def synthetic_lines(n: int, *, users: int = 1000) -> list[bytes]:
    """``n`` valid NDJSON event lines of every type, as the API writes them (server fields)."""
    types = tuple(EVENT_CLASSES)
    stats = {"level": 7, "attack": 40, "defense": 30, "health": 100}
    out = []
    for i in range(n):
        etype = types[i % len(types)]
        ev: dict[str, Any] = {
            "event_type": etype,
            "userid": f"user-{i % users:05d}",
            "event_ts": f"2021-08-06T{(i // 3600) % 24:02d}:{(i // 60) % 60:02d}:{i % 60:02d}Z",
            "event_id": f"00000000-0000-4000-8000-{i:012d}",
            "received_at": "2021-08-06T23:59:59.000001Z",
            "host": "api.gamepipe.example",
            "user_agent": "ApacheBench/2.3",
            "app_version": "1.4.2",
            "description": f"{etype} happened",
        }
        if etype.startswith("purchase"):
            ev.update(amount_purchased=1 + i % 5, price=10 * (1 + i % 3))
        elif etype == "join_guild":
            ev["guild_name"] = "Knights"
        elif etype in ("take_potion", "level_up") or (etype == "enemy_attack" and i % 2):
            ev.update(stats)
        out.append(json.dumps(ev, separators=(",", ":")).encode())
    return out


def batch_summary(out: str) -> dict[str, Any]:
    """The consumer's one summary line of a batch (other lines are its EMF metrics)."""
    lines = [ln for ln in out.splitlines() if '"consumer batch"' in ln]
    return json.loads(lines[-1])  # type: ignore[no-any-return]
