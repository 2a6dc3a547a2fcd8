"""Pure parts of the consumer: record decoding (one call per chunk vs the contract line by
line), dedupe, routing, timestamps, partitions, keys."""

from __future__ import annotations

import base64
import json
import random
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import msgspec
import numpy as np
import pyarrow as pa
import pytest

from chalicelib.consumer.classify import tables_for
from chalicelib.consumer.columns import TableRows, build_tables, split_by_dt, timestamps
from chalicelib.consumer.decode import (
    EVENT_ID_NAMESPACE,
    KinesisRecord,
    assign_ids_and_dedupe,
    decode_batch,
    parse_records,
)
from chalicelib.consumer.writer import batch_key
from chalicelib.contract import ValidationFailure, check_line, decode_event
from chalicelib.settings import Settings
from gamepipe.generator import generate_events

EVENTS_DIR = Path(__file__).resolve().parents[1] / "events"
VALID = sorted((EVENTS_DIR / "valid").glob("*.json"))
INVALID = sorted((EVENTS_DIR / "invalid").glob("*.json"))


def _line(path: Path) -> bytes:
    return json.dumps(json.loads(path.read_text()), separators=(",", ":")).encode()


ARRIVAL = 1628222935.0  # 2021-08-06T04:08:55Z, the day the fixtures' events happen


def _rec(data: bytes, seq: int = 1, shard: str = "shardId-000000000000") -> KinesisRecord:
    return KinesisRecord(shard, f"{seq:020d}", data, ARRIVAL)


def _ev(etype: str = "find_treasure", **kw: object) -> bytes:
    return json.dumps(
        {"event_type": etype, "userid": "u1", "event_ts": "2021-08-06T00:00:00Z", **kw}
    ).encode()


def test_parse_records_reads_lambda_shape() -> None:
    # GIVEN a Lambda Kinesis record (base64 data, eventID with the shard)
    data = base64.b64encode(b"x").decode()
    kinesis = {"sequenceNumber": "42", "data": data, "approximateArrivalTimestamp": 1.5}
    event = {"Records": [{"kinesis": kinesis, "eventID": "shardId-7:42"}]}
    # WHEN parsed
    (rec,) = parse_records(event)
    # THEN data is decoded and shard/sequence/arrival kept
    assert (rec.shard_id, rec.sequence_number) == ("shardId-7", "42")
    assert (rec.data, rec.arrival) == (b"x", 1.5)


def test_single_and_multi_event_records_align_records_and_lines() -> None:
    # GIVEN a single-event record without newline and a 3-event NDJSON record with a
    # trailing newline
    recs = [_rec(_ev()), _rec(b"\n".join([_ev(), _ev(), _ev()]) + b"\n", seq=2)]
    # WHEN decoded
    batch = decode_batch(recs)
    # THEN four events, each knowing its record and line
    assert len(batch.events) == 4 and not batch.dead_letters
    assert batch.record_index == [0, 1, 1, 1]
    assert batch.line_index == [0, 0, 1, 2]


def test_bad_line_is_dead_lettered_alone_and_neighbours_land() -> None:
    # GIVEN a record whose middle line breaks the contract and a blank line
    data = b"\n".join([_ev(), _ev("level_up"), b"", _ev("defeat_enemy")])
    # WHEN decoded
    batch = decode_batch([_rec(data)])
    # THEN the bad line is a dead letter with the contract's reason; blank lines are skipped
    assert [type(e).__name__ for e in batch.events] == ["FindTreasure", "DefeatEnemy"]
    assert batch.line_index == [0, 3]
    (dead,) = batch.dead_letters
    assert (dead.record, dead.line, dead.data) == (0, 1, _ev("level_up"))
    assert "level" in dead.reason


def test_payload_column_is_each_line_as_received_across_records() -> None:
    # GIVEN records of several lines, with non-ASCII text and a trailing newline
    lines = [[_ev(description="é1"), _ev(description="2")], [_ev(description="ü3")],
             [_ev(description="4"), _ev(description="5"), _ev(description="6")]]  # fmt: skip
    recs = [_rec(b"\n".join(ls) + b"\n", seq=i) for i, ls in enumerate(lines)]
    # WHEN decoded (in one call: every line an event)
    batch = decode_batch(recs)
    # THEN the payload of each event is its line, byte for byte, with its record/line
    assert batch.payloads == [ln for ls in lines for ln in ls]
    assert batch.record_index == [0, 0, 1, 2, 2, 2]
    assert batch.line_index == [0, 1, 0, 0, 1, 2]


def test_line_with_leading_space_decodes_as_in_the_contract() -> None:
    # GIVEN a line indented by a space (the one-call path only takes lines starting with `{`)
    data = _ev(description="a") + b"\n " + _ev(description="b")
    # WHEN decoded
    batch = decode_batch([_rec(data)])
    # THEN both events land, the payload kept as received
    assert [e.description for e in batch.events] == ["a", "b"]  # type: ignore[attr-defined]
    assert batch.payloads[1] == b" " + _ev(description="b")
    assert not batch.dead_letters and batch.line_index == [0, 1]


def test_two_values_on_one_line_do_not_shift_alignment() -> None:
    # GIVEN a line with two comma-separated objects (valid inside a JSON array!)
    data = _ev() + b"," + _ev()
    # WHEN decoded
    batch = decode_batch([_rec(data)])
    # THEN it is not taken as two events
    assert batch.events == [] and len(batch.dead_letters) == 1


def test_two_values_on_a_line_and_a_blank_line_cannot_cancel_out() -> None:
    # GIVEN a line holding two events and a blank line: as many values as lines
    data = _ev(description="a") + b" " + _ev(description="b") + b"\n \n" + _ev(description="c")
    # WHEN decoded
    batch = decode_batch([_rec(data)])
    # THEN nothing is misaligned: the double line is dead-lettered, the last line kept
    assert [e.description for e in batch.events] == ["c"]  # type: ignore[attr-defined]
    assert batch.line_index == [2]
    assert batch.payloads == [_ev(description="c")]
    assert [(d.line, d.data[-10:]) for d in batch.dead_letters] == [(0, data.split(b"\n")[0][-10:])]


def _agrees_with_the_contract(line: bytes) -> None:
    """The consumer's verdict and reason on ``line``, alone and between two valid events,
    are the contract's (``check_line``), and an accepted event is the contract's."""
    try:
        expected, reason = check_line(line, datetime.fromtimestamp(ARRIVAL, UTC)), ""
    except ValidationFailure as exc:
        expected, reason = None, str(exc)
    alone = decode_batch([_rec(line)])
    mixed = decode_batch([_rec(b"\n".join([_ev(), line, _ev()]))])
    if expected is None:
        assert alone.events == [] and alone.dead_letters[0].reason == reason, line
        assert len(mixed.events) == 2 and mixed.dead_letters[0].reason == reason, line
        assert (mixed.dead_letters[0].line, mixed.line_index) == (1, [0, 2])
    else:
        assert not alone.dead_letters and len(mixed.events) == 3, line
        assert msgspec.to_builtins(alone.events[0]) == msgspec.to_builtins(expected)


@pytest.mark.parametrize("path", VALID + INVALID, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_consumer_accepts_exactly_what_the_contract_accepts(path: Path) -> None:
    # GIVEN a stored event fixture, valid or not
    # WHEN the consumer decodes it THEN the verdict (and the reason) is the contract's
    _agrees_with_the_contract(_line(path))


_UUID = "00000000-0000-4000-8000-00000000000"
TRICKY = ["", "a", "user-1", "user-1\n", "\nuser", "-user", "_u", "us er", "üser", "user\x00",
          "u" * 128, "u" * 129, "User.Name:1@x-y_z", _UUID + "1", _UUID + "A", _UUID + "g",
          _UUID + "1\n", _UUID, _UUID + "11", "000000000-000-4000-8000-000000000001",
          _UUID + "é", "0" * 37]  # fmt: skip


@pytest.mark.parametrize("field", ["userid", "event_id"])
def test_pattern_edge_cases_get_the_contracts_verdict(field: str) -> None:
    # GIVEN values at the edges of the userid and event_id patterns (a trailing newline:
    # Python's `$` would match before it, so the contract anchors with `\Z`), and
    # random ones over a mixed alphabet
    rng = random.Random(7)
    alphabet = "aZ09-_.:@ \n\x00é/gG"
    randoms = ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 40))) for _ in range(60)]
    uuids = ["".join(rng.choice("0123456789abcdefABCDEF-g") for _ in range(36)) for _ in range(60)]
    # WHEN each is decoded by the consumer THEN the verdict and reason are the contract's
    for value in TRICKY + randoms + uuids:
        _agrees_with_the_contract(_ev(**{field: value}))


def _mutations(event: dict[str, Any], rng: random.Random) -> Iterator[bytes]:
    """Lines near ``event`` at the edges of the contract (most of them break it)."""
    line = json.dumps(event, separators=(",", ":")).encode()
    text = line.decode()
    ts = event["event_ts"]
    for key, value in [
        ("userid", 5), ("userid", None), ("userid", "a b"), ("userid", "\u0041bc"),
        ("event_id", "not-a-uuid"), ("event_id", None), ("description", None),
        ("description", "x" * 1025), ("description", "tab\there"), ("host", None),
        ("app_version", "v" * 65), ("received_at", None), ("item_type", "bow"),
        ("item_type", None), ("amount_purchased", 0), ("amount_purchased", 1.0),
        ("amount_purchased", "3"), ("amount_purchased", True), ("price", -1), ("price", None),
        ("level", 0), ("level", 10_001), ("level", None), ("attack", 2**63), ("health", -0.0),
        ("guild_name", ""), ("guild_name", None), ("event_type", "dance"), ("event_type", None),
        ("event_ts", ts.replace("T", "t")), ("event_ts", ts.replace("T", " ")),
        ("event_ts", ts.rstrip("Z")), ("event_ts", ts.replace("Z", "+05:30")),
        ("event_ts", ts.replace("Z", "-00:00")), ("event_ts", ts.replace("Z", ".1234567Z")),
        ("event_ts", "2021-02-29T00:00:00Z"), ("event_ts", "2021-08-06T24:00:00Z"),
        ("event_ts", "2021-08-06T23:59:60Z"), ("event_ts", "0001-01-01T00:00:00+01:00"),
        ("event_ts", 1628208000), ("platform", {"os": "ios"}), ("platform", [1, 2]),
        ("extra", 1e5), ("extra", None),
    ]:  # fmt: skip
        yield json.dumps({**event, key: value}, separators=(",", ":")).encode()
    for drop in ("userid", "event_ts", "event_type", "amount_purchased", "guild_name", "level"):
        if drop in event:
            yield json.dumps({k: v for k, v in event.items() if k != drop}).encode()
    yield text.replace(',"', ', "').replace('":', '" : ').encode()  # JSON whitespace
    yield text.replace('{"', '{"event_type":"find_treasure","', 1).encode()  # tag twice
    yield (text[:-1] + ',"userid":"other"}').encode()  # known key twice
    yield (text[:-1] + ",}").encode()  # trailing comma
    yield (text[:-1] + ',"extra":tru}').encode()  # bad literal in an unknown field
    yield (text[:-1] + ',"extra":"\\x"}').encode()  # bad escape in an unknown field
    yield (text + " ").encode()
    yield (text + " {}").encode()
    if "level" in event:
        yield json.dumps({k: v for k, v in event.items() if k != "attack"}).encode()
    yield line[: rng.randrange(1, len(line))]


def test_mutated_generated_events_get_the_contracts_verdict() -> None:
    # GIVEN one generated event of each type (enemy_attack with and without stats) and
    # ~60 mutations of each aimed at types, nulls, lengths, literals, timestamps,
    # duplicate keys, unknown fields, two values on a line and truncation
    rng = random.Random(5)
    by_type: dict[str, dict[str, Any]] = {}
    for event in generate_events(40, 400, seed=5):
        by_type.setdefault(event["event_type"], dict(event))
    stats = {"level": 3, "attack": 4, "defense": 5, "health": 6}
    by_type["enemy_attack_stats"] = {**by_type["enemy_attack"], **stats}
    # WHEN the consumer decodes each THEN the verdict and reason are the contract's
    for event in by_type.values():
        for line in _mutations(event, rng):
            _agrees_with_the_contract(line)


def test_non_utf8_line_is_dead_lettered_even_in_an_unknown_field() -> None:
    # GIVEN invalid UTF-8 inside a field the contract ignores
    line = _ev()[:-1] + b',"extra":"\xff"}'
    # WHEN decoded
    batch = decode_batch([_rec(_ev() + b"\n" + line)])
    # THEN only that line is refused, as not UTF-8 (its payload could not be a string)
    assert len(batch.events) == 1
    assert batch.dead_letters[0].reason.startswith("not valid UTF-8")


def test_missing_ids_are_deterministic_and_duplicates_keep_the_first() -> None:
    # GIVEN two events without id and a repeated id across records
    dup = "00000000-0000-4000-8000-000000000001"
    recs = [_rec(_ev() + b"\n" + _ev(), seq=5), _rec(_ev(event_id=dup, description="first")),
            _rec(_ev(event_id=dup, description="second"))]  # fmt: skip
    # WHEN decoded twice (a redelivery)
    a = assign_ids_and_dedupe(decode_batch(recs))
    b = assign_ids_and_dedupe(decode_batch(recs))
    # THEN missing ids are UUIDv5(shard:sequence:line), the same both times
    name = f"shardId-000000000000:{5:020d}:1"
    a_ids, b_ids = [e.event_id for e in a.events], [e.event_id for e in b.events]
    assert a_ids[1] == str(uuid.uuid5(EVENT_ID_NAMESPACE, name))
    assert a_ids == b_ids and a_ids[0] != a_ids[1]
    # AND the duplicate is dropped, the first occurrence kept
    assert a.duplicates == 1 and len(a.events) == 3
    assert a.events[2].description == "first"  # type: ignore[attr-defined]


def test_repeated_ids_keep_each_first_occurrence_in_order() -> None:
    # GIVEN ids a b a c b a in one record
    ids = [f"00000000-0000-4000-8000-00000000000{c}" for c in "121321"]
    recs = [_rec(b"\n".join(_ev(event_id=i, description=str(n)) for n, i in enumerate(ids)))]
    # WHEN deduplicated
    batch = assign_ids_and_dedupe(decode_batch(recs))
    # THEN the first a, b and c are kept, in batch order
    assert [e.description for e in batch.events] == ["0", "1", "3"]  # type: ignore[attr-defined]
    assert batch.line_index == [0, 1, 3] and batch.duplicates == 3
    assert [e.event_id for e in batch.events] == [ids[0], ids[1], ids[3]]
    assert batch.payloads == [recs[0].data.split(b"\n")[n] for n in (0, 1, 3)]


def test_duplicates_across_chunks_of_one_batch_are_dropped() -> None:
    # GIVEN the same id in two chunks of a batch
    dup = "00000000-0000-4000-8000-000000000002"
    recs = [_rec(_ev(event_id=dup)), _rec(_ev(event_id=dup), seq=2)]
    seen: set[str] = set()
    # WHEN each chunk is decoded with the shared set of seen ids
    first = assign_ids_and_dedupe(decode_batch(recs, 0, 1), seen)
    second = assign_ids_and_dedupe(decode_batch(recs, 1, 2), seen)
    # THEN the second chunk's copy is a duplicate
    assert len(first.events) == 1 and second.events == [] and second.duplicates == 1
    assert second.record_index == [] and second.payloads == []


@pytest.mark.parametrize(
    ("etype", "extra", "tables"),
    [
        ("purchase_potion", {"amount_purchased": 1, "price": 1}, ["events", "purchase_events"]),
        ("join_guild", {"guild_name": "g"}, ["events", "guild_events"]),
        ("find_treasure", {}, ["events", "character_events"]),
        ("defeat_enemy", {}, ["events", "character_events"]),
        ("enemy_attack", {}, ["events", "character_events"]),
        ("enemy_attack", {"level": 1, "attack": 1, "defense": 1, "health": 1},
         ["events", "character_events", "character_stats"]),
        ("take_potion", {"level": 1, "attack": 1, "defense": 1, "health": 1},
         ["events", "character_stats"]),
        ("level_up", {"level": 1, "attack": 1, "defense": 1, "health": 1},
         ["events", "character_stats"]),
    ],
)  # fmt: skip
def test_routing(etype: str, extra: dict[str, object], tables: list[str]) -> None:
    # GIVEN an event WHEN classified THEN it lands in the documented tables
    assert list(tables_for(decode_event(_ev(etype, **extra)))) == tables


def test_grouped_rows_keep_every_column_aligned_with_its_line_and_record() -> None:
    # GIVEN one chunk mixing every event type (enemy_attack with and without stats),
    # a resend and records of several lines, each line with its own id and description
    stats = {"level": 2, "attack": 3, "defense": 4, "health": 5}
    buy = {"amount_purchased": 2, "price": 7}
    kinds: list[tuple[str, dict[str, object]]] = [
        ("purchase_sword", buy), ("enemy_attack", stats), ("join_guild", {"guild_name": "g"}),
        ("find_treasure", {}), ("enemy_attack", {}), ("level_up", stats),
        ("purchase_potion", buy), ("defeat_enemy", {}), ("take_potion", stats),
        ("purchase_shield", buy),
    ]  # fmt: skip
    lines = [
        _ev(etype, description=f"d{n}", event_id=f"00000000-0000-4000-8000-{n:012d}", **extra)
        for n, (etype, extra) in enumerate(kinds * 3)
    ]
    lines.insert(7, lines[2])  # a resend of line 2, dropped as a duplicate
    recs = [_rec(b"\n".join(lines[i : i + 4]), seq=i) for i in range(0, len(lines), 4)]
    # WHEN decoded, deduplicated and built into tables
    tables = build_tables(assign_ids_and_dedupe(decode_batch(recs)))
    # THEN each row's typed columns, payload and source record belong to the same line
    sent = {e["event_id"]: e for e in map(json.loads, lines)}
    owner: dict[str, int] = {}  # event_id -> first record holding it (the kept copy)
    for r, rec in enumerate(recs):
        for ln in rec.data.split(b"\n"):
            owner.setdefault(json.loads(ln)["event_id"], r)
    assert tables["events"].table.num_rows == len(sent)
    raw = tables["events"].table.to_pydict()
    payloads = dict(zip(raw["event_id"], raw["payload"], strict=True))
    for name, rows in tables.items():
        got = rows.table.to_pylist()
        for row, record in zip(got, rows.record.tolist(), strict=True):
            event = sent[row["event_id"]]
            assert json.loads(payloads[row["event_id"]]) == event
            assert owner[row["event_id"]] == record
            for col, value in row.items():
                if col in event and col != "event_ts":  # timestamps: a test of their own
                    assert value == event[col], (name, col)
        # AND every table holds exactly the events routed to it
        routed = [
            eid
            for eid, e in sent.items()
            if name in tables_for(decode_event(json.dumps(e).encode()))
        ]
        assert sorted(r["event_id"] for r in got) == sorted(routed)


def test_timestamps_normalise_offsets_to_utc_without_zone() -> None:
    # GIVEN tz-aware datetimes with different offsets (and a missing one)
    event = decode_event(_ev(event_ts="2021-08-06T23:30:00.25-02:00"))
    # WHEN converted
    arr = timestamps([event.event_ts, None])
    # THEN UTC wall time, microseconds, no zone; None stays null
    assert arr.type == pa.timestamp("us")
    assert [str(v) for v in arr.to_pylist()] == ["2021-08-07 01:30:00.250000", "None"]


def test_split_by_dt_groups_rows_and_records() -> None:
    # GIVEN rows on two dates
    dt = pa.array([date(2021, 8, 7), date(2021, 8, 6), date(2021, 8, 7)], pa.date32())
    rows = TableRows(pa.table({"x": [1, 2, 3]}), dt, np.array([0, 1, 2]))
    # WHEN split
    parts = split_by_dt(rows)
    # THEN one part per date, in date order, rows and records kept together
    assert [(d, t.column("x").to_pylist(), r.tolist()) for d, t, r in parts] == [
        ("2021-08-06", [2], [1]),
        ("2021-08-07", [1, 3], [0, 2]),
    ]


def test_batch_key_is_deterministic() -> None:
    # GIVEN a batch's shard and first sequence number WHEN keyed THEN the layout is fixed
    key = batch_key(Settings(), "events", "2021-08-06", "shardId-000000000001", "123")
    assert key == "tables/events/dt=2021-08-06/shardId-000000000001-123.parquet"


@pytest.mark.parametrize(
    "tail",
    [
        b',"r\\u0065ceived_at":"2021-08-06T00:00:01Z"}',  # a server field in disguise
        b',"blob":"' + b"b" * 9000 + b'"}',  # unknown fields over 8 KiB
        b',"extra":"\xff"}',  # not UTF-8
    ],
)
def test_the_consumer_dead_letters_what_the_api_rejects_with_the_same_reason(tail: bytes) -> None:
    # GIVEN an event line breaking one of the contract's byte rules, and one dated too far
    # back, next to valid lines (as if put on the stream another way)
    from chalicelib.ingest import ClientInfo, ingest_events
    from tests.helpers_ingest import FakeKinesis

    bad = _ev()[:-1] + tail
    old = _ev(event_ts="2021-06-01T00:00:00Z")  # 66 days before the record's arrival
    # WHEN the consumer decodes them, and the API gets the same bytes at that arrival time
    batch = decode_batch([_rec(b"\n".join([_ev(), bad, old, _ev()]))])
    body = b'{"events":[' + bad + b"," + old + b"]}"
    api = ingest_events(body, ClientInfo(application_id="a"), Settings(), FakeKinesis(),
                       now=datetime.fromtimestamp(ARRIVAL, UTC))  # fmt: skip
    # THEN both refuse both, with the same reasons; the valid neighbours land
    assert len(batch.events) == 2
    assert [d.reason for d in batch.dead_letters] == [r["reason"] for r in api.rejected]
    assert api.accepted == 0 and len(api.rejected) == 2
