"""The event contract: one source of truth for the API, the consumer and the tables."""

from chalicelib.contract.models import (
    EVENT_FAMILIES,
    EVENT_TYPES,
    Event,
    EventBase,
    PlayerStatusEvent,
    PurchaseEvent,
    event_schema,
    event_type_of,
)
from chalicelib.contract.validate import (
    ValidationFailure,
    decode_event,
    validate_event,
)

__all__ = [
    "EVENT_FAMILIES",
    "EVENT_TYPES",
    "Event",
    "EventBase",
    "PlayerStatusEvent",
    "PurchaseEvent",
    "ValidationFailure",
    "decode_event",
    "event_schema",
    "event_type_of",
    "validate_event",
]
