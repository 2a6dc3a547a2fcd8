"""List prices (one place, each with its source and date) and the AWS limits the model uses."""

from __future__ import annotations

from dataclasses import dataclass


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

# --- AWS limits and units ------------------------------------------------------------

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
