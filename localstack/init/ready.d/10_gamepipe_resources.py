"""LocalStack ready hook: create the pipeline's stream and buckets (the applications table and
the Glue DB where they are served) idempotently.

Runs inside the LocalStack container (``/etc/localstack/init/ready.d``, its own Python has
boto3) and in host mode (``localstack/run.sh`` runs it with the LocalStack venv's Python).
Self-contained on purpose: the project's package is not installed in the container; the
defaults are chalicelib/names.py's names of the ``local`` stage (a test checks they agree).
Glue lives in the moto sidecar (LocalStack's free tier answers 501), so the database is
created only when ``GLUE_ENDPOINT`` points at it. The applications table is created where
DynamoDB is served: ``DYNAMODB_ENDPOINT``, else LocalStack when ``SERVICES`` lists dynamodb
(with Docker; host mode here cannot: LocalStack's DynamoDB downloads Java 21 and DynamoDB
Local on first use). ``gamepipe`` also creates all of this itself (``create_resources``), so
the hook is for people who use LocalStack on their own.
"""

from __future__ import annotations

import os
import time

import boto3
from botocore.exceptions import ClientError

ENDPOINT = os.environ.get("LOCALSTACK_ENDPOINT", "http://localhost:4566")
REGION = os.environ.get("AWS_DEFAULT_REGION", "us-east-1")
STREAM = os.environ.get("GAMEPIPE_STREAM_NAME", "gamepipe-local-events")
SHARDS = int(os.environ.get("GAMEPIPE_SHARDS", "4"))
BUCKETS = (
    os.environ.get("GAMEPIPE_DATA_BUCKET", "gamepipe-local-data"),
    os.environ.get("GAMEPIPE_REPORTS_BUCKET", "gamepipe-local-reports"),
)
DATABASE = os.environ.get("GAMEPIPE_GLUE_DATABASE", "gamepipe_local")
APPLICATIONS = os.environ.get("GAMEPIPE_APPLICATIONS_TABLE", "gamepipe-local-applications")
GLUE_ENDPOINT = os.environ.get("GLUE_ENDPOINT", "")
SERVED = os.environ.get("SERVICES", "").split(",")
DYNAMODB_ENDPOINT = os.environ.get("DYNAMODB_ENDPOINT") or (
    ENDPOINT if "dynamodb" in SERVED else ""
)


def _client(service: str, endpoint: str) -> object:
    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )


def main() -> None:
    """Create stream (wait ACTIVE), buckets, the applications table, and the Glue database if
    a sidecar is given."""
    kinesis = _client("kinesis", ENDPOINT)
    try:
        kinesis.create_stream(StreamName=STREAM, ShardCount=SHARDS)  # type: ignore[attr-defined]
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "ResourceInUseException":
            raise
    for _ in range(300):
        desc = kinesis.describe_stream_summary(StreamName=STREAM)  # type: ignore[attr-defined]
        if desc["StreamDescriptionSummary"]["StreamStatus"] == "ACTIVE":
            break
        time.sleep(0.2)
    s3 = _client("s3", ENDPOINT)
    for bucket in BUCKETS:
        try:
            s3.create_bucket(Bucket=bucket)  # type: ignore[attr-defined]
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "BucketAlreadyOwnedByYou":
                raise
    if DYNAMODB_ENDPOINT:
        try:
            _client("dynamodb", DYNAMODB_ENDPOINT).create_table(  # type: ignore[attr-defined]
                TableName=APPLICATIONS,
                AttributeDefinitions=[{"AttributeName": "application_id", "AttributeType": "S"}],
                KeySchema=[{"AttributeName": "application_id", "KeyType": "HASH"}],
                BillingMode="PAY_PER_REQUEST",
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ResourceInUseException":
                raise
    if GLUE_ENDPOINT:
        glue = _client("glue", GLUE_ENDPOINT)
        try:
            glue.create_database(DatabaseInput={"Name": DATABASE})  # type: ignore[attr-defined]
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "AlreadyExistsException":
                raise
    table = f", table {APPLICATIONS}" if DYNAMODB_ENDPOINT else ""
    print(f"gamepipe: stream {STREAM} ({SHARDS} shards), buckets {', '.join(BUCKETS)}{table} ready")


if __name__ == "__main__":
    main()
