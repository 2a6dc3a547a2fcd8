"""Kinesis consumer: batches of events -> partitioned Parquet on S3 + Glue partitions."""

from chalicelib.consumer.handler import (
    BatchResult,
    handle_kinesis_event,
    plan_batch,
    process_records,
    reset,
)

__all__ = ["BatchResult", "handle_kinesis_event", "plan_batch", "process_records", "reset"]
