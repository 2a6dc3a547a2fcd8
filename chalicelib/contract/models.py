"""Typed models of the nine game events (msgspec Structs, tagged by ``event_type``).

The JSON Schema 2020-12 file ``event_schema.json`` next to this module is generated
from these models (``gamepipe schema``) and a unit test keeps it current.  msgspec was
chosen over a hand-written schema + jsonschema because it validates in C at ~1 µs per
event, which the ingest (≤ 10 µs/event) and consumer (≥ 100k events/s) targets need.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec

# Plain player ids; quotes or spaces (the seed stored "'user-0012'") are rejected.
UserId = Annotated[
    str,
    msgspec.Meta(
        min_length=1,
        max_length=128,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:@-]*\Z",
        description="Player id, a plain string: letters, digits and _ . : @ -",
    ),
]
EventId = Annotated[
    str,
    msgspec.Meta(
        pattern=r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\Z",
        description="UUID of the event; the API assigns one if absent",
    ),
]
UtcTimestamp = Annotated[
    datetime,
    msgspec.Meta(tz=True, description="ISO 8601 / RFC 3339 time with a UTC offset (Z)"),
]
Text = Annotated[str, msgspec.Meta(max_length=1024)]
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=128)]
Count = Annotated[int, msgspec.Meta(ge=1, le=1_000_000)]
Gold = Annotated[int, msgspec.Meta(ge=0, le=1_000_000_000)]
Level = Annotated[int, msgspec.Meta(ge=1, le=10_000)]
Stat = Annotated[int, msgspec.Meta(ge=0, le=1_000_000_000)]
ApplicationId = Annotated[
    str,
    msgspec.Meta(
        min_length=1,
        max_length=64,
        description="The application (game) whose API key sent the event; set by the API",
    ),
]

# Fields the ingest API sets on every event it accepts, never taken from the client: a
# client's value is overwritten (or, for backfill, removed).
SERVER_FIELDS = ("received_at", "host", "user_agent", "application_id", "backfill")


class EventBase(msgspec.Struct, kw_only=True, tag_field="event_type", omit_defaults=True):
    """Envelope shared by every event; unknown extra fields are ignored here and kept raw."""

    userid: UserId
    event_ts: UtcTimestamp
    event_id: EventId | None = None
    app_version: Annotated[str, msgspec.Meta(max_length=64)] | None = None
    # Added by issue 15 (optional, so every older event stays valid): the client's session
    # (sessions per day) and platform. Before, clients could send them as unknown fields,
    # kept only in the raw payload; now they are checked, and columns of `events`.
    session_id: Annotated[str, msgspec.Meta(min_length=1, max_length=128)] | None = None
    platform: Annotated[str, msgspec.Meta(min_length=1, max_length=32)] | None = None
    # Set by the ingest API, never trusted from the client (the API overwrites them).
    received_at: UtcTimestamp | None = None
    host: Annotated[str, msgspec.Meta(max_length=256)] | None = None
    user_agent: Annotated[str, msgspec.Meta(max_length=512)] | None = None
    application_id: ApplicationId | None = None
    # True when the application may send events older than the event-time window.
    backfill: bool | None = None


class PurchaseEvent(EventBase, kw_only=True):
    """Buying an item in the shop."""

    description: Text = ""
    amount_purchased: Count
    price: Gold


class PurchaseSword(PurchaseEvent, tag="purchase_sword"):
    """Buy a sword."""

    item_type: Literal["sword"] = "sword"


class PurchaseShield(PurchaseEvent, tag="purchase_shield"):
    """Buy a shield."""

    item_type: Literal["shield"] = "shield"


class PurchasePotion(PurchaseEvent, tag="purchase_potion"):
    """Buy a potion."""

    item_type: Literal["potion"] = "potion"


class GameplayEvent(EventBase, kw_only=True):
    """Something that happened to the player in the game."""

    description: Text = ""


class JoinGuild(GameplayEvent, tag="join_guild"):
    """Join (or switch to) a guild."""

    guild_name: Name


class FindTreasure(GameplayEvent, tag="find_treasure"):
    """Find a treasure."""


class DefeatEnemy(GameplayEvent, tag="defeat_enemy"):
    """Defeat an enemy."""


# The player's stats a status event carries (and an enemy_attack may), in this order.
STATS = ("level", "attack", "defense", "health")


class PlayerStatusEvent(EventBase, kw_only=True):
    """An event carrying the player's stats after it happened."""

    description: Text = ""
    level: Level
    attack: Stat
    defense: Stat
    health: Stat


class EnemyAttack(EventBase, tag="enemy_attack", kw_only=True):
    """Attacked by an enemy; stats are optional (all four or none) and, when present,
    the event also lands in character_stats (see docs/design.md)."""

    description: Text = ""
    level: Level | None = None
    attack: Stat | None = None
    defense: Stat | None = None
    health: Stat | None = None

    def __post_init__(self) -> None:
        # Arithmetic on booleans: ~0.1 µs cheaper per event than any()/all() on a tuple.
        missing = (
            (self.level is None)
            + (self.attack is None)
            + (self.defense is None)
            + (self.health is None)
        )
        if missing not in (0, 4):
            raise ValueError(
                "enemy_attack stats must be all of level, attack, defense, health or none"
            )

    @property
    def has_stats(self) -> bool:
        """Whether the attack carries the player's stats."""
        return self.level is not None


class TakePotion(PlayerStatusEvent, tag="take_potion"):
    """Drink a potion."""


class LevelUp(PlayerStatusEvent, tag="level_up"):
    """Reach a new level."""


Event = (
    PurchaseSword
    | PurchaseShield
    | PurchasePotion
    | JoinGuild
    | FindTreasure
    | EnemyAttack
    | DefeatEnemy
    | TakePotion
    | LevelUp
)

EVENT_CLASSES: dict[str, type[EventBase]] = {
    cls.__struct_config__.tag: cls  # type: ignore[misc]
    for cls in (
        PurchaseSword,
        PurchaseShield,
        PurchasePotion,
        JoinGuild,
        FindTreasure,
        EnemyAttack,
        DefeatEnemy,
        TakePotion,
        LevelUp,
    )
}
EVENT_TYPES: tuple[str, ...] = tuple(EVENT_CLASSES)

# The seed's three families of metadata.
EVENT_FAMILIES: dict[str, str] = {
    "purchase_sword": "purchase",
    "purchase_shield": "purchase",
    "purchase_potion": "purchase",
    "join_guild": "gameplay",
    "find_treasure": "gameplay",
    "defeat_enemy": "gameplay",
    "enemy_attack": "status",
    "take_potion": "status",
    "level_up": "status",
}


def event_type_of(event: EventBase) -> str:
    """The ``event_type`` tag of a decoded event (msgspec keeps it off the instance)."""
    return type(event).__struct_config__.tag  # type: ignore[return-value]


def event_schema() -> dict[str, Any]:
    """The JSON Schema 2020-12 document of one event, generated from the models."""
    _, components = msgspec.json.schema_components([Event], ref_template="#/$defs/{name}")
    # msgspec cannot see __post_init__ rules; "all four stats or none" is expressible.
    components["EnemyAttack"]["dependentRequired"] = {
        s: [o for o in STATS if o != s] for s in STATS
    }
    _ecma_patterns(components)
    union = {"anyOf": [{"$ref": f"#/$defs/{cls.__name__}"} for cls in EVENT_CLASSES.values()]}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://github.com/gamepipe/gamepipe/chalicelib/contract/event_schema.json",
        "title": "Game event",
        "description": (
            "One game event. `event_type` selects the variant; unknown extra fields are "
            "allowed and carried to the raw events table."
        ),
        **union,
        "$defs": components,
    }


def _ecma_patterns(node: Any) -> None:
    """Rewrite Python's end-of-string ``\\Z`` as ECMA-262's ``$`` (JSON Schema regexes).

    In Python ``$`` also matches before a trailing newline (``"user-1\\n"`` would pass),
    so the models anchor with ``\\Z``; ECMA-262 has no ``\\Z`` and its ``$`` (without
    the m flag) already means end of input.
    """
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "pattern" and isinstance(value, str) and value.endswith("\\Z"):
                node[key] = value[:-2] + "$"
            else:
                _ecma_patterns(value)
    elif isinstance(node, list):
        for item in node:
            _ecma_patterns(item)
