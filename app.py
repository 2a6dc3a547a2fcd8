"""Routing table of the game-analytics pipeline: every handler delegates to chalicelib.

Heavy modules (pyarrow, DuckDB) are imported inside the handlers that need them so the
ingest API's cold start stays small.
"""

from __future__ import annotations

import functools
from typing import Any

from chalice import Chalice
from chalice.app import AuthRequest, CloudWatchEvent, KinesisEvent, Request

from chalicelib import aws, ingest, metrics
from chalicelib.applications import HEADER, ApplicationStore
from chalicelib.auth import AUTHORIZER_TTL_SECONDS, Authorizer
from chalicelib.settings import Settings

SETTINGS = Settings.from_env()
app = Chalice(app_name="gamepipe")


@functools.lru_cache(maxsize=1)
def _kinesis() -> Any:
    return aws.client("kinesis")


@functools.lru_cache(maxsize=1)
def _authorizer() -> Authorizer:
    store = ApplicationStore(aws.client("dynamodb"), SETTINGS.applications_table)
    return Authorizer(store, SETTINGS.auth_cache_seconds)


@app.authorizer(ttl_seconds=AUTHORIZER_TTL_SECONDS, header=HEADER)
def api_key_authorizer(auth_request: AuthRequest) -> dict[str, Any]:
    """Which application the request's API key belongs to (Allow), or Deny (403)."""
    return _authorizer().authorize(auth_request.token, auth_request.method_arn)


@app.route("/health", methods=["GET"])
def health() -> dict[str, str]:
    """Liveness probe."""
    return {"status": "ok"}


# The ingest routes: JSON, the application's key checked by the authorizer, and
# api_key_required so API Gateway meters each request against the usage-plan key the
# authorizer returns (per-application throttling on AWS; chalice local ignores it).
INGEST: dict[str, Any] = {
    "methods": ["POST"],
    "content_types": ["application/json"],
    "authorizer": api_key_authorizer,
    "api_key_required": True,
}


@app.route("/v1/events", **INGEST)
def post_events() -> Any:
    """Accept a batch ``{"events": [...]}``; reply with accepted ids and rejections."""
    request = _request()
    info = ingest.ClientInfo.from_request(request.headers, request.context)
    result = ingest.ingest_events(_body(request), info, SETTINGS, _kinesis())
    return _reply(result)


@app.route("/v1/events/{event_type}", **INGEST)
def post_event(event_type: str) -> Any:
    """Accept one event whose type is in the path and metadata in the body."""
    request = _request()
    info = ingest.ClientInfo.from_request(request.headers, request.context)
    result = ingest.ingest_events(_body(request), info, SETTINGS, _kinesis(), event_type=event_type)
    return _reply(result)


@app.on_kinesis_record(
    stream=SETTINGS.stream_name,
    batch_size=SETTINGS.kinesis_batch_size,
    starting_position=SETTINGS.kinesis_starting_position,
    maximum_batching_window_in_seconds=SETTINGS.kinesis_batch_window,
    name="consume_events",
)
def consume_events(event: KinesisEvent) -> dict[str, Any]:
    """Write a Kinesis batch to the lake; report failed records for partial redelivery."""
    from chalicelib import consumer

    return consumer.handle_kinesis_event(event.to_dict(), SETTINGS)


@app.schedule(SETTINGS.report_schedule, name="daily_report")
def daily_report(event: CloudWatchEvent) -> dict[str, Any]:
    """Render the three reports for the event's day into the reports bucket."""
    from chalicelib import reports

    return reports.handle_scheduled(event.to_dict(), SETTINGS)


@app.schedule(SETTINGS.compaction_schedule, name="compact_lake")
def compact_lake(event: CloudWatchEvent) -> dict[str, Any]:
    """Merge each partition of the closed days into one deduplicated Parquet file."""
    from chalicelib import maintenance

    return maintenance.handle_scheduled_compaction(event.to_dict(), SETTINGS, aws.client("s3"))


@app.lambda_function(name="report_now")
def report_now(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """On-demand report: ``{"date": "YYYY-MM-DD"}`` (default today, UTC)."""
    from chalicelib import reports

    return reports.handle_on_demand(event, SETTINGS)


@app.middleware("http")
def count_requests(event: Any, get_response: Any) -> Any:
    """Every reply's status as metrics (an unhandled error arrives here as Chalice's 500)."""
    response = get_response(event)
    metrics.api_status(SETTINGS.stage, response.status_code)
    return response


def _reply(result: ingest.IngestResult) -> Any:
    metrics.api_events(SETTINGS.stage, result.accepted, result.rejected)
    return ingest.to_response(result)


def _request() -> Request:
    request = app.current_request
    assert request is not None  # always set by Chalice while a route runs
    return request


def _body(request: Request) -> bytes:
    raw = request.raw_body
    return raw.encode() if isinstance(raw, str) else bytes(raw or b"")
