"""Validating one event against the contract, with a reason a client can act on."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec

from chalicelib.contract import rules
from chalicelib.contract.models import Event, EventBase

_decoder = msgspec.json.Decoder(Event)


class ValidationFailure(ValueError):
    """An event that breaks the contract; ``str(exc)`` is the reason."""


def validate_event(obj: Any) -> EventBase:
    """Validate a decoded JSON object; return the typed event or raise ValidationFailure."""
    if not isinstance(obj, dict):
        raise ValidationFailure(f"event must be a JSON object, got {type(obj).__name__}")
    try:
        return msgspec.convert(obj, Event)  # type: ignore[arg-type]
    except (msgspec.ValidationError, ValueError) as exc:
        raise ValidationFailure(str(exc)) from None


def decode_event(data: bytes) -> EventBase:
    """Decode and validate one JSON-encoded event; raise ValidationFailure on bad input."""
    try:
        return _decoder.decode(data)  # type: ignore[no-any-return]
    except msgspec.ValidationError as exc:
        raise ValidationFailure(str(exc)) from None
    except msgspec.DecodeError as exc:
        raise ValidationFailure(f"malformed JSON: {exc}") from None


def check_line(
    line: bytes, arrival: datetime | None, limits: rules.Limits = rules.DEFAULT_LIMITS
) -> EventBase:
    """The contract's whole verdict on one stream line: the typed event or ValidationFailure.

    The line's own server fields are trusted (only the API and trusted tools write the
    stream): the window is measured from its ``received_at``, else ``arrival`` (the
    stream's receive time; without either only the byte rules apply), and ``backfill``
    lifts its lower bound. The API applies the same rules with its own clock and the
    key's application (``chalicelib.ingest.handler``).
    """
    reason = rules.utf8_problem(line)
    if reason is not None:
        raise ValidationFailure(reason)
    event = decode_event(line)
    received = event.received_at or arrival
    if received is None:
        reason = rules.raw_problem(line, event, limits)
    else:
        window = rules.Window.around(received, limits, backfill=bool(event.backfill))
        reason = rules.event_problem(line, event, window, limits)
    if reason is not None:
        raise ValidationFailure(reason)
    return event
