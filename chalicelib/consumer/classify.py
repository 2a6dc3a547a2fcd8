"""Pure routing: which lake tables an event lands in (no I/O)."""

from __future__ import annotations

from chalicelib.contract import EventBase
from chalicelib.contract.models import EVENT_CLASSES, EnemyAttack
from chalicelib.tables import EVENTS, TABLES

# event_type -> the seed tables it always lands in (from chalicelib/tables.py).
_BASE_ROUTES: dict[str, tuple[str, ...]] = {
    etype: tuple(
        t.name
        for t in TABLES.values()
        if etype in t.event_types
        and t.name != EVENTS.name
        # enemy_attack reaches character_stats only when it carries stats (see below).
        and not (etype == "enemy_attack" and t.name == "character_stats")
    )
    for etype in EVENT_CLASSES
}
STATS_TABLE = "character_stats"


def event_type(event: EventBase) -> str:
    """The event's ``event_type`` tag."""
    return event.__struct_config__.tag  # type: ignore[return-value]


def tables_for(event: EventBase) -> tuple[str, ...]:
    """Tables the event lands in: ``events`` plus its seed table(s)."""
    routes = _BASE_ROUTES[event_type(event)]
    if isinstance(event, EnemyAttack) and event.has_stats:
        routes = (*routes, STATS_TABLE)
    return (EVENTS.name, *routes)


def classes_for_table(table: str) -> tuple[type[EventBase], ...]:
    """Event classes whose events (all, or for enemy_attack some) land in ``table``."""
    return tuple(cls for etype, cls in EVENT_CLASSES.items() if etype in TABLES[table].event_types)


def only_with_stats(table: str, cls: type[EventBase]) -> bool:
    """Whether only the events of ``cls`` that carry stats belong in ``table``."""
    return table == STATS_TABLE and cls is EnemyAttack
