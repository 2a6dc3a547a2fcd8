"""Ways to break a valid event, each with the reason the contract should give.

Every maker takes a valid event (it is copied, not changed) and a random source, and
returns the broken event and a short reason. ``make_bad`` picks one at random.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

Event = dict[str, Any]
Maker = Callable[[Event, random.Random], Event]


def _quoted_userid(ev: Event, rng: random.Random) -> Event:
    return {**ev, "userid": f"'{ev['userid']}'"}  # the seed's mistake


def _naive_timestamp(ev: Event, rng: random.Random) -> Event:
    return {**ev, "event_ts": ev["event_ts"].rstrip("Z")}


def _missing_userid(ev: Event, rng: random.Random) -> Event:
    return {k: v for k, v in ev.items() if k != "userid"}


def _missing_event_type(ev: Event, rng: random.Random) -> Event:
    return {k: v for k, v in ev.items() if k != "event_type"}


def _unknown_event_type(ev: Event, rng: random.Random) -> Event:
    return {**ev, "event_type": rng.choice(("purchase_dragon", "levelup", "PURCHASE_SWORD"))}


def _wrong_type(ev: Event, rng: random.Random) -> Event:
    # A number where a string belongs, or a string where a number belongs.
    for name in ("amount_purchased", "price", "level", "health"):
        if name in ev:
            return {**ev, name: str(ev[name])}
    return {**ev, "userid": rng.randint(1, 9999)}


def _bad_enum(ev: Event, rng: random.Random) -> Event:
    if "item_type" in ev:
        other = [i for i in ("sword", "shield", "potion") if i != ev["item_type"]]
        return {**ev, "item_type": rng.choice(other)}
    return {**ev, "event_type": "purchase_" + rng.choice(("axe", "bow"))}


def _bad_event_id(ev: Event, rng: random.Random) -> Event:
    return {**ev, "event_id": "not-a-uuid"}


def _not_an_object(ev: Event, rng: random.Random) -> Any:
    return [ev["event_type"], ev.get("userid")]


MAKERS: dict[str, Maker] = {
    "quoted userid": _quoted_userid,
    "naive timestamp": _naive_timestamp,
    "missing userid": _missing_userid,
    "missing event_type": _missing_event_type,
    "unknown event_type": _unknown_event_type,
    "wrong type": _wrong_type,
    "bad enum": _bad_enum,
    "bad event_id": _bad_event_id,
    "not an object": _not_an_object,
}


def make_bad(ev: Event, rng: random.Random) -> tuple[Any, str]:
    """A broken copy of ``ev`` and the reason it must be rejected."""
    reason = rng.choice(sorted(MAKERS))
    return MAKERS[reason](ev, rng), reason
