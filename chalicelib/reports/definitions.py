"""The report sections: each registered report (``chalicelib.statements``) and its chart."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from chalicelib.reports.charts import BarChart, bar_chart, distribution, largest
from chalicelib.statements import REPORTS as REGISTERED

Row = Mapping[str, Any]
Chart = Callable[[Sequence[Row]], BarChart | None]


@dataclass(frozen=True)
class ReportSpec:
    """One report: query name, page title, one-line purpose and its chart."""

    name: str
    title: str
    description: str
    chart: Chart


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


# The chart of each registered report (a test checks every report has one).
CHARTS: dict[str, Chart] = {
    "player_standings": _level_distribution,
    "player_purchases": _purchases_by_item,
    "guild_membership": _members_per_guild,
}

REPORTS: tuple[ReportSpec, ...] = tuple(
    ReportSpec(r.name, r.title, r.description, CHARTS[r.name]) for r in REGISTERED
)

REPORT_NAMES: tuple[str, ...] = tuple(r.name for r in REPORTS)
