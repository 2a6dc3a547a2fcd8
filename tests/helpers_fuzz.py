"""A seeded generator of hostile ingest requests: what a client can send, mostly wrong.

Each :class:`FuzzRequest` is the exact bytes of one HTTP request body, its path, headers
and which key it carries, plus — for a batch to ``/v1/events`` — the raw bytes of each
event inside it, so a test can compare the API's verdict on each event with the
consumer's decoder on the same bytes. Events are built as bytes (not dicts) so the
mutations can be what a JSON library would never write: invalid UTF-8, escaped or
look-alike keys, duplicate keys, NaN, truncation.
"""

from __future__ import annotations

import json
import random
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from chalicelib.contract import EVENT_TYPES

# How the request authenticates (the keys themselves are the test's).
KEY_MODES = (
    ("valid", 62),
    ("bearer", 5),
    ("other_app", 5),
    ("none", 8),
    ("empty", 3),
    ("malformed", 5),
    ("wrong_secret", 5),
    ("revoked", 4),
    ("huge", 3),
)
CONTENT_TYPE = {"Content-Type": "application/json", "User-Agent": "fuzz/1.0"}
_TS = b'"2026-01-01T00:00:00Z"'


@dataclass
class FuzzRequest:
    """One request to send, and what the test needs to judge the answer."""

    n: int
    path: str
    body: bytes
    key_mode: str
    headers: dict[str, str] = field(default_factory=dict)
    events: list[bytes] | None = None  # a well-formed batch's events, as sent
    kind: str = ""  # what the request tries (for the failure message)


def _ts(when: datetime) -> str:
    return when.isoformat(timespec="milliseconds").replace("+00:00", "Z")


class Hostile:
    """Hostile requests, deterministic for a seed; event times relative to ``now``."""

    def __init__(self, seed: int, now: datetime | None = None) -> None:
        self.rng = random.Random(seed)
        self.now = now or datetime.now(UTC)

    # --- events --------------------------------------------------------------------------

    def valid_event(self) -> dict[str, Any]:
        """A valid event of a random type, dated inside the window (hours from its edges)."""
        rng = self.rng
        etype = rng.choice(EVENT_TYPES)
        ago = timedelta(seconds=rng.randint(3600, 40 * 86400))
        event: dict[str, Any] = {
            "event_id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            "event_type": etype,
            "userid": f"user-{rng.randint(1, 50):04d}",
            "event_ts": _ts(self.now - ago),
            "description": rng.choice(("ok", "défi ✓", "")),
        }
        if etype.startswith("purchase_"):
            event.update(amount_purchased=rng.randint(1, 9), price=rng.randint(0, 500),
                         item_type=etype.removeprefix("purchase_"))  # fmt: skip
        elif etype == "join_guild":
            event["guild_name"] = rng.choice(("Night's Watch", '=HYPERLINK("x")', "ギルド"))
        if etype in ("level_up", "take_potion") or (etype == "enemy_attack" and rng.random() < 0.5):
            event.update(level=rng.randint(1, 100), attack=7, defense=5, health=50)
        if rng.random() < 0.3:
            event["platform"] = rng.choice(("ios", "android"))
        return event

    def event(self) -> tuple[bytes, str]:
        """One event's bytes and the mutation applied (``valid`` for none)."""
        name, mutate = self.rng.choice(_MUTATIONS)
        return mutate(self, self.valid_event()), name

    # --- requests ------------------------------------------------------------------------

    def requests(self, count: int) -> Iterator[FuzzRequest]:
        """``count`` requests: mostly batches, some broken envelopes, some single events."""
        modes, weights = zip(*KEY_MODES, strict=True)
        for n in range(count):
            mode = self.rng.choices(modes, weights)[0]
            roll = self.rng.random()
            if roll < 0.80:
                events = [self.event() for _ in range(self.rng.randint(1, 6))]
                body = b'{"events":[' + b",".join(e for e, _ in events) + b"]}"
                kinds = "+".join(sorted({k for _, k in events}))
                yield FuzzRequest(n, "/v1/events", body, mode, dict(CONTENT_TYPE),
                                  [e for e, _ in events], f"batch {kinds}")  # fmt: skip
            elif roll < 0.92:
                kind, body, headers = self.rng.choice(_ENVELOPES)(self)
                yield FuzzRequest(n, "/v1/events", body, mode, {**CONTENT_TYPE, **headers},
                                  kind=f"envelope {kind}")  # fmt: skip
            else:
                raw, kind = self.event()
                etype = self.rng.choice((*EVENT_TYPES, "purchase_dragon", "Level_Up", "x" * 300))
                yield FuzzRequest(n, f"/v1/events/{etype}", raw, mode, dict(CONTENT_TYPE),
                                  kind=f"single {kind}")  # fmt: skip


def _dump(event: Any) -> bytes:
    return json.dumps(event, ensure_ascii=False, separators=(",", ":")).encode()


def _splice(event: dict[str, Any], tail: bytes) -> bytes:
    """The event's bytes with ``tail`` (``,"k":v``) added before the closing brace."""
    return _dump(event)[:-1] + tail + b"}"


# Each mutation: (name, function(hostile, valid event) -> bytes).
Mutation = Callable[[Hostile, dict[str, Any]], bytes]


def _set(name: str, value: Any) -> Mutation:
    return lambda h, e: _dump({**e, name: value})


def _without(event: dict[str, Any], name: str) -> dict[str, Any]:
    return {k: v for k, v in event.items() if k != name}


def _drop(name: str) -> Mutation:
    return lambda h, e: _dump(_without(e, name))


def _ago(days: float) -> Mutation:
    return lambda h, e: _dump({**e, "event_ts": _ts(h.now - timedelta(days=days))})


_MUTATIONS: list[tuple[str, Mutation]] = [
    ("valid", lambda h, e: _dump(e)),
    ("valid", lambda h, e: _dump(e)),
    ("valid", lambda h, e: json.dumps(e, indent=1).encode()),  # newlines as whitespace
    ("valid unknown 1KB", _set("notes", "n" * 1000)),
    (
        "level 10000 (valid)",
        lambda h, e: _dump(
            {**e, "event_type": "level_up", "level": 10000, "attack": 1, "defense": 1, "health": 1}
        ),
    ),
    ("level 10001", _set("level", 10_001)),
    ("userid number", _set("userid", 12)),
    ("userid quoted", _set("userid", "'user-0001'")),
    ("userid sql", _set("userid", "x' OR '1'='1")),
    ("userid long", _set("userid", "u" * 129)),
    ("userid newline", _set("userid", "user\n")),
    ("userid unicode", _set("userid", "üser")),
    ("userid null", _set("userid", None)),
    ("description long", _set("description", "d" * 1025)),
    ("description nul", _set("description", "a\u0000b")),
    ("amount float", _set("amount_purchased", 1.5)),
    ("amount huge", _set("amount_purchased", 2**70)),
    ("price negative", _set("price", -1)),
    ("event_type unknown", _set("event_type", "purchase_dragon")),
    ("event_type case", _set("event_type", "LEVEL_UP")),
    ("event_type missing", _drop("event_type")),
    ("event_ts missing", _drop("event_ts")),
    ("event_ts year 1", _set("event_ts", "0001-01-01T00:00:00Z")),
    ("event_ts year 9999", _set("event_ts", "9999-12-31T23:59:59Z")),
    ("event_ts 46 days ago", _ago(46)),
    ("event_ts 44 days ago", _ago(44)),
    ("event_ts 2 days ahead", _ago(-2)),
    ("event_ts 20h ahead", _ago(-20 / 24)),
    ("event_ts +14:00", lambda h, e: _dump({**e, "event_ts": e["event_ts"][:-1] + "+14:00"})),
    ("event_ts naive", lambda h, e: _dump({**e, "event_ts": e["event_ts"][:-1]})),
    ("event_ts epoch", _set("event_ts", 1_700_000_000)),
    ("event_ts garbage", _set("event_ts", "yesterday")),
    ("event_id bad", _set("event_id", "not-a-uuid")),
    ("partial stats", lambda h, e: _dump({**e, "event_type": "enemy_attack", "level": 3})),
    ("utf8 bad in unknown", lambda h, e: _splice(e, b',"extra":"\xff\xfe"')),
    ("utf8 bad in known", lambda h, e: _dump(e).replace(b'"user-', b'"\xc3(user-', 1)),
    ("utf8 overlong", lambda h, e: _splice(e, b',"extra":"\xc0\xaf"')),
    ("utf8 surrogate", lambda h, e: _splice(e, b',"extra":"\xed\xa0\x80"')),
    ("escaped received_at", lambda h, e: _splice(e, b',"r\\u0065ceived_at":' + _TS)),
    ("escaped application_id", lambda h, e: _splice(e, b',"\\u0061pplication_id":"forged"')),
    ("escaped level", lambda h, e: _splice(e, b',"l\\u0065vel":10000')),
    ("escaped userid", lambda h, e: _splice(_without(e, "userid"), b',"\\u0075serid":"u-1"')),
    ("fullwidth key", lambda h, e: _splice(e, ',"ｌｅｖｅｌ":1'.encode())),
    ("escaped plain key", lambda h, e: _splice(e, b',"caf\\u00e9":1')),
    ("literal application_id", _set("application_id", "someone-else")),  # overwritten
    ("literal host wrong type", _set("host", 5)),
    ("duplicate key", lambda h, e: _splice(e, b',"userid":"user-0002"')),
    ("unknown 9KB", _set("notes", "n" * 9000)),
    ("unknown many", lambda h, e: _dump({**e, **{f"k{i}": "v" * 100 for i in range(90)}})),
    ("unknown 200KB", _set("blob", "b" * 200_000)),
    ("nested deep", lambda h, e: _splice(e, b',"deep":' + b"[" * 2000 + b"]" * 2000)),
    ("nan", lambda h, e: _splice(e, b',"x":NaN')),
    ("infinity", lambda h, e: _dump(e).replace(b'"price":', b'"price":Infinity,"p2":', 1)),
    ("truncated", lambda h, e: _dump(e)[: h.rng.randint(1, len(_dump(e)) - 1)]),
    ("trailing comma", lambda h, e: _dump(e)[:-1] + b",}"),
    ("not an object", lambda h, e: h.rng.choice((b"[1,2]", b'"event"', b"42", b"null", b"{}"))),
    ("bom", lambda h, e: b"\xef\xbb\xbf" + _dump(e)),
    ("control char", _set("description", "\x07\x1b[31m")),
]


def _envelope_cases() -> list[Callable[[Hostile], tuple[str, bytes, dict[str, str]]]]:
    def valid_body(h: Hostile, n: int = 1) -> bytes:
        return _dump({"events": [h.valid_event() for _ in range(n)]})

    return [
        lambda h: ("truncated", valid_body(h)[:-3], {}),
        lambda h: ("not an object", b'["events"]', {}),
        lambda h: ("events not a list", b'{"events":{"a":1}}', {}),
        lambda h: ("empty list", b'{"events":[]}', {}),
        lambda h: ("empty body", b"", {}),
        lambda h: ("no events key", b'{"evts":[]}', {}),
        lambda h: ("extra top-level key", b'{"x":1,' + valid_body(h)[1:], {}),
        lambda h: ("events twice", b'{"events":[],' + valid_body(h)[1:], {}),
        lambda h: ("501 events", valid_body(h, 501), {}),
        lambda h: ("body over 1 MiB", b'{"events":["' + b"x" * 1_100_000 + b'"]}', {}),
        lambda h: ("text/plain", valid_body(h), {"Content-Type": "text/plain"}),
        lambda h: ("invalid utf8 body", b'{"events":[{"\xff":1}]}', {}),
        lambda h: ("deep body", b'{"events":' + b"[" * 5000 + b"]" * 5000 + b"}", {}),
    ]


_ENVELOPES = _envelope_cases()
