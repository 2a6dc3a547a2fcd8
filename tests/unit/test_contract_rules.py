"""The contract's byte and time rules: UTF-8 anywhere, keys in disguise, bounded unknown
fields, the event-time window; and the stream-line verdict both sides share."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from chalicelib.contract import (
    Limits,
    ValidationFailure,
    check_line,
    decode_event,
    raw_problem,
    utf8_problem,
    window_problem,
)
from chalicelib.contract.rules import PROTECTED_KEYS, unknown_bytes

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


def _raw(**extra: object) -> bytes:
    event = {"event_type": "find_treasure", "userid": "u1", "event_ts": "2026-11-28T11:00:00Z"}
    return json.dumps({**event, **extra}, ensure_ascii=False).encode()


def test_invalid_utf8_anywhere_is_named_with_its_position() -> None:
    # GIVEN bytes that are not UTF-8 inside an unknown field (msgspec would skip them)
    raw = _raw()[:-1] + b',"extra":"\xff\xfe"}'
    # THEN the rule names it; valid UTF-8 and plain ASCII pass
    assert utf8_problem(raw) == f"not valid UTF-8: invalid start byte at byte {len(_raw()) + 9}"
    assert utf8_problem(_raw(extra="héllo")) is None and utf8_problem(_raw()) is None


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("r\\u0065ceived_at", '"2026-11-28T11:00:00Z"'),  # JSON escape, a valid value
        ("\\u0061pplication_id", '"forged"'),
        ("b\\u0061ckfill", "true"),
        ("l\\u0065vel", "10000"),  # a field of another event type, escaped
        ("ｌｅｖｅｌ", "1"),  # fullwidth letters: NFKC folds them to "level"
        ("userid\\u0000", '"x"'),  # not a disguise of userid: passes (see below)
    ],
)
def test_a_key_spelling_a_field_in_disguise_is_rejected(key: str, value: str) -> None:
    # GIVEN an event with a key that normalises to a contract field
    raw = _raw()[:-1] + f',"{key}":{value}}}'.encode()
    if "\\u0000" in key:  # "userid\0" normalises to itself: an ordinary unknown key
        assert raw_problem(raw, decode_event(raw)) is None
        return
    # WHEN the rules run on the typed-valid event
    reason = raw_problem(raw, decode_event(raw))
    # THEN it is refused, quoting the key as written
    assert reason is not None and "spells the field" in reason and key.split("\\")[0] in reason


def test_plain_escapes_and_unicode_keys_that_are_not_fields_are_fine() -> None:
    # GIVEN escapes in values and a non-field key, and an escaped non-field key
    raw = _raw(description='say "hi"\n', café=1)
    raw2 = _raw()[:-1] + b',"caf\\u00e9":1,"nested":{"note":"\\u00e9"}}'
    # THEN nothing is refused
    assert raw_problem(raw, decode_event(raw)) is None
    assert raw_problem(raw2, decode_event(raw2)) is None
    assert {"received_at", "application_id", "backfill", "level", "event_type"} <= PROTECTED_KEYS


def test_unknown_fields_are_capped_per_event_not_known_ones() -> None:
    # GIVEN a cap of 100 bytes of unknown fields
    limits = Limits(max_unknown_bytes=100)
    small = _raw(extra="x" * 80)  # key 5 + value 82 = 87 bytes
    big = _raw(extra="x" * 80, more=1)  # + key 4 + value 1 = 92... still under
    over = _raw(extra="x" * 80, more="y" * 10)  # 87 + 4 + 12 = 103
    known = _raw(description="d" * 1000)  # a known field may be as long as its own limit
    # THEN only the unknown bytes count
    assert unknown_bytes(big, type(decode_event(big))) == 92
    assert raw_problem(small, decode_event(small), limits) is None
    assert raw_problem(big, decode_event(big), limits) is None
    reason = raw_problem(over, decode_event(over), limits)
    assert reason == "unknown fields take 103 bytes; the limit is 100 per event"
    assert raw_problem(known, decode_event(known), limits) is None


@pytest.mark.parametrize(
    ("event_ts", "backfill", "expected"),
    [
        (NOW - timedelta(days=44, hours=23), False, None),
        (NOW - timedelta(days=45, minutes=1), False, "more than 45 days before"),
        (NOW - timedelta(days=45, minutes=1), True, None),  # an application allowed to backfill
        (datetime(1, 1, 1, tzinfo=UTC), False, "more than 45 days before"),
        (NOW + timedelta(hours=23, minutes=59), False, None),
        (NOW + timedelta(days=1, minutes=1), False, "more than 1 day after"),
        (NOW + timedelta(days=1, minutes=1), True, "more than 1 day after"),  # never the future
        (datetime(9999, 12, 31, 23, 59, tzinfo=UTC), False, "more than 1 day after"),
    ],
)
def test_event_time_window(event_ts: datetime, backfill: bool, expected: str | None) -> None:
    # GIVEN the default window (45 days back, 1 day ahead) WHEN an event_ts is checked
    reason = window_problem(event_ts, NOW, backfill=backfill)
    # THEN it is inside or named as outside, with the way to import history
    if expected is None:
        assert reason is None
    else:
        assert reason is not None and expected in reason and event_ts.isoformat() in reason


def test_window_is_configurable() -> None:
    limits = Limits(max_age_days=2, max_future_hours=1)
    assert window_problem(NOW - timedelta(days=3), NOW, limits) is not None
    assert window_problem(NOW + timedelta(minutes=90), NOW, limits) is not None
    assert "1.5 hours" in str(window_problem(NOW + timedelta(hours=3), NOW, Limits(0, 1, 1.5)))


def test_check_line_measures_the_window_from_the_lines_receive_time() -> None:
    # GIVEN an event dated 2021 as the API stamps it (received moments later), and the same
    # event with no server time arriving on the stream today
    old = _raw(event_ts="2021-08-06T03:00:00Z", received_at="2021-08-06T03:00:05Z")
    bare = _raw(event_ts="2021-08-06T03:00:00Z")
    # THEN the stamped line is inside the window, the bare one is not (arrival is today)
    assert check_line(old, NOW).userid == "u1"
    with pytest.raises(ValidationFailure, match="more than 45 days before"):
        check_line(bare, NOW)
    # AND a backfill line is kept, and without any receive time only the byte rules apply
    assert check_line(_raw(event_ts="2021-08-06T03:00:00Z", backfill=True), NOW)
    assert check_line(bare, None).userid == "u1"
    with pytest.raises(ValidationFailure, match="not valid UTF-8"):
        check_line(bare[:-1] + b',"x":"\xff"}', None)
