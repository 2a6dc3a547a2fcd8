"""Player lifecycles over several days: installs, sessions, churn, payers and progression.

``gamepipe generate --days N`` simulates a game's audience instead of a flat stream:
players install on a day spread over the N days, play one to a few sessions on the days
they come back (each session has a ``session_id``, carried as an extra field), and quit
with a hazard that falls with their age in the game (most leave in the first days, the
survivors stay), so retention curves look like a real game's. A minority of players pay
(only they buy items, and so drink potions); levels rise with play and players switch
guilds now and then (the per-event rules are :mod:`gamepipe.generator.model`'s).

Planned first, then filled: the lifecycle decides the sessions, the ``events`` budget is
shared among them by weight (exactly ``events`` lines are sent, bad ones and resends
included, as in the flat stream), and the sessions' events go out in time order.
Everything is drawn from one seeded random source: same seed and days, same events.
"""

from __future__ import annotations

import functools
import heapq
import math
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from gamepipe.generator.model import World, parse_weights
from gamepipe.generator.stream import Generated, mix

DAY_MS = 86_400_000
# The last session of a day starts at least this long before midnight.
LAST_START_MS = DAY_MS - 10 * 60_000
# Event types a player who never pays does not send (no purchases, so no potions to drink).
PAID_TYPES = frozenset({"purchase_sword", "purchase_shield", "purchase_potion", "take_potion"})


@dataclass(frozen=True)
class Audience:
    """The shape of the simulated audience (defaults: a plausible free-to-play game)."""

    churn: float = 0.6  # hazard of quitting on day 1 for a player with no engagement at all
    churn_decay: float = 0.35  # the hazard falls as 1 / (1 + churn_decay * age in days)
    payer_share: float = 0.2  # payers among players of average engagement
    max_sessions: int = 4  # sessions on one day, at most


@dataclass(frozen=True)
class Session:
    """One planned session: when it may run, whose it is, and its share of the events."""

    start_ms: int  # since the first day's midnight (UTC)
    end_ms: int  # the next session of the player that day, or midnight
    player: int  # index into World.players
    session_id: str
    weight: float


def default_first_day(days: int, today: date | None = None) -> date:
    """The first day such that the last of ``days`` days is today (UTC)."""
    return (today or datetime.now(UTC).date()) - timedelta(days=days - 1)


def generate_lifecycles(
    users: int,
    events: int,
    seed: int,
    *,
    days: int,
    first_day: date | None = None,
    weights: Mapping[str, float] | str | None = None,
    bad_fraction: float = 0.0,
    resend_fraction: float = 0.02,
    audience: Audience | None = None,
) -> Iterator[Generated]:
    """Exactly ``events`` events of ``users`` players' lives over ``days`` days from
    ``first_day`` (default: ending today, UTC), deterministic for ``seed``."""
    if users < 1 or days < 1:
        raise ValueError("users and days must be >= 1")
    if not 0 <= bad_fraction <= 1 or not 0 <= resend_fraction <= 1:
        raise ValueError("fractions must be between 0 and 1")
    w = parse_weights(weights) if isinstance(weights, str) or weights is None else dict(weights)
    world = World.create(users, seed, w)
    origin = datetime.combine(first_day or default_first_day(days), datetime.min.time(), UTC)
    sessions, payers = plan(world, days, audience or Audience())
    counts = share(events, [s.weight for s in sessions])
    game = _Game(world, payers, w)
    slots = (
        functools.partial(game.event, sessions[i], origin + timedelta(milliseconds=ms))
        for ms, i in _timeline(world, sessions, counts)
    )
    yield from mix(slots, world.rng, bad_fraction=bad_fraction, resend_fraction=resend_fraction)


def plan(world: World, days: int, audience: Audience) -> tuple[list[Session], list[bool]]:
    """Every player's sessions over ``days`` days (in player order), and who pays."""
    rng = world.rng
    sessions: list[Session] = []
    payers: list[bool] = []
    for index in range(len(world.players)):
        install = rng.randrange(days)
        engagement = rng.betavariate(2, 3)  # mean 0.4: most players are casual
        payers.append(rng.random() < audience.payer_share * (0.5 + engagement) / 0.9)
        for age in range(days - install):
            if age:
                hazard = audience.churn * (1 - engagement) / (1 + audience.churn_decay * age)
                if rng.random() < hazard:
                    break  # quit the game for good
                if rng.random() > 0.45 + 0.5 * engagement:
                    continue  # a day off
            n = 1 + sum(rng.random() < engagement for _ in range(audience.max_sessions - 1))
            day_ms = (install + age) * DAY_MS
            starts = sorted(rng.sample(range(0, LAST_START_MS, 60_000), n))
            for j, start in enumerate(starts):
                end = starts[j + 1] if j + 1 < n else DAY_MS
                sessions.append(
                    Session(
                        day_ms + start,
                        day_ms + end,
                        index,
                        str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                        rng.lognormvariate(0, 0.6) * (0.5 + engagement),
                    )
                )
    return sessions, payers


def share(total: int, weights: list[float]) -> list[int]:
    """``total`` split in proportion to ``weights`` (largest remainders; sums to ``total``)."""
    whole = sum(weights)
    if total <= 0 or whole <= 0:
        return [0] * len(weights)
    exact = [total * w / whole for w in weights]
    counts = [math.floor(x) for x in exact]
    left = total - sum(counts)
    by_remainder = sorted(range(len(weights)), key=lambda i: (counts[i] - exact[i], i))
    for i in by_remainder[:left]:
        counts[i] += 1
    return counts


def _timeline(
    world: World, sessions: list[Session], counts: list[int]
) -> Iterator[tuple[int, int]]:
    """``(ms since origin, session index)`` of every event slot, in time order.

    A session's events are spaced by a few seconds to a minute (closer when many must fit
    before the player's next session); sessions are opened in start order and merged.
    """
    rng = world.rng
    order = sorted((i for i, n in enumerate(counts) if n), key=lambda i: (sessions[i].start_ms, i))
    heap: list[tuple[int, int, int]] = []  # (ms, tie-breaker, session index)
    seq = 0
    for i in order:
        while heap and heap[0][0] < sessions[i].start_ms:
            ms, _, j = heapq.heappop(heap)
            yield ms, j
        s, n = sessions[i], counts[i]
        ceiling = max(1, (s.end_ms - s.start_ms - 1) // n)
        ms = s.start_ms
        for _ in range(n):
            heapq.heappush(heap, (ms, seq, i))
            seq += 1
            ms += max(1, min(ceiling, int(rng.uniform(3_000, 60_000))))
    while heap:
        ms, _, j = heapq.heappop(heap)
        yield ms, j


class _Game:
    """Turns a slot into the event a player sends: payers and others play differently."""

    def __init__(self, world: World, payers: list[bool], weights: Mapping[str, float]) -> None:
        self.world = world
        self.payers = payers
        self.types = {paying: _cumulative(weights, paying) for paying in (True, False)}

    def event(self, session: Session, ts: datetime, *, apply: bool = True) -> dict[str, Any]:
        """The session's player's next event at ``ts``, tagged with the session id."""
        player = self.world.players[session.player]
        names, cum = self.types[self.payers[session.player]]
        event_type = self.world.rng.choices(names, cum_weights=cum)[0]
        event = self.world.event_of(player, event_type, ts, apply=apply)
        return {**event, "session_id": session.session_id}


def _cumulative(weights: Mapping[str, float], paying: bool) -> tuple[list[str], list[float]]:
    names = [t for t, v in weights.items() if v > 0 and (paying or t not in PAID_TYPES)]
    if not names:  # only paid types weighted: a non-payer still plays
        names = ["defeat_enemy"]
    cum, total = [], 0.0
    for t in names:
        total += weights.get(t, 0) or 1.0
        cum.append(total)
    return names, cum
