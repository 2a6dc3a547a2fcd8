"""One ingest request: read the body, validate each event, write the valid ones, reply.

Two routes, one path: ``POST /v1/events`` sends ``{"events": [...]}``; ``POST
/v1/events/{event_type}`` sends one event's fields (the type from the path). Each is read
into stamped lines and rejections; the rest (grouping into records, PutRecords, the
result) is the same.

Hot path (the batch): the body is decoded once as ``{"events": [Raw, ...]}`` and each raw
event is validated with the contract's typed decoder (~1 µs; converting a dict costs
~6 µs), then written as the client's own bytes with the server fields spliced in
(``chalicelib.ingest.lines``).

Status codes: 200 when at least one event was accepted (rejections and write failures
are listed in the body), 400 when the request or every event was invalid, 404 for an
unknown event type in the path, 413 when the body or the event count is over the limit,
503 when valid events could not be written (the only server-side condition), 403 when the
request carries no application (the authorizer did not run: fail closed).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import msgspec
from chalice import Response

from chalicelib.contract import (
    EVENT_TYPES,
    ValidationFailure,
    Window,
    event_problem,
    utf8_problem,
    validate_event,
)
from chalicelib.contract.models import Event
from chalicelib.ingest.client import ClientInfo
from chalicelib.ingest.lines import Stamp, encoder, line_from_dict, line_from_raw, object_decoder
from chalicelib.kinesis_writer import MAX_RECORD_BYTES, group_records, put_records
from chalicelib.settings import Settings

logger = logging.getLogger(__name__)


class _Envelope(msgspec.Struct):
    events: list[msgspec.Raw]


_envelope_decoder = msgspec.json.Decoder(_Envelope)
_event_decoder = msgspec.json.Decoder(Event)
_NO_APPLICATION = "no application: the request was not authorized (send the API key)"
_TOO_DEEP = "JSON nested too deeply"
_JSON_HEADERS = {"Content-Type": "application/json"}


@dataclass
class IngestResult:
    """Outcome of one request; ``to_response`` turns it into the HTTP reply."""

    status: int
    event_ids: list[str] = field(default_factory=list)  # accepted, in request order
    rejected: list[dict[str, Any]] = field(default_factory=list)  # {"index", "reason"}
    failed: list[dict[str, Any]] = field(default_factory=list)  # {"index","event_id","reason"}
    error: str | None = None  # request-level problem (malformed body, too large...)

    @property
    def accepted(self) -> int:
        """Number of events written to the stream."""
        return len(self.event_ids)

    def body(self) -> dict[str, Any]:
        """The JSON reply body."""
        out: dict[str, Any] = {
            "accepted": self.accepted,
            "event_ids": self.event_ids,
            "rejected": self.rejected,
            "failed": self.failed,
        }
        if self.error is not None:
            out["error"] = self.error
        return out


@dataclass
class _Line:
    index: int  # position in the request
    userid: str
    event_id: str
    data: bytes


# What reading a request gives: the lines to write and the rejected events, or the reply.
_Read = tuple[list[_Line], list[dict[str, Any]]] | IngestResult


def ingest_events(
    body: bytes,
    info: ClientInfo,
    settings: Settings,
    kinesis_client: Any,
    *,
    event_type: str | None = None,
    now: datetime | None = None,
) -> IngestResult:
    """Handle ``POST /v1/events`` (a batch) or, given the path's ``event_type``, ``POST
    /v1/events/{event_type}`` (one event): validate, write the valid events to Kinesis."""
    stamp = Stamp.build(info, now)
    if event_type is None:
        read = _read_batch(body, info, settings, stamp)
    else:
        read = _read_single(event_type, body, info, settings, stamp)
    if isinstance(read, IngestResult):
        return read
    return _write(*read, settings, kinesis_client)


def _read_batch(body: bytes, info: ClientInfo, settings: Settings, stamp: Stamp) -> _Read:
    """``{"events": [...]}``: each event validated and stamped, or rejected with its reason."""
    envelope, problem = _decode_body(
        _envelope_decoder, body, settings, 'body must be an object with an "events" list'
    )
    if problem is not None:
        return problem
    raws = envelope.events
    if len(raws) > settings.max_events_per_request:
        return IngestResult(
            413,
            error=f"{len(raws)} events; the limit is {settings.max_events_per_request} per request",
        )
    if not raws:
        return IngestResult(400, error="events list is empty")

    if not info.application_id:
        return IngestResult(403, error=_NO_APPLICATION)

    limits = settings.limits
    window = Window.around(stamp.now, limits, backfill=info.backfill)
    lines: list[_Line] = []
    rejected: list[dict[str, Any]] = []
    decode = _event_decoder.decode
    for i, raw_obj in enumerate(raws):
        raw = bytes(raw_obj)
        try:
            # UTF-8 first: the envelope's Raw scan lets invalid bytes through, msgspec
            # checks known strings only, and the consumer gives this same reason.
            reason = None if raw.isascii() else utf8_problem(raw)
            if reason is None:
                event = decode(raw)
                reason = event_problem(raw, event, window, limits)
            if reason is not None:
                rejected.append({"index": i, "reason": reason})
                continue
            data, event_id = line_from_raw(raw, event, stamp)
        except ValueError as exc:  # msgspec.ValidationError is a ValueError
            rejected.append({"index": i, "reason": str(exc)})
            continue
        except RecursionError:
            rejected.append({"index": i, "reason": _TOO_DEEP})
            continue
        lines.append(_Line(i, event.userid, event_id, data))
    return lines, rejected


def _read_single(
    event_type: str, body: bytes, info: ClientInfo, settings: Settings, stamp: Stamp
) -> _Read:
    """One event's fields: ``event_type`` from the path (a body value must agree);
    ``event_ts`` defaults to the server time; ``userid`` must be in the body."""
    if event_type not in EVENT_TYPES:
        return IngestResult(
            404, error=f"unknown event type {event_type!r}; known: {', '.join(EVENT_TYPES)}"
        )
    if not info.application_id:
        return IngestResult(403, error=_NO_APPLICATION)
    reason = utf8_problem(body or b"")
    if reason is not None:
        return _one_rejected(reason)
    obj, problem = _decode_body(object_decoder, body, settings, "body must be a JSON object")
    if problem is not None:
        return problem
    if obj.get("event_type", event_type) != event_type:
        return IngestResult(
            400,
            error=f"event_type {obj['event_type']!r} in the body does not match the path "
            f"{event_type!r}",
        )
    obj["event_type"] = event_type
    obj.setdefault("event_ts", stamp.received_at)
    try:
        event = validate_event(obj)
    except ValidationFailure as exc:
        return _one_rejected(str(exc))
    window = Window.around(stamp.now, settings.limits, backfill=info.backfill)
    reason = event_problem(body, event, window, settings.limits)
    if reason is not None:
        return _one_rejected(reason)
    data, event_id = line_from_dict(obj, stamp)
    return [_Line(0, event.userid, event_id, data)], []


def _one_rejected(reason: str) -> IngestResult:
    return IngestResult(400, rejected=[{"index": 0, "reason": reason}], error="event rejected")


def _decode_body(
    decoder: msgspec.json.Decoder[Any], body: bytes, settings: Settings, shape: str
) -> tuple[Any, IngestResult | None]:
    """Decode a request body, or say why not: 413 too large, 400 malformed or wrong shape."""
    body = body or b""
    if len(body) > settings.max_body_bytes:
        return None, IngestResult(
            413, error=f"body is {len(body)} bytes; the limit is {settings.max_body_bytes}"
        )
    try:
        return decoder.decode(body), None
    except msgspec.ValidationError as exc:
        return None, IngestResult(400, error=f"{shape}: {exc}")
    except msgspec.DecodeError as exc:
        return None, IngestResult(400, error=f"malformed JSON: {exc}")
    except RecursionError:
        return None, IngestResult(400, error=_TOO_DEEP)


def _write(
    lines: list[_Line], rejected: list[dict[str, Any]], settings: Settings, kinesis_client: Any
) -> IngestResult:
    """Group lines into records, put them, and shape the result."""
    # A line too big for a record on its own is the client's doing (an event near the
    # body limit plus the server fields): reject it rather than fail the PutRecords call.
    fitting = []
    for line in lines:
        if len(line.data) + len(line.userid.encode()) > MAX_RECORD_BYTES:
            reason = (
                f"event is {len(line.data)} bytes once stamped; a record holds {MAX_RECORD_BYTES}"
            )
            rejected.append({"index": line.index, "reason": reason})
        else:
            fitting.append(line)
    if len(fitting) < len(lines):
        rejected.sort(key=lambda r: r["index"])
        lines = fitting
    if not lines:
        return IngestResult(400, rejected=rejected, error="no valid events")
    records, members = group_records([(line.userid, line.data) for line in lines])
    summary = put_records(
        kinesis_client, settings.stream_name, records, max_attempts=settings.put_max_attempts
    )
    failed_lines: set[int] = set()
    failed: list[dict[str, Any]] = []
    for r in summary.failed_indexes:
        reason = summary.errors.get(r, "write failed")
        for j in members[r]:
            failed_lines.add(j)
            failed.append(
                {"index": lines[j].index, "event_id": lines[j].event_id, "reason": reason}
            )
    failed.sort(key=lambda f: f["index"])
    event_ids = [line.event_id for j, line in enumerate(lines) if j not in failed_lines]
    if event_ids:
        status, error = 200, None
    else:
        status, error = 503, "events could not be written to the stream; retry later"
    logger.info(
        "ingest accepted=%d rejected=%d failed=%d records=%d attempts=%d",
        len(event_ids),
        len(rejected),
        len(failed),
        len(records),
        summary.attempts,
    )
    return IngestResult(status, event_ids, rejected, failed, error)


def to_response(result: IngestResult) -> Response:
    """The Chalice response for an ingest result (JSON body; Retry-After on 503)."""
    headers: dict[str, str | list[str]] = dict(_JSON_HEADERS)
    if result.status == 503:
        headers["Retry-After"] = "1"
    return Response(
        body=encoder.encode(result.body()).decode(), headers=headers, status_code=result.status
    )
