"""Plausible players and their events, deterministic for a seed.

Rules that make the data believable and the answers checkable: levels only rise (by one
per ``level_up``); attack and defense grow with level; health drops on enemy attacks and
comes back with potions and level ups; a potion is drunk only if one was bought; a player
joins a guild and now and then switches; event times rise through the run.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

from chalicelib.contract import EVENT_TYPES, STATS

GUILDS = (
    "Knights of the Round Table",
    "Game of Thrones",
    "Castle of Rock",
    "Order of the Phoenix",
    "Night's Watch",
)
DEFAULT_WEIGHTS: dict[str, float] = {
    "purchase_sword": 1.0,
    "purchase_shield": 0.8,
    "purchase_potion": 2.0,
    "join_guild": 0.4,
    "find_treasure": 2.0,
    "enemy_attack": 3.0,
    "defeat_enemy": 2.0,
    "take_potion": 1.5,
    "level_up": 0.8,
}
APP_VERSIONS = ("1.4.2", "1.5.0", "1.5.1")
PLATFORMS = ("ios", "android")
MAX_LEVEL = 100
ENEMIES = ("orc", "goblin", "troll", "wolf", "bandit", "dragon")
PRICES = {"sword": 100, "shield": 80, "potion": 5}
DESCRIPTIONS = {
    "sword": ("very sharp steel sword", "rusty iron sword", "elven blade"),
    "shield": ("round oak shield", "tower shield", "buckler"),
    "potion": ("healing potion", "large healing potion"),
}


@dataclass
class Player:
    """One player's state; events are derived from it and change it."""

    userid: str
    app_version: str
    platform: str
    level: int = 1
    health: int = 0
    potions: int = 0
    guild: str | None = None

    def __post_init__(self) -> None:
        if not self.health:
            self.health = self.max_health

    @property
    def attack(self) -> int:
        """Attack grows with level (the seed's 200 per level)."""
        return 200 * self.level

    @property
    def defense(self) -> int:
        """Defense grows with level (the seed's 175 per level)."""
        return 175 * self.level

    @property
    def max_health(self) -> int:
        """Health cap, growing with level."""
        return 80 + 20 * self.level

    def stats(self) -> dict[str, int]:
        """The four stats the status events carry."""
        return {name: getattr(self, name) for name in STATS}


def parse_weights(text: str | None) -> dict[str, float]:
    """``"purchase_sword=1,level_up=0.5"`` over the defaults (0 disables a type)."""
    weights = dict(DEFAULT_WEIGHTS)
    for part in (text or "").split(","):
        if not part.strip():
            continue
        name, _, value = part.partition("=")
        name = name.strip()
        if name not in EVENT_TYPES:
            raise ValueError(f"unknown event type {name!r} in weights")
        weights[name] = float(value)
        if weights[name] < 0:
            raise ValueError(f"weight of {name} must be >= 0")
    if not any(weights.values()):
        raise ValueError("at least one event type needs a positive weight")
    return weights


def userid_of(n: int) -> str:
    """The seed's player ids, without its quotes: user-0001."""
    return f"user-{n:04d}"


@dataclass
class World:
    """All players plus the random source; ``next_event`` advances the game by one event."""

    rng: random.Random
    players: list[Player]
    weights: Mapping[str, float]
    _types: list[str] = field(init=False)
    _cum: list[float] = field(init=False)

    def __post_init__(self) -> None:
        self._types = [t for t in EVENT_TYPES if self.weights.get(t, 0) > 0]
        self._cum = []
        total = 0.0
        for t in self._types:
            total += self.weights[t]
            self._cum.append(total)

    @classmethod
    def create(cls, users: int, seed: int, weights: Mapping[str, float] | None = None) -> World:
        """A world of ``users`` players, deterministic for ``seed``."""
        rng = random.Random(seed)
        players = [
            Player(userid_of(i + 1), rng.choice(APP_VERSIONS), rng.choice(PLATFORMS))
            for i in range(users)
        ]
        return cls(rng, players, dict(weights or DEFAULT_WEIGHTS))

    def event_id(self) -> str:
        """A UUID4 drawn from the seeded random source (reproducible)."""
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def pick_type(self) -> str:
        """An event type drawn by weight."""
        return self.rng.choices(self._types, cum_weights=self._cum)[0]

    def next_event(self, ts: datetime, *, apply: bool = True) -> dict[str, Any]:
        """The next event of a random player at ``ts``; ``apply=False`` leaves state as is."""
        player = self.rng.choice(self.players)
        return self.event_of(player, self.pick_type(), ts, apply=apply)

    def event_of(
        self, player: Player, event_type: str, ts: datetime, *, apply: bool = True
    ) -> dict[str, Any]:
        """``player``'s next event of ``event_type`` at ``ts``; ``apply=False`` leaves state."""
        return self._event_for(player if apply else replace(player), event_type, ts)

    def _event_for(self, p: Player, event_type: str, ts: datetime) -> dict[str, Any]:
        rng = self.rng
        if event_type == "take_potion" and p.potions == 0:
            event_type = "purchase_potion"  # nothing to drink: go and buy one
        if event_type == "level_up" and p.level >= MAX_LEVEL:
            event_type = "defeat_enemy"
        fields: dict[str, Any]
        if event_type.startswith("purchase_"):
            item = event_type.removeprefix("purchase_")
            amount = rng.randint(1, 10) if item == "potion" else rng.randint(1, 2)
            if item == "potion":
                p.potions += amount
            fields = {
                "item_type": item,
                "description": rng.choice(DESCRIPTIONS[item]),
                "amount_purchased": amount,
                "price": PRICES[item] * amount,
            }
        elif event_type == "join_guild":
            choices = [g for g in GUILDS if g != p.guild]
            p.guild = rng.choice(choices)
            fields = {"description": f"joined {p.guild}", "guild_name": p.guild}
        elif event_type == "find_treasure":
            fields = {"description": rng.choice(("found a chest of gold", "found a gem"))}
        elif event_type == "defeat_enemy":
            fields = {"description": f"defeated a {rng.choice(ENEMIES)}"}
        elif event_type == "enemy_attack":
            damage = max(1, int(p.max_health * rng.uniform(0.05, 0.3)))
            p.health = max(1, p.health - damage)
            fields = {"description": f"attacked by a {rng.choice(ENEMIES)}"}
            if rng.random() < 0.7:  # most clients report the stats after the hit
                fields.update(p.stats())
        elif event_type == "take_potion":
            p.potions -= 1
            p.health = min(p.max_health, p.health + 50)
            fields = {"description": "drank a healing potion", **p.stats()}
        else:  # level_up
            p.level += 1
            p.health = p.max_health
            fields = {"description": f"reached level {p.level}", **p.stats()}
        return {
            "event_id": self.event_id(),
            "event_type": event_type,
            "userid": p.userid,
            "event_ts": _iso(ts),
            "app_version": p.app_version,
            "platform": p.platform,  # not in the contract: kept as an unknown extra field
            **fields,
        }


def _iso(ts: datetime) -> str:
    return ts.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def default_start(days: float, today: date | None = None) -> datetime:
    """Where the events begin by default: ``days`` before today's 00:00 UTC, so they end
    before today starts (inside the API's event-time window for up to ~44 days) and the
    same seed gives the same events all day."""
    today = today or datetime.now(UTC).date()
    return datetime(today.year, today.month, today.day, tzinfo=UTC) - timedelta(days=days)


def timeline(events: int, start: datetime, days: float) -> Iterator[datetime]:
    """``events`` rising timestamps spread evenly over ``days`` from ``start`` (ms steps)."""
    span_ms = max(1, int(days * 86_400_000))
    for i in range(events):
        yield start + timedelta(milliseconds=(i * span_ms) // max(1, events))
