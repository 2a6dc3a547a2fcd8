"""The pure event stream: what gets sent, in order, with bad events and resends mixed in."""

from __future__ import annotations

import functools
import random
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from gamepipe.generator.bad import make_bad
from gamepipe.generator.model import World, default_start, parse_weights, timeline

# A resend goes out a few events after the original, as a retrying client would.
RESEND_DELAY = (1, 20)


@dataclass(frozen=True)
class Generated:
    """One event to send: the JSON value, plus why it is special (if it is)."""

    event: Any  # usually a dict; a bad event may be any JSON value
    bad_reason: str | None = None  # set for invalid events
    resend: bool = False  # a repeat of an earlier event (same event_id)


def generate(
    users: int,
    events: int,
    seed: int,
    *,
    weights: Mapping[str, float] | str | None = None,
    start: datetime | None = None,
    days: float = 1.0,
    bad_fraction: float = 0.0,
    resend_fraction: float = 0.02,
) -> Iterator[Generated]:
    """Exactly ``events`` events (bad ones and resends included), deterministic for ``seed``
    (and ``start``: by default ``days`` before today, see ``default_start``)."""
    if users < 1:
        raise ValueError("users must be >= 1")
    if not 0 <= bad_fraction <= 1 or not 0 <= resend_fraction <= 1:
        raise ValueError("fractions must be between 0 and 1")
    w = parse_weights(weights) if isinstance(weights, str) or weights is None else dict(weights)
    world = World.create(users, seed, w)
    first = start or default_start(days)
    slots = (functools.partial(world.next_event, ts) for ts in timeline(events, first, days))
    yield from mix(slots, world.rng, bad_fraction=bad_fraction, resend_fraction=resend_fraction)


# One event slot: called with apply=True it returns the next event and advances the game;
# with apply=False it returns an event of a copy of the player (for a bad one).
Slot = Callable[..., dict[str, Any]]


def mix(
    slots: Iterable[Slot],
    rng: random.Random,
    *,
    bad_fraction: float = 0.0,
    resend_fraction: float = 0.0,
) -> Iterator[Generated]:
    """One event per slot, some replaced by bad events or by resends of earlier ones."""
    pending: list[tuple[int, dict[str, Any]]] = []  # (due position, event to resend)
    for i, slot in enumerate(slots):
        if pending and pending[0][0] <= i:
            _, original = pending.pop(0)
            yield Generated(original, resend=True)
            continue
        if bad_fraction and rng.random() < bad_fraction:
            # Built from a copy of a player, so an invalid event never changes the game.
            bad, reason = make_bad(slot(apply=False), rng)
            yield Generated(bad, bad_reason=reason)
            continue
        event = slot(apply=True)
        if resend_fraction and rng.random() < resend_fraction:
            pending.append((i + rng.randint(*RESEND_DELAY), event))
            pending.sort(key=lambda p: p[0])
        yield Generated(event)


def generate_events(users: int, events: int, seed: int, **kwargs: Any) -> Iterator[Any]:
    """Just the JSON values of :func:`generate` (what goes on the wire and in the truth file)."""
    for g in generate(users, events, seed, **kwargs):
        yield g.event
