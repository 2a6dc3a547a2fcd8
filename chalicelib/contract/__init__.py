"""The event contract: one source of truth for the API, the consumer and the tables."""

from chalicelib.contract.models import (
    EVENT_FAMILIES,
    EVENT_TYPES,
    SERVER_FIELDS,
    STATS,
    Event,
    EventBase,
    PlayerStatusEvent,
    PurchaseEvent,
    event_schema,
    event_type_of,
)
from chalicelib.contract.rules import (
    DEFAULT_LIMITS,
    Limits,
    Window,
    event_problem,
    raw_problem,
    utf8_problem,
    window_problem,
)
from chalicelib.contract.validate import (
    ValidationFailure,
    check_line,
    decode_event,
    validate_event,
)

__all__ = [
    "DEFAULT_LIMITS",
    "EVENT_FAMILIES",
    "EVENT_TYPES",
    "SERVER_FIELDS",
    "STATS",
    "Event",
    "EventBase",
    "Limits",
    "PlayerStatusEvent",
    "PurchaseEvent",
    "ValidationFailure",
    "Window",
    "check_line",
    "decode_event",
    "event_problem",
    "event_schema",
    "event_type_of",
    "raw_problem",
    "utf8_problem",
    "validate_event",
    "window_problem",
]
