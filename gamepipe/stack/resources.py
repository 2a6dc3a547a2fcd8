"""Create the pipeline's resources on any target, idempotently: stream, buckets, Glue catalog,
the applications table."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from typing import Any

from botocore.exceptions import ClientError

from chalicelib import aws
from chalicelib.glue_catalog import ensure_catalog
from chalicelib.settings import Settings
from chalicelib.tables import TABLES


def ensure_stream(kinesis: Any, name: str, shards: int, *, timeout: float = 60) -> str:
    """Create the Kinesis stream if missing and wait until ACTIVE; return its ARN."""
    with _exists_ok("ResourceInUseException"):
        kinesis.create_stream(StreamName=name, ShardCount=shards)

    def status() -> tuple[str, str]:
        summary = kinesis.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]
        return summary["StreamStatus"], summary["StreamARN"]

    return _wait_active(f"stream {name}", status, timeout)


def ensure_bucket(s3: Any, name: str, region: str) -> None:
    """Create an S3 bucket if it does not exist yet (ours already is fine)."""
    kwargs: dict[str, Any] = {"Bucket": name}
    if region != "us-east-1":
        kwargs["CreateBucketConfiguration"] = {"LocationConstraint": region}
    # BucketAlreadyExists: the (global) name belongs to another account; never use it.
    with _exists_ok("BucketAlreadyOwnedByYou"):
        s3.create_bucket(**kwargs)


def ensure_applications_table(dynamodb: Any, name: str, *, timeout: float = 60) -> str:
    """Create the applications table (key ``application_id``) if missing; return its ARN.

    On AWS the template creates it (encrypted, point-in-time recovery); locally moto or
    LocalStack serves it.
    """
    with _exists_ok("ResourceInUseException"):
        dynamodb.create_table(
            TableName=name,
            AttributeDefinitions=[{"AttributeName": "application_id", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "application_id", "KeyType": "HASH"}],
            BillingMode="PAY_PER_REQUEST",
        )

    def status() -> tuple[str, str]:
        table = dynamodb.describe_table(TableName=name)["Table"]
        return table["TableStatus"], table["TableArn"]

    return _wait_active(f"table {name}", status, timeout)


@contextlib.contextmanager
def _exists_ok(code: str) -> Iterator[None]:
    """Creating what exists is fine when AWS says so with ``code``; other errors raise."""
    try:
        yield
    except ClientError as exc:
        if exc.response["Error"]["Code"] != code:
            raise


def _wait_active(what: str, status: Callable[[], tuple[str, str]], timeout: float) -> str:
    """Poll ``status`` (state, ARN) until ACTIVE; return the ARN."""
    deadline = time.monotonic() + timeout
    while True:
        state, arn = status()
        if state == "ACTIVE":
            return str(arn)
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} not ACTIVE after {timeout}s")
        # boto3's waiters poll every 10-20 s; locally it is ready in well under 1 s
        time.sleep(0.2)


def ensure_glue(glue: Any, settings: Settings) -> list[str]:
    """Glue database + the lake tables, via the consumer's glue_catalog (no duplicate DDL)."""
    ensure_catalog(glue, settings)
    return list(TABLES)


def create_resources(
    settings: Settings,
    shards: int = 4,
    *,
    kinesis: Any = None,
    s3: Any = None,
    glue: Any = None,
    dynamodb: Any = None,
) -> dict[str, Any]:
    """Stream (``shards`` shards, ACTIVE), data + reports buckets, Glue database and tables,
    the applications table."""
    kinesis = kinesis or aws.client("kinesis")
    s3 = s3 or aws.client("s3")
    glue = glue or aws.client("glue")
    dynamodb = dynamodb or aws.client("dynamodb")
    arn = ensure_stream(kinesis, settings.stream_name, shards)
    for bucket in (settings.data_bucket, settings.reports_bucket):
        ensure_bucket(s3, bucket, settings.region)
    tables = ensure_glue(glue, settings)
    ensure_applications_table(dynamodb, settings.applications_table)
    return {
        "stream_arn": arn,
        "buckets": [settings.data_bucket, settings.reports_bucket],
        "glue_database": settings.glue_database,
        "glue_tables": tables,
        "applications_table": settings.applications_table,
    }
