"""The five lake tables: names, columns and Glue/Athena types, derived once.

Column names keep the seed's (``event_ts``, ``userid``, ``host`` — Athena lower-cases
the seed's ``Host`` — ``event_type``, ``item_type``, ...) so its SQL still runs; we add
``event_id`` (dedupe key), ``received_at`` (server time) and, last, ``application_id``
(the application whose API key sent the event, stamped by the API; files written before
the column existed read it as NULL, Parquet columns being resolved by name). Every table
is partitioned by ``dt`` (event date, UTC, ``YYYY-MM-DD``).

The four seed tables end with ``compacted boolean`` (merge-on-read): compaction writes
``true`` on every row of a partition's merged, deduplicated file; the consumer's batch
files do not have the column at all, so their rows read as NULL ("live" rows). It is a
catalog column (Glue, DDL, query engines), not a column the consumer writes:
``Table.columns`` stays what a batch file holds, ``Table.catalog_columns`` adds it.

Schema evolution (docs/adding-a-field.md): a new column is appended at the end of a table
(after the existing columns, before the ``dt`` key), so Glue tables gain it in place and
files written before it read it as NULL in both engines (``events.session_id`` and
``platform``, issue 15, after ``application_id``, issue 13). A column the catalog has but
the consumer does not write yet is ``pending``: catalog, DDL and queries know it; it moves
into ``columns`` when the consumer writes it.
"""

from __future__ import annotations

from dataclasses import dataclass

from chalicelib.contract.models import EVENT_TYPES

PARTITION_KEY = "dt"
COMPACTED = "compacted"


@dataclass(frozen=True)
class Column:
    """One column: name and Glue/Athena type (timestamp, string, bigint)."""

    name: str
    type: str


@dataclass(frozen=True)
class Table:
    """A lake table partitioned by ``dt``."""

    name: str
    columns: tuple[Column, ...]
    event_types: tuple[str, ...]
    description: str
    merge_on_read: bool = False  # has the trailing ``compacted boolean`` column
    # Catalog columns the consumer does not write yet (NULL in every file until it does).
    pending: tuple[Column, ...] = ()

    @property
    def column_names(self) -> tuple[str, ...]:
        """Column names of a consumer batch file, in storage order (no partition key)."""
        return tuple(c.name for c in self.columns)

    @property
    def catalog_columns(self) -> tuple[Column, ...]:
        """The Glue/Athena columns: the batch files' columns, the pending ones, then
        ``compacted`` if any."""
        if self.merge_on_read:
            return (*self.columns, *self.pending, Column(COMPACTED, "boolean"))
        return (*self.columns, *self.pending)


def _cols(spec: str) -> tuple[Column, ...]:
    """Parse ``"name:type name:type ..."`` into columns."""
    return tuple(Column(*item.split(":")) for item in spec.split())


_KEY = "event_ts:timestamp userid:string host:string"
_TAIL = "event_id:string received_at:timestamp application_id:string"


def _seed_table(name: str, own: str, event_types: tuple[str, ...], description: str) -> Table:
    """One of the seed's four tables: the key columns, its own, the tail; merge-on-read."""
    columns = _cols(f"{_KEY} {own} {_TAIL}")
    return Table(name, columns, event_types, description, merge_on_read=True)


PURCHASE_EVENTS = _seed_table(
    "purchase_events",
    "event_type:string item_type:string description:string amount_purchased:bigint price:bigint",
    ("purchase_sword", "purchase_shield", "purchase_potion"),
    "Purchases of swords, shields and potions.",
)
CHARACTER_EVENTS = _seed_table(
    "character_events",
    "description:string event_type:string",
    ("find_treasure", "enemy_attack", "defeat_enemy"),
    "Gameplay progress: treasures found, enemy attacks, enemies defeated.",
)
CHARACTER_STATS = _seed_table(
    "character_stats",
    "event_type:string description:string level:bigint attack:bigint defense:bigint health:bigint",
    # enemy_attack lands here too when it carries the player's stats.
    ("level_up", "take_potion", "enemy_attack"),
    "The player's stats after level ups, potions and (when reported) enemy attacks.",
)
GUILD_EVENTS = _seed_table(
    "guild_events",
    "event_type:string description:string guild_name:string",
    ("join_guild",),
    "Guild joins; a player's latest join is their current guild.",
)
EVENTS = Table(
    "events",
    _cols(
        "event_id:string event_type:string userid:string event_ts:timestamp"
        " received_at:timestamp host:string user_agent:string app_version:string payload:string"
        " application_id:string session_id:string platform:string"
    ),
    EVENT_TYPES,
    "Every valid event with all its fields (payload = the JSON as received), for replay.",
)

TABLES: dict[str, Table] = {
    t.name: t for t in (PURCHASE_EVENTS, CHARACTER_EVENTS, CHARACTER_STATS, GUILD_EVENTS, EVENTS)
}
