"""Rules on an event's bytes and time that the typed models cannot see; the API and the consumer
both apply them, so whatever the consumer would dead-letter the API rejects first.

* **UTF-8 anywhere.** msgspec checks the strings of known fields only and skips unknown
  ones; the raw event is stored as the ``payload`` string, so every byte must be UTF-8.
* **Keys in disguise.** A key written with JSON escapes or look-alike characters that
  normalises (JSON unescaping, then Unicode NFKC) to a field of the contract
  (``"r\\u0065ceived_at"``, ``"ｌｅｖｅｌ"``) is rejected: it would land in ``payload`` as a
  second copy of a server field, or be read as the field by one parser and not another.
* **Unknown fields are bounded**: their total size (key + raw value bytes) per event is
  capped (``Limits.max_unknown_bytes``, 8 KiB by default).
* **Event-time window.** ``event_ts`` older than ``max_age_days`` (45: 30-day retention
  analyses with margin) or more than ``max_future_hours`` (24) after the time the event
  was received is rejected; an application allowed to backfill may send older events.

Each check is a cheap byte scan on the common path (ASCII, no backslash, small event) and
only parses further when the scan says it must. Reasons are worded without request-specific
values other than the event's own, so the API and the consumer give the same text.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta

import msgspec

from chalicelib.contract.models import EVENT_CLASSES, EventBase

# Every field name of the contract (any type), the tag and the server fields included.
PROTECTED_KEYS: frozenset[str] = frozenset(
    {"event_type"}.union(*(cls.__struct_fields__ for cls in EVENT_CLASSES.values()))
)
_KNOWN: dict[type, frozenset[str]] = {
    cls: frozenset({"event_type", *cls.__struct_fields__}) for cls in EVENT_CLASSES.values()
}
# A JSON string token, and whether a colon follows (then it is a key). Valid JSON has no
# quote outside strings, so scanning tokens from the start stays in step with the text.
_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"(\s*:)?', re.DOTALL)
_members = msgspec.json.Decoder(dict[str, msgspec.Raw])
_text = msgspec.json.Decoder(str)


@dataclass(frozen=True)
class Limits:
    """The configurable bounds (``chalicelib.settings``: GAMEPIPE_MAX_UNKNOWN_BYTES, ...)."""

    max_unknown_bytes: int = 8192
    max_age_days: float = 45.0
    max_future_hours: float = 24.0

    @property
    def max_age(self) -> timedelta:
        """How far before its receive time an event may be dated (without backfill)."""
        return timedelta(days=self.max_age_days)

    @property
    def max_future(self) -> timedelta:
        """How far after its receive time an event may be dated (device clock skew)."""
        return timedelta(hours=self.max_future_hours)


DEFAULT_LIMITS = Limits()


def utf8_problem(raw: bytes) -> str | None:
    """Why ``raw`` is not UTF-8, or None (one ASCII scan on the common path)."""
    if raw.isascii():
        return None
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return f"not valid UTF-8: {exc.reason} at byte {exc.start}"
    return None


def raw_problem(raw: bytes, event: EventBase, limits: Limits = DEFAULT_LIMITS) -> str | None:
    """Why the (UTF-8, typed-valid) bytes of ``event`` break the contract, or None."""
    if b"\\" in raw or not raw.isascii():
        reason = disguised_key(raw)
        if reason is not None:
            return reason
    if len(raw) > limits.max_unknown_bytes:  # smaller events cannot exceed the cap
        size = unknown_bytes(raw, type(event))
        if size > limits.max_unknown_bytes:
            return (
                f"unknown fields take {size} bytes; the limit is {limits.max_unknown_bytes} "
                "per event"
            )
    return None


def disguised_key(raw: bytes) -> str | None:
    """The reason when a key (at any depth) spells a contract field in disguise, else None."""
    for match in _STRING.finditer(raw):
        token = match.group(0)[: match.start(1) - match.start(0)] if match.group(1) else None
        if token is None or (b"\\" not in token and token.isascii()):
            continue
        name = unicodedata.normalize("NFKC", _text.decode(token))
        if name in PROTECTED_KEYS:
            shown = token.decode("utf-8", "replace")
            return (
                f"key {shown} spells the field {name!r} with escapes or look-alike "
                "characters; write field names plainly"
            )
    return None


def unknown_bytes(raw: bytes, cls: type) -> int:
    """Bytes taken by the fields ``cls`` does not know (decoded key + raw value)."""
    known = _KNOWN.get(cls, PROTECTED_KEYS)
    return sum(
        len(key.encode()) + len(value)
        for key, value in _members.decode(raw).items()
        if key not in known
    )


@dataclass(frozen=True, slots=True)
class Window:
    """The event-time window around one receive time, its bounds computed once: comparing
    two datetimes is ~100x cheaper than building the bounds per event."""

    earliest: datetime | None  # None: an application allowed to backfill has no lower bound
    latest: datetime
    limits: Limits

    @classmethod
    def around(
        cls, received_at: datetime, limits: Limits = DEFAULT_LIMITS, *, backfill: bool = False
    ) -> Window:
        """The window for events received at ``received_at``."""
        earliest = None if backfill else received_at - limits.max_age
        return cls(earliest, received_at + limits.max_future, limits)

    def problem(self, event_ts: datetime) -> str | None:
        """Why ``event_ts`` is outside the window, or None."""
        if event_ts > self.latest:
            return (
                f"event_ts {event_ts.isoformat()} is more than {_span(self.limits.max_future)} "
                "after the event was received; check the device clock"
            )
        if self.earliest is not None and event_ts < self.earliest:
            return (
                f"event_ts {event_ts.isoformat()} is more than {_span(self.limits.max_age)} "
                "before the event was received; older history is imported by an application "
                "allowed to backfill (README: Backfilling history)"
            )
        return None


def event_problem(
    raw: bytes, event: EventBase, window: Window, limits: Limits = DEFAULT_LIMITS
) -> str | None:
    """Every rule on a typed-valid event's bytes and time (UTF-8 already checked)."""
    # The common case in a few byte scans and two comparisons (this runs per event on both
    # sides): ASCII, no escape, smaller than the unknown-field cap, inside the window.
    if b"\\" in raw or not raw.isascii() or len(raw) > limits.max_unknown_bytes:
        reason = raw_problem(raw, event, limits)
        if reason is not None:
            return reason
    ts = event.event_ts
    if ts > window.latest or (window.earliest is not None and ts < window.earliest):
        return window.problem(ts)
    return None


def window_problem(
    event_ts: datetime,
    received_at: datetime,
    limits: Limits = DEFAULT_LIMITS,
    *,
    backfill: bool = False,
) -> str | None:
    """Why ``event_ts`` is outside the event-time window around ``received_at``, or None."""
    return Window.around(received_at, limits, backfill=backfill).problem(event_ts)


def _span(delta: timedelta) -> str:
    hours = delta.total_seconds() / 3600
    if hours % 24 == 0:
        days = int(hours // 24)
        return f"{days} day{'s' if days != 1 else ''}"
    return f"{hours:g} hours"
