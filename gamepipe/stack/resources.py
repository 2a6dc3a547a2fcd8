"""Create the pipeline's resources on any target, idempotently: stream, buckets, Glue catalog,
the applications table."""

from __future__ import annotations

import time
from typing import Any

from botocore.exceptions import ClientError

from chalicelib import aws
from chalicelib.glue_catalog import ensure_catalog
from chalicelib.settings import Settings
from chalicelib.tables import TABLES


def ensure_stream(kinesis: Any, name: str, shards: int, *, timeout: float = 60) -> str:
    """Create the Kinesis stream if missing and wait until ACTIVE; return its ARN."""
    try:
        kinesis.create_stream(StreamName=name, ShardCount=shards)
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "ResourceInUseException":
            raise
    deadline = time.monotonic() + timeout
    while True:
        summary = kinesis.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]
        if summary["StreamStatus"] == "ACTIVE":
            return str(summary["StreamARN"])
        if time.monotonic() > deadline:
            raise TimeoutError(f"stream {name} not ACTIVE after {timeout}s")
        # the boto3 waiter polls every 10 s; locally the stream is ready in well under 1 s
        time.sleep(0.2)


def ensure_bucket(s3: Any, name: str, region: str) -> None:
    """Create an S3 bucket if it does not exist yet (ours already is fine)."""
    kwargs: dict[str, Any] = {"Bucket": name}
    if region != "us-east-1":
        kwargs["CreateBucketConfiguration"] = {"LocationConstraint": region}
    try:
        s3.create_bucket(**kwargs)
    except ClientError as exc:
        # BucketAlreadyExists: the (global) name belongs to another account; never use it.
        if exc.response["Error"]["Code"] != "BucketAlreadyOwnedByYou":
            raise


def ensure_applications_table(dynamodb: Any, name: str, *, timeout: float = 60) -> str:
    """Create the applications table (key ``application_id``) if missing; return its ARN.

    On AWS the template creates it (encrypted, point-in-time recovery); locally moto or
    LocalStack serves it.
    """
    try:
        dynamodb.create_table(
            TableName=name,
            AttributeDefinitions=[{"AttributeName": "application_id", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "application_id", "KeyType": "HASH"}],
            BillingMode="PAY_PER_REQUEST",
        )
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "ResourceInUseException":
            raise
    deadline = time.monotonic() + timeout
    while True:
        table = dynamodb.describe_table(TableName=name)["Table"]
        if table["TableStatus"] == "ACTIVE":
            return str(table["TableArn"])
        if time.monotonic() > deadline:
            raise TimeoutError(f"table {name} not ACTIVE after {timeout}s")
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
