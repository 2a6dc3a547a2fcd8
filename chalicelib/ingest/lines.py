"""An accepted event as the line the stream carries: the client's bytes, server fields spliced.

The output line is the client's own bytes with the server fields spliced in before the
closing brace, so unknown extra fields are kept byte for byte; only events that already
carry server-owned keys are re-encoded from a dict. Every line gets an ``event_id`` (a
random UUID when the client sent none).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import msgspec

from chalicelib.contract import SERVER_FIELDS
from chalicelib.ingest.client import HOST_MAX, USER_AGENT_MAX, ClientInfo
from chalicelib.kinesis_writer import group_records

PARTITION_KEY_MAX = 256  # Kinesis limit (unicode characters)
FALLBACK_PARTITION_KEY = "unknown"

object_decoder = msgspec.json.Decoder(dict[str, Any])
encoder = msgspec.json.Encoder()
# Server-owned fields (the contract's SERVER_FIELDS) are set by the API, overriding whatever
# the client sent. If a raw event mentions one of these keys it is re-encoded from a dict
# rather than spliced, so the line never carries a key twice.
_SERVER_KEY_BYTES = tuple(f'"{k}"'.encode() for k in SERVER_FIELDS)
_EVENT_ID_KEY = b'"event_id"'
_VARIANT = {c: "89ab"[int(c, 16) & 3] for c in "0123456789abcdef"}


@dataclass(frozen=True)
class Stamp:
    """The server fields of one request, encoded once and spliced into every line."""

    now: datetime  # the receive time, compared with each event_ts
    fields: dict[str, Any]  # received_at, host, user_agent [, application_id] [, backfill]
    fragment: bytes  # b',"received_at":"…","host":"…","user_agent":"…",…'

    @classmethod
    def build(cls, info: ClientInfo, now: datetime | None) -> Stamp:
        """The stamp of a request from ``info`` received at ``now`` (default: the clock)."""
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
            b',"' + k.encode() + b'":' + encoder.encode(v) for k, v in fields.items()
        )
        return cls(now, fields, fragment)

    @property
    def received_at(self) -> str:
        """The receive time as written into each line."""
        return str(self.fields["received_at"])

    def apply(self, obj: dict[str, Any]) -> None:
        """Set the server fields on an event dict (a client's value never survives)."""
        for name in SERVER_FIELDS:
            obj.pop(name, None)
        obj.update(self.fields)


def _iso(ts: datetime) -> str:
    """ISO 8601 UTC with microseconds and a Z suffix."""
    return ts.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def new_event_id() -> str:
    """A random (version 4) UUID string; ~4x cheaper than ``str(uuid.uuid4())``."""
    h = os.urandom(16).hex()
    # Version nibble 4 and variant bits 10xx, as uuid.uuid4() sets them.
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{_VARIANT[h[16]]}{h[17:20]}-{h[20:]}"


def line_from_raw(raw: bytes, event: Any, stamp: Stamp) -> tuple[bytes, str]:
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
            event_id = new_event_id()
            extra = b',"event_id":"' + event_id.encode() + b'"' + stamp.fragment
        else:  # "event_id": null — rewrite rather than add a second key
            return line_from_dict(object_decoder.decode(raw), stamp)
        # Newlines can only be whitespace between tokens in valid JSON (inside strings
        # they are escaped), so replacing them keeps the object intact and NDJSON-safe.
        if b"\n" in raw:
            raw = raw.replace(b"\n", b" ")
        return raw[:-1] + extra + b"}", event_id
    return line_from_dict(object_decoder.decode(raw), stamp)


def line_from_dict(obj: dict[str, Any], stamp: Stamp) -> tuple[bytes, str]:
    """Encode an event dict with server fields set (and an event_id if absent)."""
    event_id = obj.get("event_id")
    if not isinstance(event_id, str) or not event_id:
        event_id = new_event_id()
        obj["event_id"] = event_id
    stamp.apply(obj)
    return encoder.encode(obj), event_id


def partition_key(userid: Any) -> str:
    """Kinesis partition key for an event's userid (a placeholder for invalid ones)."""
    if isinstance(userid, str) and userid:
        return userid[:PARTITION_KEY_MAX]
    return FALLBACK_PARTITION_KEY


def encode_records(
    events: Iterable[Any], info: ClientInfo, now: datetime | None = None
) -> list[tuple[str, bytes]]:
    """Encode events exactly as the API writes them: NDJSON records keyed by userid.

    No validation: callers that want it validate first (the generator's direct-to-stream
    mode deliberately sends invalid events so the consumer's dead-letter path runs). A
    value that is not an object is written as is, under a placeholder partition key.
    """
    stamp = Stamp.build(info, now)
    lines = []
    for ev in events:
        if isinstance(ev, Mapping):
            data, _ = line_from_dict(dict(ev), stamp)
            lines.append((partition_key(ev.get("userid")), data))
        else:
            lines.append((FALLBACK_PARTITION_KEY, encoder.encode(ev)))
    records, _ = group_records(lines)
    return records
