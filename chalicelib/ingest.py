"""The ingest API's logic: validate client events, stamp server fields, write to Kinesis.

Hot path (``ingest_batch``): the body is decoded once as ``{"events": [Raw, ...]}`` and
each raw event is validated with the contract's typed decoder (~1 µs; converting a dict
costs ~6 µs). The output line is the client's own bytes with the server fields spliced in
before the closing brace, so unknown extra fields are kept byte for byte; only events
that already carry server-owned keys are re-encoded from a dict.

Status codes: 200 when at least one event was accepted (rejections and write failures
are listed in the body), 400 when the request or every event was invalid, 404 for an
unknown event type in the path, 413 when the body or the event count is over the limit,
503 when valid events could not be written (the only server-side condition), 403 when the
request carries no application (the authorizer did not run: fail closed).

Every accepted event is stamped with the application of the request's API key
(``application_id``, from the authorizer's context; a client's own value is overwritten)
and, for an application allowed to backfill, ``backfill: true``. Beyond the typed models,
each event passes the contract's byte and time rules (``chalicelib.contract.rules``): the
same function the consumer applies, so what the API accepts the consumer keeps.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import msgspec
from chalice import Response

from chalicelib.contract import (
    EVENT_TYPES,
    SERVER_FIELDS,
    ValidationFailure,
    Window,
    event_problem,
    utf8_problem,
    validate_event,
)
from chalicelib.contract.models import Event
from chalicelib.kinesis_writer import MAX_RECORD_BYTES, put_records
from chalicelib.settings import Settings

logger = logging.getLogger(__name__)

HOST_MAX = 256  # the contract's max lengths, so the consumer accepts what we write
USER_AGENT_MAX = 512
PARTITION_KEY_MAX = 256  # Kinesis limit (unicode characters)
_FALLBACK_PARTITION_KEY = "unknown"


class _Envelope(msgspec.Struct):
    events: list[msgspec.Raw]


_envelope_decoder = msgspec.json.Decoder(_Envelope)
_event_decoder = msgspec.json.Decoder(Event)
_object_decoder = msgspec.json.Decoder(dict[str, Any])
_encoder = msgspec.json.Encoder()
# Server-owned fields (the contract's SERVER_FIELDS) are set by the API, overriding whatever
# the client sent. If a raw event mentions one of these keys it is re-encoded from a dict
# rather than spliced, so the line never carries a key twice.
_SERVER_KEY_BYTES = tuple(f'"{k}"'.encode() for k in SERVER_FIELDS)
_NO_APPLICATION = "no application: the request was not authorized (send the API key)"
_EVENT_ID_KEY = b'"event_id"'
_TOO_DEEP = "JSON nested too deeply"


@dataclass(frozen=True)
class ClientInfo:
    """Who sent the request: the seed kept Host and User-Agent with each event."""

    host: str = ""
    user_agent: str = ""
    source_ip: str = ""
    application_id: str = ""  # from the authorizer; empty = not authorized
    backfill: bool = False  # the application may send events older than the window

    @classmethod
    def from_request(
        cls, headers: Mapping[str, str] | None, context: Mapping[str, Any] | None
    ) -> ClientInfo:
        """Build from a Chalice request's headers and API Gateway request context."""
        lowered = {k.lower(): v for k, v in (headers or {}).items()}
        identity = (context or {}).get("identity") or {}
        # The authorizer's context: values are strings on API Gateway ("true"/"false").
        authorizer = (context or {}).get("authorizer") or {}
        return cls(
            host=str(lowered.get("host", ""))[:HOST_MAX],
            user_agent=str(lowered.get("user-agent", ""))[:USER_AGENT_MAX],
            source_ip=str(identity.get("sourceIp", "") or ""),
            application_id=str(authorizer.get("application_id", "") or ""),
            backfill=str(authorizer.get("backfill", "")).lower() == "true",
        )


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


@dataclass(frozen=True)
class _Stamp:
    """The server fields of one request, encoded once and spliced into every line."""

    now: datetime  # the receive time, compared with each event_ts
    fields: dict[str, Any]  # received_at, host, user_agent [, application_id] [, backfill]
    fragment: bytes  # b',"received_at":"…","host":"…","user_agent":"…",…'

    @classmethod
    def build(cls, info: ClientInfo, now: datetime | None) -> _Stamp:
        now = now or datetime.now(UTC)
        fields: dict[str, Any] = {
            "received_at": _iso(now),
            "host": info.host[:HOST_MAX],
            "user_agent": info.user_agent[:USER_AGENT_MAX],
        }
        # Lines written straight to the stream by a trusted tool may have no application.
        if info.application_id:
            fields["application_id"] = info.application_id
        if info.backfill:
            fields["backfill"] = True
        fragment = b"".join(
            b',"' + k.encode() + b'":' + _encoder.encode(v) for k, v in fields.items()
        )
        return cls(now, fields, fragment)

    @property
    def received_at(self) -> str:
        return str(self.fields["received_at"])

    def apply(self, obj: dict[str, Any]) -> None:
        for name in SERVER_FIELDS:  # a client's value never survives
            obj.pop(name, None)
        obj.update(self.fields)


@dataclass
class _Line:
    index: int  # position in the request
    userid: str
    event_id: str
    data: bytes


def _iso(ts: datetime) -> str:
    """ISO 8601 UTC with microseconds and a Z suffix."""
    return ts.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _new_event_id() -> str:
    """A random (version 4) UUID string; ~4x cheaper than ``str(uuid.uuid4())``."""
    h = os.urandom(16).hex()
    # Version nibble 4 and variant bits 10xx, as uuid.uuid4() sets them.
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{_VARIANT[h[16]]}{h[17:20]}-{h[20:]}"


_VARIANT = {c: "89ab"[int(c, 16) & 3] for c in "0123456789abcdef"}


def _line_from_raw(raw: bytes, event: Any, stamp: _Stamp) -> tuple[bytes, str]:
    """Splice server fields (and an event_id if absent) into a validated raw object."""
    # Spelled out rather than any(...): this runs per event and a generator costs ~1 µs.
    k1, k2, k3, k4, k5 = _SERVER_KEY_BYTES
    if (
        raw[-1:] == b"}"
        and k1 not in raw
        and k2 not in raw
        and k3 not in raw
        and k4 not in raw
        and k5 not in raw
    ):
        event_id = event.event_id
        if event_id is not None:
            extra = stamp.fragment
        elif _EVENT_ID_KEY not in raw:
            event_id = _new_event_id()
            extra = b',"event_id":"' + event_id.encode() + b'"' + stamp.fragment
        else:  # "event_id": null — rewrite rather than add a second key
            return _line_from_dict(_object_decoder.decode(raw), stamp)
        # Newlines can only be whitespace between tokens in valid JSON (inside strings
        # they are escaped), so replacing them keeps the object intact and NDJSON-safe.
        if b"\n" in raw:
            raw = raw.replace(b"\n", b" ")
        return raw[:-1] + extra + b"}", event_id
    return _line_from_dict(_object_decoder.decode(raw), stamp)


def _line_from_dict(obj: dict[str, Any], stamp: _Stamp) -> tuple[bytes, str]:
    """Encode an event dict with server fields set (and an event_id if absent)."""
    event_id = obj.get("event_id")
    if not isinstance(event_id, str) or not event_id:
        event_id = _new_event_id()
        obj["event_id"] = event_id
    stamp.apply(obj)
    return _encoder.encode(obj), event_id


def _partition_key(userid: Any) -> str:
    """Kinesis partition key for an event's userid (a placeholder for invalid ones)."""
    if isinstance(userid, str) and userid:
        return userid[:PARTITION_KEY_MAX]
    return _FALLBACK_PARTITION_KEY


def group_records(
    lines: Sequence[tuple[str, bytes]],
) -> tuple[list[tuple[str, bytes]], list[list[int]]]:
    """Join ``(partition_key, line)`` pairs into NDJSON records, one per key, each ≤ 1 MiB.

    Returns the records and, for each, the indexes of the lines it holds. A line that
    alone exceeds the record limit gets a record of its own (PutRecords will refuse it).
    """
    by_key: dict[str, list[int]] = {}
    for i, (key, _) in enumerate(lines):
        by_key.setdefault(key, []).append(i)
    records: list[tuple[str, bytes]] = []
    members: list[list[int]] = []
    for key, idxs in by_key.items():
        limit = MAX_RECORD_BYTES - len(key.encode())
        chunk: list[int] = []
        size = 0
        for i in idxs:
            n = len(lines[i][1])
            if chunk and size + 1 + n > limit:
                records.append((key, b"\n".join(lines[j][1] for j in chunk)))
                members.append(chunk)
                chunk, size = [], 0
            size += n + (1 if chunk else 0)
            chunk.append(i)
        records.append((key, b"\n".join(lines[j][1] for j in chunk)))
        members.append(chunk)
    return records, members


def encode_records(
    events: Iterable[Any], info: ClientInfo, now: datetime | None = None
) -> list[tuple[str, bytes]]:
    """Encode events exactly as the API writes them: NDJSON records keyed by userid.

    No validation: callers that want it validate first (the generator's direct-to-stream
    mode deliberately sends invalid events so the consumer's dead-letter path runs). A
    value that is not an object is written as is, under a placeholder partition key.
    """
    stamp = _Stamp.build(info, now)
    lines = []
    for ev in events:
        if isinstance(ev, Mapping):
            data, _ = _line_from_dict(dict(ev), stamp)
            lines.append((_partition_key(ev.get("userid")), data))
        else:
            lines.append((_FALLBACK_PARTITION_KEY, _encoder.encode(ev)))
    records, _ = group_records(lines)
    return records


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


def ingest_batch(
    body: bytes,
    info: ClientInfo,
    settings: Settings,
    kinesis_client: Any,
    *,
    now: datetime | None = None,
) -> IngestResult:
    """Handle ``POST /v1/events``: validate each event, write the valid ones to Kinesis."""
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

    stamp = _Stamp.build(info, now)
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
            data, event_id = _line_from_raw(raw, event, stamp)
        except ValueError as exc:  # msgspec.ValidationError is a ValueError
            rejected.append({"index": i, "reason": str(exc)})
            continue
        except RecursionError:
            rejected.append({"index": i, "reason": _TOO_DEEP})
            continue
        lines.append(_Line(i, event.userid, event_id, data))
    return _write(lines, rejected, settings, kinesis_client)


def ingest_single(
    event_type: str,
    body: bytes,
    info: ClientInfo,
    settings: Settings,
    kinesis_client: Any,
    *,
    now: datetime | None = None,
) -> IngestResult:
    """Handle ``POST /v1/events/{event_type}``: the body is one event's fields.

    ``event_type`` comes from the path (a body value must agree); ``event_ts`` defaults
    to the server time; ``userid`` must be in the body.
    """
    if event_type not in EVENT_TYPES:
        return IngestResult(
            404, error=f"unknown event type {event_type!r}; known: {', '.join(EVENT_TYPES)}"
        )
    if not info.application_id:
        return IngestResult(403, error=_NO_APPLICATION)
    reason = utf8_problem(body or b"")
    if reason is not None:
        return IngestResult(400, rejected=[{"index": 0, "reason": reason}], error="event rejected")
    obj, problem = _decode_body(_object_decoder, body, settings, "body must be a JSON object")
    if problem is not None:
        return problem
    if obj.get("event_type", event_type) != event_type:
        return IngestResult(
            400,
            error=f"event_type {obj['event_type']!r} in the body does not match the path "
            f"{event_type!r}",
        )
    stamp = _Stamp.build(info, now)
    obj["event_type"] = event_type
    obj.setdefault("event_ts", stamp.received_at)
    try:
        event = validate_event(obj)
    except ValidationFailure as exc:
        return IngestResult(
            400, rejected=[{"index": 0, "reason": str(exc)}], error="event rejected"
        )
    window = Window.around(stamp.now, settings.limits, backfill=info.backfill)
    reason = event_problem(body, event, window, settings.limits)
    if reason is not None:
        return IngestResult(400, rejected=[{"index": 0, "reason": reason}], error="event rejected")
    data, event_id = _line_from_dict(obj, stamp)
    return _write([_Line(0, event.userid, event_id, data)], [], settings, kinesis_client)


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


_JSON_HEADERS = {"Content-Type": "application/json"}


def to_response(result: IngestResult) -> Response:
    """The Chalice response for an ingest result (JSON body; Retry-After on 503)."""
    headers: dict[str, str | list[str]] = dict(_JSON_HEADERS)
    if result.status == 503:
        headers["Retry-After"] = "1"
    return Response(
        body=_encoder.encode(result.body()).decode(), headers=headers, status_code=result.status
    )
