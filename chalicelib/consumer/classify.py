"""Pure routing: which lake tables an event lands in (no I/O)."""

from __future__ import annotations

from chalicelib.contract import EventBase
from chalicelib.contract.models import EVENT_CLASSES, EnemyAttack
from chalicelib.tables import EVENTS, TABLES

STATS_TABLE = "character_stats"
# Event class -> the tables it always lands in (from chalicelib/tables.py): events first.
_BASE_ROUTES: dict[type[EventBase], tuple[str, ...]] = {
    cls: (
        EVENTS.name,
        *(
            t.name
            for t in TABLES.values()
            if etype in t.event_types
            and t.name != EVENTS.name
            # enemy_attack reaches character_stats only when it carries stats (see below).
            and not (etype == "enemy_attack" and t.name == STATS_TABLE)
        ),
    )
    for etype, cls in EVENT_CLASSES.items()
}


def tables_for(event: EventBase) -> tuple[str, ...]:
    """Tables the event lands in: ``events`` plus its seed table(s)."""
    routes = _BASE_ROUTES[type(event)]
    if isinstance(event, EnemyAttack) and event.has_stats:
        return (*routes, STATS_TABLE)
    return routes
