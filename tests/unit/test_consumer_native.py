"""The native decoder against msgspec: same verdicts, same reasons, same rows.

Every line here is decoded twice, with the native decoder and with it switched off (the
msgspec path, whose verdict is the contract's); dead letters and the five tables' rows
must be identical. The lines are the fixtures, the generator's events and mutations of
them aimed at each place where a hand-written decoder could be more lenient than msgspec.
"""

from __future__ import annotations

import json
import random
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

import chalicelib.consumer.decode as decode_module
from chalicelib.consumer.columns import build_tables
from chalicelib.consumer.decode import KinesisRecord, assign_ids_and_dedupe, decode_batch
from chalicelib.consumer.native import DECODER, LIBRARY
from gamepipe.generator import generate_events

EVENTS_DIR = Path(__file__).resolve().parents[1] / "events"
FIXTURES = sorted((EVENTS_DIR / "valid").glob("*.json")) + sorted(
    (EVENTS_DIR / "invalid").glob("*.json")
)
needs_native = pytest.mark.skipif(DECODER is None, reason=f"{LIBRARY.name} not built (make)")


def _rec(data: bytes, seq: int = 1) -> KinesisRecord:
    return KinesisRecord("shardId-000000000000", f"{seq:020d}", data, 1628222935.0)


def _outcome(records: list[KinesisRecord], native: bool) -> dict[str, Any]:
    saved = decode_module.DECODER
    decode_module.DECODER = DECODER if native else None
    try:
        batch = assign_ids_and_dedupe(decode_batch(records))
    finally:
        decode_module.DECODER = saved
    # Rows as text, sorted by event_id (unique after dedupe): timestamps may lie outside
    # Python's datetime range (year 0 after a +01:00 offset), and both paths must agree.
    tables = {
        name: rows.table.sort_by("event_id")
        .cast(pa.schema([pa.field(f.name, pa.string()) for f in rows.table.schema]))
        .to_pylist()
        for name, rows in build_tables(batch).items()
    }
    return {
        "native": batch.codes is not None,
        "count": batch.count,
        "duplicates": batch.duplicates,
        "dead": [(d.reason, d.record, d.line) for d in batch.dead_letters],
        "tables": tables,
    }


def _same(records: list[KinesisRecord]) -> bool:
    """Decode with and without the native decoder; assert equal; True if native was used."""
    native, reference = _outcome(records, True), _outcome(records, False)
    assert not reference["native"]
    assert {k: v for k, v in native.items() if k != "native"} == {
        k: v for k, v in reference.items() if k != "native"
    }
    return bool(native["native"])


def _generated(n: int, seed: int) -> list[dict[str, Any]]:
    return [dict(e) for e in generate_events(40, n, seed=seed)]


def _line(event: dict[str, Any]) -> bytes:
    return json.dumps(event, separators=(",", ":")).encode()


def test_the_native_decoder_is_built_where_a_compiler_exists() -> None:
    # GIVEN a machine with a C compiler (as CI's): `make` builds the decoder
    if shutil.which("cc") is None:
        pytest.skip("no C compiler: the msgspec path runs alone")
    # THEN it loaded, so the tests below compare two decoders, not one with itself
    assert DECODER is not None, f"{LIBRARY} missing or not loadable: run make"


@needs_native
def test_generated_events_take_the_native_path_and_match() -> None:
    # GIVEN the generator's events (with client resends), 5 per record
    lines = [_line(e) for e in _generated(600, seed=3)]
    records = [_rec(b"\n".join(lines[i : i + 5]), seq=i) for i in range(0, len(lines), 5)]
    # WHEN decoded both ways THEN the rows are the same, and native really decoded them
    assert _same(records)


@needs_native
@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_fixtures_match(path: Path) -> None:
    # GIVEN a fixture alone and between two valid events
    line = _line(json.loads(path.read_text()))
    valid = _line(_generated(1, seed=1)[0])
    # THEN both decoders agree on verdict, reason and rows
    _same([_rec(line)])
    _same([_rec(b"\n".join([valid, line, valid]))])


def _mutations(event: dict[str, Any], rng: random.Random) -> Iterator[bytes]:
    """Lines near ``event`` that probe the decoder's edges (most break the contract)."""
    line = _line(event)
    text = line.decode()
    ts = event["event_ts"]
    for key, value in [
        ("userid", 5), ("userid", None), ("userid", ""), ("userid", "a b"), ("userid", "x" * 129),
        ("userid", "é"), ("userid", "\u0041bc"), ("event_id", "not-a-uuid"), ("event_id", None),
        ("event_id", "ABCDEF01-2345-4789-8ABC-DEF012345678"), ("description", None),
        ("description", "x" * 1025), ("description", "tab\there"), ("description", "ü"),
        ("host", None), ("app_version", "v" * 65), ("received_at", None), ("item_type", "bow"),
        ("item_type", None), ("amount_purchased", 0), ("amount_purchased", 1.0),
        ("amount_purchased", "3"), ("amount_purchased", True), ("price", -1), ("price", None),
        ("level", 0), ("level", 10_001), ("level", None), ("attack", 2**63), ("health", -0.0),
        ("guild_name", ""), ("guild_name", None), ("event_type", "dance"), ("event_type", None),
        ("event_ts", ts.replace("T", "t")), ("event_ts", ts.replace("T", " ")),
        ("event_ts", ts.rstrip("Z")), ("event_ts", ts.replace("Z", "+05:30")),
        ("event_ts", ts.replace("Z", "-00:00")), ("event_ts", ts.replace("Z", ".1234567Z")),
        ("event_ts", ts[:19] + ".5Z"), ("event_ts", "2021-02-29T00:00:00Z"),
        ("event_ts", "2024-02-29T23:59:59.999999-23:59"), ("event_ts", "2021-08-06T24:00:00Z"),
        ("event_ts", "2021-08-06T23:59:60Z"), ("event_ts", "0001-01-01T00:00:00+01:00"),
        ("event_ts", "2021-08-06T00:00Z"), ("event_ts", 1628208000), ("platform", {"os": "ios"}),
        ("platform", [1, 2]), ("platform", "\\u00e9\\n"), ("extra", 1e5), ("extra", -0.5),
        ("extra", True), ("extra", None),
    ]:  # fmt: skip
        yield _line({**event, key: value})
    for drop in ("userid", "event_ts", "event_type", "amount_purchased", "guild_name", "level"):
        if drop in event:
            yield _line({k: v for k, v in event.items() if k != drop})
    yield text.replace(',"', ', "').replace('":', '" : ').encode()  # JSON whitespace
    yield text.replace('{"', '{"event_type":"find_treasure","', 1).encode()  # tag twice
    yield (text[:-1] + ',"userid":"other"}').encode()  # known key twice
    yield (text[:-1] + ',"extra":"x","extra":1}').encode()  # unknown key twice
    yield (text[:-1] + ",}").encode()  # trailing comma
    yield (text[:-1] + ',"extra":tru}').encode()  # bad literal in an unknown field
    yield (text[:-1] + ',"extra":01}').encode()  # leading zero in an unknown field
    yield (text[:-1] + ',"extra":"\\x"}').encode()  # bad escape in an unknown field
    yield (text[:-1] + ',"e\\u0078tra":1}').encode()  # escaped key
    yield (text + " ").encode()
    yield (text + " {}").encode()
    if "level" in event:
        partial = {k: v for k, v in event.items() if k != "attack"}
        yield _line(partial)
    cut = rng.randrange(1, len(line))
    yield line[:cut]


@needs_native
@pytest.mark.parametrize("seed", [5, 6])
def test_mutations_match(seed: int) -> None:
    # GIVEN one generated event of each type and ~80 mutations of each
    rng = random.Random(seed)
    by_type: dict[str, dict[str, Any]] = {}
    for event in _generated(400, seed=seed):
        by_type.setdefault(event["event_type"], event)
    by_type["enemy_attack_stats"] = {
        **by_type["enemy_attack"],
        "level": 3,
        "attack": 4,
        "defense": 5,
        "health": 6,
    }
    natively = 0
    for event in by_type.values():
        for line in _mutations(event, rng):
            # THEN each mutated line alone, and in a chunk with a valid line, gives the
            # same verdict, reason and rows both ways
            natively += _same([_rec(line)])
            _same([_rec(_line(event) + b"\n" + line)])
    # AND the native decoder did accept a good share of them (not a vacuous comparison)
    assert natively > 50
