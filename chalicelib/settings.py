"""One settings registry: every name and endpoint comes from the environment.

Chalice puts a stage's ``environment_variables`` (``.chalice/config.json``) into
``os.environ`` before ``app.py`` is imported; the CLI and tests set the same names.
The local emulator vs AWS difference is configuration only: boto3 itself honours
``AWS_ENDPOINT_URL`` and ``AWS_ENDPOINT_URL_<SERVICE>``; code outside boto3 (DuckDB's
S3 reader) asks :func:`endpoint_url` for the same answer.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, fields

from chalicelib.contract.rules import Limits
from chalicelib.names import ENV_BY_NAME, resource_names

# Environment variable names, in one place.
ENV_STAGE = "GAMEPIPE_STAGE"
ENV_STREAM = "GAMEPIPE_STREAM_NAME"
ENV_DATA_BUCKET = "GAMEPIPE_DATA_BUCKET"
ENV_DATA_PREFIX = "GAMEPIPE_DATA_PREFIX"
ENV_DEADLETTER_PREFIX = "GAMEPIPE_DEADLETTER_PREFIX"
ENV_GLUE_DATABASE = "GAMEPIPE_GLUE_DATABASE"
ENV_REPORTS_BUCKET = "GAMEPIPE_REPORTS_BUCKET"
ENV_QUERY_ENGINE = "GAMEPIPE_QUERY_ENGINE"
ENV_ATHENA_WORKGROUP = "GAMEPIPE_ATHENA_WORKGROUP"
ENV_ATHENA_OUTPUT = "GAMEPIPE_ATHENA_OUTPUT"
ENV_KINESIS_BATCH_SIZE = "GAMEPIPE_KINESIS_BATCH_SIZE"
ENV_KINESIS_BATCH_WINDOW = "GAMEPIPE_KINESIS_BATCH_WINDOW"
ENV_KINESIS_STARTING_POSITION = "GAMEPIPE_KINESIS_STARTING_POSITION"
ENV_REPORT_SCHEDULE = "GAMEPIPE_REPORT_SCHEDULE"
ENV_REPORT_TOP_N = "GAMEPIPE_REPORT_TOP_N"
ENV_COMPACTION_SCHEDULE = "GAMEPIPE_COMPACTION_SCHEDULE"
ENV_DEDUPE_HORIZON_HOURS = "GAMEPIPE_DEDUPE_HORIZON_HOURS"
ENV_ID_INDEX_DAYS = "GAMEPIPE_ID_INDEX_DAYS"
ENV_MAX_EVENTS_PER_REQUEST = "GAMEPIPE_MAX_EVENTS_PER_REQUEST"
ENV_MAX_BODY_BYTES = "GAMEPIPE_MAX_BODY_BYTES"
ENV_PUT_MAX_ATTEMPTS = "GAMEPIPE_PUT_MAX_ATTEMPTS"
ENV_APPLICATIONS_TABLE = "GAMEPIPE_APPLICATIONS_TABLE"
ENV_AUTH_CACHE_SECONDS = "GAMEPIPE_AUTH_CACHE_SECONDS"
ENV_MAX_UNKNOWN_BYTES = "GAMEPIPE_MAX_UNKNOWN_BYTES"
ENV_EVENT_MAX_AGE_DAYS = "GAMEPIPE_EVENT_MAX_AGE_DAYS"
ENV_EVENT_MAX_FUTURE_HOURS = "GAMEPIPE_EVENT_MAX_FUTURE_HOURS"
ENV_REGION = "AWS_DEFAULT_REGION"

# Unset resource names default to the stage's (chalicelib/names.py); on AWS the template sets
# every one of them to the stack's resources.
_LOCAL = resource_names("local")


@dataclass(frozen=True)
class Settings:
    """Frozen view of the pipeline's configuration."""

    stage: str = "local"
    stream_name: str = _LOCAL.stream
    data_bucket: str = _LOCAL.data_bucket
    data_prefix: str = "tables"
    deadletter_prefix: str = "deadletter"
    glue_database: str = _LOCAL.glue_database
    reports_bucket: str = _LOCAL.reports_bucket
    query_engine: str = "local"  # "local" (DuckDB + sqlglot) or "athena" (awswrangler)
    athena_workgroup: str = "primary"
    athena_output: str = ""  # s3://bucket/prefix/ for Athena results; empty = workgroup default
    kinesis_batch_size: int = 1000
    kinesis_batch_window: int = 1
    kinesis_starting_position: str = "TRIM_HORIZON"
    report_schedule: str = "cron(15 0 * * ? *)"
    report_top_n: int = 25
    compaction_schedule: str = "cron(30 0 * * ? *)"
    # copies of one event_id in different partitions are matched when received this close
    dedupe_horizon_hours: int = 24
    id_index_days: int = 14  # received days kept in the event-id index (>= replay delay)
    max_events_per_request: int = 500
    max_body_bytes: int = 1_048_576
    put_max_attempts: int = 8
    applications_table: str = _LOCAL.applications_table
    # The authorizer's in-process cache of key lookups; with API Gateway's authorizer cache
    # (AUTHORIZER_TTL_SECONDS in app.py) a revoked key stops working within 300 s.
    auth_cache_seconds: int = 60
    max_unknown_bytes: int = 8192  # unknown fields per event (key + value bytes)
    event_max_age_days: int = 45  # event-time window: oldest event_ts, before receive time
    event_max_future_hours: int = 24  # and latest, after it (clock skew)
    region: str = "us-east-1"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Build settings from environment variables (defaults for unset ones)."""
        env = os.environ if env is None else env
        stage = env.get(ENV_STAGE) or cls.stage
        # the stage's names, except the workgroup: an emulator has only "primary"
        names = {k: v for k, v in resource_names(stage).env().items() if k != ENV_ATHENA_WORKGROUP}
        env = {**names, **{k: v for k, v in env.items() if v != ""}}
        values: dict[str, object] = {}
        for f in fields(cls):
            name = _ENV_BY_FIELD[f.name]
            if name in env and env[name] != "":
                raw = env[name]
                values[f.name] = int(raw) if isinstance(getattr(cls, f.name), int) else raw
        return cls(**values)  # type: ignore[arg-type]

    @property
    def limits(self) -> Limits:
        """The contract's configurable bounds (unknown-field bytes, event-time window)."""
        return Limits(self.max_unknown_bytes, self.event_max_age_days, self.event_max_future_hours)

    @property
    def tables_root(self) -> str:
        """s3:// URI under which each table's partitions live."""
        return f"s3://{self.data_bucket}/{self.data_prefix}"


_ENV_BY_FIELD = {
    "stage": ENV_STAGE,
    "stream_name": ENV_STREAM,
    "data_bucket": ENV_DATA_BUCKET,
    "data_prefix": ENV_DATA_PREFIX,
    "deadletter_prefix": ENV_DEADLETTER_PREFIX,
    "glue_database": ENV_GLUE_DATABASE,
    "reports_bucket": ENV_REPORTS_BUCKET,
    "query_engine": ENV_QUERY_ENGINE,
    "athena_workgroup": ENV_ATHENA_WORKGROUP,
    "athena_output": ENV_ATHENA_OUTPUT,
    "kinesis_batch_size": ENV_KINESIS_BATCH_SIZE,
    "kinesis_batch_window": ENV_KINESIS_BATCH_WINDOW,
    "kinesis_starting_position": ENV_KINESIS_STARTING_POSITION,
    "report_schedule": ENV_REPORT_SCHEDULE,
    "report_top_n": ENV_REPORT_TOP_N,
    "compaction_schedule": ENV_COMPACTION_SCHEDULE,
    "dedupe_horizon_hours": ENV_DEDUPE_HORIZON_HOURS,
    "id_index_days": ENV_ID_INDEX_DAYS,
    "max_events_per_request": ENV_MAX_EVENTS_PER_REQUEST,
    "max_body_bytes": ENV_MAX_BODY_BYTES,
    "put_max_attempts": ENV_PUT_MAX_ATTEMPTS,
    "applications_table": ENV_APPLICATIONS_TABLE,
    "auth_cache_seconds": ENV_AUTH_CACHE_SECONDS,
    "max_unknown_bytes": ENV_MAX_UNKNOWN_BYTES,
    "event_max_age_days": ENV_EVENT_MAX_AGE_DAYS,
    "event_max_future_hours": ENV_EVENT_MAX_FUTURE_HOURS,
    "region": ENV_REGION,
}
assert set(ENV_BY_NAME.values()) <= set(_ENV_BY_FIELD.values())


def endpoint_url(service: str, env: Mapping[str, str] | None = None) -> str | None:
    """The endpoint boto3 would use for ``service`` (None = AWS's own), for non-boto3 clients."""
    env = os.environ if env is None else env
    specific = env.get(f"AWS_ENDPOINT_URL_{service.upper().replace('-', '_')}")
    return specific or env.get("AWS_ENDPOINT_URL") or None
