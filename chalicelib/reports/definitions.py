"""The three reports of the seed: names (= SQL file stems), titles and the chart each draws."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from chalicelib.reports.charts import BarChart, bar_chart, distribution, largest

Row = Mapping[str, Any]


@dataclass(frozen=True)
class ReportSpec:
    """One report: query name, page title, one-line purpose and its chart."""

    name: str
    title: str
    description: str
    chart: Callable[[Sequence[Row]], BarChart | None]


def _level_distribution(rows: Sequence[Row]) -> BarChart | None:
    if not rows or "level" not in rows[0]:
        return None
    return bar_chart(
        "Level distribution",
        "players per level",
        distribution(int(r["level"]) for r in rows if r["level"] is not None),
    )


# Item count columns of the purchases report: ours (swords...) and the seed's names.
_ITEM_COLUMNS = {
    "swords": "sword",
    "shields": "shield",
    "potions": "potion",
    "sword_purchases": "sword",
    "shield_purchases": "shield",
    "potion_purchases": "potion",
}


def _purchases_by_item(rows: Sequence[Row]) -> BarChart | None:
    if not rows:
        return None
    items = [c for c in rows[0] if c in _ITEM_COLUMNS]
    if not items:
        return None
    totals = [(_ITEM_COLUMNS[c], sum(r[c] or 0 for r in rows)) for c in items]
    return bar_chart("Purchases by item", "items bought (all players)", totals)


def _members_per_guild(rows: Sequence[Row]) -> BarChart | None:
    if not rows or not {"guild_name", "members"} <= set(rows[0]):
        return None
    shown, left_out = largest([(str(r["guild_name"]), r["members"] or 0) for r in rows])
    note = f"{left_out} smaller guilds not shown" if left_out else ""
    return bar_chart("Members per guild", "members", shown, note)


REPORTS: tuple[ReportSpec, ...] = (
    ReportSpec(
        "player_standings",
        "Player Standings",
        "Which players lead the game in level, attack, defense and health.",
        _level_distribution,
    ),
    ReportSpec(
        "player_purchases",
        "Player Purchases",
        "What each player bought (swords, shields, potions) and the gold they spent.",
        _purchases_by_item,
    ),
    ReportSpec(
        "guild_membership",
        "Guild Membership",
        "How many players belong to each guild.",
        _members_per_guild,
    ),
)

REPORT_NAMES: tuple[str, ...] = tuple(r.name for r in REPORTS)
