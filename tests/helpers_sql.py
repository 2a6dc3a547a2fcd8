"""Test helpers of the SQL area: a small deterministic event generator and a minimal lake
loader (pyarrow + boto3, the consumer's layout) so the query engines are tested on their
own, whatever state the ingest and consumer work is in.
"""

from __future__ import annotations

import base64
import contextlib
import io
import json
import random
import uuid
from collections import defaultdict
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from chalicelib.contract import ValidationFailure, validate_event
from chalicelib.glue_catalog import ensure_view
from chalicelib.settings import Settings
from chalicelib.statements import VIEWS
from chalicelib.tables import TABLES

GUILDS = ("Castle of Rock", "Game of Thrones", "Knights of the Round Table")
ITEM_PRICES = {"sword": 100, "shield": 80, "potion": 10}
BASE_TS = datetime(2026, 11, 26, 22, 0, tzinfo=UTC)  # spans midnight: two dt partitions


def make_events(
    n: int = 1000,
    users: int = 100,
    seed: int = 42,
    *,
    resend_fraction: float = 0.0,
    bad_fraction: float = 0.0,
    span_seconds: int = 4 * 3600,
) -> list[dict[str, Any]]:
    """Events as a client sends them (the truth file's lines), deterministic for a seed.

    Timestamps are whole seconds over a few hours so equal event_ts values (ties) occur;
    resends repeat an earlier event verbatim (same event_id); bad events break the contract.
    """
    rng = random.Random(seed)
    sent: list[dict[str, Any]] = []
    for _ in range(n):
        roll = rng.random()
        if sent and roll < resend_fraction:
            sent.append(dict(rng.choice(sent)))
            continue
        event = _event(rng, users, span_seconds)
        if roll > 1.0 - bad_fraction:
            event = _broken(rng, event)
        sent.append(event)
    return sent


def _event(rng: random.Random, users: int, span_seconds: int) -> dict[str, Any]:
    kind = rng.choice(
        [
            "purchase_sword", "purchase_shield", "purchase_potion", "join_guild",
            "find_treasure", "enemy_attack", "defeat_enemy", "take_potion", "level_up",
        ]
    )  # fmt: skip
    ts = BASE_TS + timedelta(seconds=rng.randrange(span_seconds))
    event: dict[str, Any] = {
        "event_type": kind,
        "userid": f"user-{rng.randrange(users):04d}",
        "event_ts": ts.isoformat().replace("+00:00", "Z"),
        "event_id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
    }
    if kind.startswith("purchase_"):
        item = kind.removeprefix("purchase_")
        event.update(
            item_type=item,
            description=f"a {item}",
            amount_purchased=rng.randint(1, 10),
            price=ITEM_PRICES[item] + rng.randint(0, 5),
        )
    elif kind == "join_guild":
        event.update(guild_name=rng.choice(GUILDS), description="joined")
    elif kind in ("take_potion", "level_up") or (kind == "enemy_attack" and rng.random() < 0.5):
        event.update(
            level=rng.randint(1, 12),
            attack=rng.randint(0, 500),
            defense=rng.randint(0, 500),
            health=rng.randint(0, 100),
        )
    if rng.random() < 0.1:
        event["client_extra"] = "kept raw"  # unknown fields are allowed
    return event


def _broken(rng: random.Random, event: dict[str, Any]) -> dict[str, Any]:
    bad = dict(event)
    how = rng.randrange(4)
    if how == 0:
        bad["userid"] = "'" + bad["userid"] + "'"  # the seed's quoted ids
    elif how == 1:
        del bad["event_ts"]
    elif how == 2:
        bad["event_type"] = "dance"
    else:
        bad["event_ts"] = "2026-11-26T22:00:00"  # no time zone
    return bad


def table_rows(
    events: Iterable[dict[str, Any]], *, batch_size: int = 100
) -> list[dict[str, list[dict[str, Any]]]]:
    """Route accepted events into per-table rows, one dict per consumer batch.

    Like the consumer: invalid events dropped, duplicates dropped within a batch only,
    received_at = arrival order, enemy_attack also in character_stats when it has stats.
    """
    batches: list[dict[str, list[dict[str, Any]]]] = []
    current: dict[str, list[dict[str, Any]]] = defaultdict(list)
    seen: set[str] = set()
    received = BASE_TS
    for i, raw in enumerate(events):
        if i and i % batch_size == 0:
            batches.append(dict(current))
            current, seen = defaultdict(list), set()
        received += timedelta(milliseconds=7)
        try:
            typed = validate_event(raw)
        except ValidationFailure:
            continue
        event_id = typed.event_id or str(uuid.uuid4())
        if event_id in seen:
            continue
        seen.add(event_id)
        fields = {f: getattr(typed, f) for f in typed.__struct_fields__}
        row = {
            **fields,
            "event_type": raw["event_type"],
            "event_id": event_id,
            "received_at": received,
            "host": "test-host",
            "user_agent": "pytest",
            "payload": json.dumps(raw),
        }
        kind = raw["event_type"]
        for table in TABLES.values():
            if kind not in table.event_types:
                continue
            if table.name == "character_stats" and row.get("level") is None:
                continue
            current[table.name].append(row)
    batches.append(dict(current))
    return batches


def arrow_table(table: str, rows: list[dict[str, Any]]) -> pa.Table:
    """Rows as an Arrow table with the lake's column types (timestamps UTC, micro)."""
    types = {"string": pa.string(), "bigint": pa.int64(), "timestamp": pa.timestamp("us")}
    spec = TABLES[table].columns
    arrays = {}
    for col in spec:
        values = [r.get(col.name) for r in rows]
        if col.type == "timestamp":
            values = [v.astimezone(UTC).replace(tzinfo=None) if v else None for v in values]
        arrays[col.name] = pa.array(values, type=types[col.type])
    return pa.table(arrays)


def _partitioned(
    batches: list[dict[str, list[dict[str, Any]]]],
) -> Iterable[tuple[str, str, int, pa.Table]]:
    for b, batch in enumerate(batches):
        for table, rows in batch.items():
            by_dt: dict[str, list[dict[str, Any]]] = defaultdict(list)
            for row in rows:
                by_dt[row["event_ts"].astimezone(UTC).strftime("%Y-%m-%d")].append(row)
            for dt, dt_rows in sorted(by_dt.items()):
                yield table, dt, b, arrow_table(table, dt_rows)


def write_lake_dir(root: Path, batches: list[dict[str, list[dict[str, Any]]]]) -> None:
    """Write batches as <root>/<table>/dt=<day>/batch-<n>.parquet (Snappy)."""
    for table, dt, b, data in _partitioned(batches):
        folder = root / table / f"dt={dt}"
        folder.mkdir(parents=True, exist_ok=True)
        pq.write_table(data, folder / f"batch-{b:05d}.parquet", compression="snappy")


def write_lake_s3(
    batches: list[dict[str, list[dict[str, Any]]]],
    *,
    s3: Any,
    glue: Any,
    bucket: str,
    prefix: str,
    database: str,
    register: bool = True,
) -> set[tuple[str, str]]:
    """Write batches to s3://bucket/prefix/<table>/dt=<day>/ and register Glue tables and
    (if ``register``) partitions; returns the (table, dt) partitions written."""
    create_glue_tables(glue, database=database, bucket=bucket, prefix=prefix)
    written: set[tuple[str, str]] = set()
    for table, dt, b, data in _partitioned(batches):
        buf = io.BytesIO()
        pq.write_table(data, buf, compression="snappy")
        s3.put_object(
            Bucket=bucket,
            Key=f"{prefix}/{table}/dt={dt}/batch-{b:05d}.parquet",
            Body=buf.getvalue(),
        )
        written.add((table, dt))
    if register:
        for table, dt in sorted(written):
            register_partition(
                glue, database=database, bucket=bucket, prefix=prefix, table=table, dt=dt
            )
    return written


def create_glue_tables(glue: Any, *, database: str, bucket: str, prefix: str) -> None:
    """The database, the five tables (columns from chalicelib.tables) and the views (as
    chalicelib.glue_catalog stores them), if missing."""
    with contextlib.suppress(glue.exceptions.AlreadyExistsException):
        glue.create_database(DatabaseInput={"Name": database})
    for table in TABLES.values():
        with contextlib.suppress(glue.exceptions.AlreadyExistsException):
            glue.create_table(
                DatabaseName=database,
                TableInput={
                    "Name": table.name,
                    "TableType": "EXTERNAL_TABLE",
                    "PartitionKeys": [{"Name": "dt", "Type": "string"}],
                    "StorageDescriptor": {
                        "Columns": [
                            {"Name": c.name, "Type": c.type} for c in table.catalog_columns
                        ],
                        "Location": f"s3://{bucket}/{prefix}/{table.name}/",
                    },
                },
            )
    settings = Settings(glue_database=database)
    for view in VIEWS:
        ensure_view(glue, settings, view)


def register_partition(
    glue: Any, *, database: str, bucket: str, prefix: str, table: str, dt: str
) -> None:
    """Register one dt partition of ``table`` (idempotent)."""
    with contextlib.suppress(glue.exceptions.AlreadyExistsException):
        glue.create_partition(
            DatabaseName=database,
            TableName=table,
            PartitionInput={
                "Values": [dt],
                "StorageDescriptor": {"Location": f"s3://{bucket}/{prefix}/{table}/dt={dt}/"},
            },
        )


def moto_server_env() -> contextlib.AbstractContextManager[str]:
    """A moto server on a free port with the environment pointing boto3 (and DuckDB) at it."""
    from gamepipe.stack.moto_server import in_process

    return in_process()


@contextlib.contextmanager
def fresh_lake(endpoint: str, name: str) -> Iterator[dict[str, Any]]:
    """A new data bucket and Glue database on the moto server at ``endpoint``, with clients
    and a LocalEngine over them: ``{"settings", "s3", "glue", "engine"}``."""
    import boto3

    from gamepipe.athena.engine import LocalEngine

    suffix = uuid.uuid4().hex[:8]
    settings = Settings(data_bucket=f"{name}-{suffix}", glue_database=f"{name}_{suffix}")
    session = boto3.session.Session()
    s3 = session.client("s3", endpoint_url=endpoint)
    glue = session.client("glue", endpoint_url=endpoint)
    s3.create_bucket(Bucket=settings.data_bucket)
    engine = LocalEngine(settings, glue_client=glue, s3_client=s3, session=session)
    try:
        yield {"settings": settings, "s3": s3, "glue": glue, "engine": engine}
    finally:
        engine.close()


def kinesis_batches(
    records: list[tuple[str, bytes]], *, batch_size: int = 100, shard: str = "shardId-000000000000"
) -> Iterator[dict[str, Any]]:
    """Lambda Kinesis events (``{"Records": [...]}``) carrying ``records`` in order."""
    for start in range(0, len(records), batch_size):
        chunk = records[start : start + batch_size]
        out = []
        for i, (key, data) in enumerate(chunk, start):
            seq = f"{49_600_000_000_000_000_000 + i:056d}"
            out.append(
                {
                    "eventSource": "aws:kinesis",
                    "eventID": f"{shard}:{seq}",
                    "awsRegion": "us-east-1",
                    "kinesis": {
                        "kinesisSchemaVersion": "1.0",
                        "partitionKey": key,
                        "sequenceNumber": seq,
                        "data": base64.b64encode(data).decode(),
                        "approximateArrivalTimestamp": 1764194400.0 + i / 1000,
                    },
                }
            )
        yield {"Records": out}


def load_report_lake(settings: Settings) -> list[dict[str, Any]]:
    """The reports' e2e workload (1,500 events, 80 players, 5% resends, 3% contract-breaking)
    consumed into ``settings``' lake, and its reports bucket created; returns the events."""
    import boto3

    events = make_events(1500, users=80, seed=7, resend_fraction=0.05, bad_fraction=0.03)
    consume_into_lake(events, settings)
    boto3.client("s3").create_bucket(Bucket=settings.reports_bucket)
    return events


def consume_into_lake(events: list[dict[str, Any]], settings: Any) -> None:
    """Encode like the API (batches of 50 requests' worth), consume like the Lambda: the
    data bucket, the Glue catalog and the lake's partitions, through the real code."""
    import boto3

    from chalicelib.consumer import handle_kinesis_event
    from chalicelib.glue_catalog import Catalog, ensure_catalog
    from chalicelib.ingest import ClientInfo, encode_records

    s3, glue = boto3.client("s3"), boto3.client("glue")
    s3.create_bucket(Bucket=settings.data_bucket)
    ensure_catalog(glue, settings)
    catalog = Catalog(glue, settings)
    info = ClientInfo(host="e2e", user_agent="pytest")
    now = datetime(2026, 11, 27, 1, 0, tzinfo=UTC)
    records: list[tuple[str, bytes]] = []
    for start in range(0, len(events), 50):
        records += encode_records(events[start : start + 50], info, now)
        now += timedelta(seconds=1)
    for batch in kinesis_batches(records, batch_size=40):
        reply = handle_kinesis_event(batch, settings, s3=s3, catalog=catalog)
        assert reply == {"batchItemFailures": []}
