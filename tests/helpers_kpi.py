"""Test helpers of the KPI area: hand-made events on chosen days, and the KPI SQL run over
a lake next to the oracle's answer for the same range."""

from __future__ import annotations

import itertools
import uuid
from datetime import date, timedelta
from typing import Any

import pyarrow as pa

from chalicelib.query.kpi import KPI_NAMES, collect_kpis
from chalicelib.settings import Settings
from chalicelib.statements import KPIS
from gamepipe import oracle_kpi
from gamepipe.generator.lifecycle import generate_lifecycles

_ids = itertools.count(1)
# The oracle of each KPI by short name, as collect_kpis keys its results.
ORACLES: dict[str, oracle_kpi.Oracle] = {k.key: oracle_kpi.ORACLES[k.name] for k in KPIS}
KPI_FILES = [f"kpi_{name}.csv" for name in KPI_NAMES]  # what a report publishes for them


def new_id() -> str:
    """A fresh, valid event_id."""
    return str(uuid.UUID(int=next(_ids), version=4))


def event(
    user: str, day: str, event_type: str = "find_treasure", time: str = "12:00:00", **fields: Any
) -> dict[str, Any]:
    """A valid event of ``user`` on ``day`` (YYYY-MM-DD) at ``time`` UTC; fields override."""
    ev: dict[str, Any] = {
        "event_type": event_type,
        "userid": user,
        "event_ts": f"{day}T{time}Z",
        "event_id": new_id(),
        "description": "",
    }
    if event_type.startswith("purchase_"):
        ev.update(item_type=event_type.removeprefix("purchase_"), amount_purchased=1, price=10)
    elif event_type == "join_guild":
        ev["guild_name"] = "Castle of Rock"
    elif event_type in ("level_up", "take_potion"):
        ev.update(level=2, attack=400, defense=350, health=100)
    ev.update(fields)
    return ev


def sql_and_oracle(
    settings: Settings,
    engine: Any,
    counted: list[oracle_kpi.Play],
    start: date,
    end: date,
    names: tuple[str, ...] = KPI_NAMES,
) -> dict[str, tuple[list[dict[str, Any]], list[dict[str, Any]]]]:
    """Each KPI over ``[start, end]``: (the SQL's rows, the oracle's rows over ``counted``,
    from :func:`gamepipe.oracle_kpi.plays`)."""
    results = collect_kpis(settings, start, end, engine=engine, names=names)
    return {name: (results[name].to_pylist(), ORACLES[name](counted, start, end)) for name in names}


def sample_kpis(
    end: date, days: int = 40, users: int = 600, events: int = 30_000, seed: int = 3
) -> dict[str, pa.Table]:
    """The KPI statements' results for ``days`` days of lifecycles ending ``end``, as the
    oracle computes them (equal to the SQL's, which the KPI tests check)."""
    first = end - timedelta(days=days - 1)
    sent = [
        g.event
        for g in generate_lifecycles(users, events, seed, days=days, first_day=first)
        if g.bad_reason is None
    ]
    counted = oracle_kpi.plays(sent)
    return {
        name: pa.Table.from_pylist(ORACLES[name](counted, max(first, end - timedelta(98)), end))
        for name in KPI_NAMES
    }
