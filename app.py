"""Routing table of the game-analytics pipeline: every handler delegates to chalicelib."""

from __future__ import annotations

import functools
from typing import Any

from chalice import Chalice, Cron, Rate  # noqa: F401  (Rate documented for stages)
from chalice.app import KinesisEvent, Request

from chalicelib import aws, consumer, ingest
from chalicelib.settings import Settings

SETTINGS = Settings.from_env()
app = Chalice(app_name="gamepipe")
app.api.binary_types = []  # JSON only; bodies are read raw and validated by chalicelib


@functools.lru_cache(maxsize=1)
def _kinesis() -> Any:
    return aws.client("kinesis")


def _client_info(request: Request) -> ingest.ClientInfo:
    return ingest.ClientInfo.from_headers(request.headers, request.context)


@app.route("/health", methods=["GET"])
def health() -> dict[str, str]:
    """Liveness probe."""
    return {"status": "ok", "stream": SETTINGS.stream_name}


@app.route("/v1/events", methods=["POST"], content_types=["application/json"])
def post_events() -> Any:
    """Accept a batch ``{"events": [...]}``; reply with accepted ids and rejections."""
    request = app.current_request
    result = ingest.ingest_batch(
        request.raw_body, _client_info(request), SETTINGS, _kinesis()
    )
    return ingest.to_response(result)


@app.route(
    "/v1/events/{event_type}", methods=["POST"], content_types=["application/json"]
)
def post_event(event_type: str) -> Any:
    """Accept one event whose type is in the path and metadata in the body."""
    request = app.current_request
    result = ingest.ingest_single(
        event_type, request.raw_body, _client_info(request), SETTINGS, _kinesis()
    )
    return ingest.to_response(result)


@app.on_kinesis_record(
    stream=SETTINGS.stream_name,
    batch_size=SETTINGS.kinesis_batch_size,
    starting_position=SETTINGS.kinesis_starting_position,
    maximum_batching_window_in_seconds=SETTINGS.kinesis_batch_window,
    name="consume_events",
)
def consume_events(event: KinesisEvent) -> dict[str, Any]:
    """Write a Kinesis batch to the lake; report failed records for partial redelivery."""
    return consumer.handle_kinesis_event(event.to_dict(), SETTINGS)
