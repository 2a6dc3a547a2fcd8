"""Validating one event against the contract, with a reason a client can act on."""

from __future__ import annotations

from typing import Any

import msgspec

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
