"""The event contract: per-type rules, and the published JSON Schema agreeing with the models."""

from __future__ import annotations

import json

import jsonschema
import pytest

from chalicelib.contract import (
    EVENT_TYPES,
    ValidationFailure,
    decode_event,
    event_type_of,
    validate_event,
)
from gamepipe.commands.schema import SCHEMA_PATH, render_schema
from tests.helpers_ingest import load_events

VALID = load_events("valid")
INVALID = load_events("invalid")

# Why each invalid fixture must fail (a substring of the reason the models give).
EXPECTED_REASON = {
    "quoted_userid": "$.userid",
    "naive_timestamp": "timezone",
    "date_only_timestamp": "$.event_ts",
    "item_type_mismatch": "$.item_type",
    "amount_is_bool": "got `bool`",
    "amount_is_string": "$.amount_purchased",
    "amount_is_float": "got `float`",
    "negative_price": "$.price",
    "zero_amount": "$.amount_purchased",
    "unknown_event_type": "$.event_type",
    "missing_event_type": "`event_type`",
    "missing_userid": "`userid`",
    "missing_event_ts": "`event_ts`",
    "empty_userid": "$.userid",
    "userid_is_number": "$.userid",
    "bad_event_id": "$.event_id",
    "missing_guild_name": "`guild_name`",
    "empty_guild_name": "$.guild_name",
    "level_is_string": "$.level",
    "missing_health": "`health`",
    "enemy_attack_partial_stats": "all of level, attack, defense, health or none",
    "description_not_string": "$.description",
    "not_an_object": "object",
}

# A valid example of each type and the fields it cannot do without.
REQUIRED = {
    "purchase_sword": ("event_type", "userid", "event_ts", "amount_purchased", "price"),
    "purchase_shield": ("event_type", "userid", "event_ts", "amount_purchased", "price"),
    "purchase_potion": ("event_type", "userid", "event_ts", "amount_purchased", "price"),
    "join_guild": ("event_type", "userid", "event_ts", "guild_name"),
    "find_treasure": ("event_type", "userid", "event_ts"),
    "enemy_attack": ("event_type", "userid", "event_ts"),
    "defeat_enemy": ("event_type", "userid", "event_ts"),
    "take_potion": ("event_type", "userid", "event_ts", "level", "attack", "defense", "health"),
    "level_up": ("event_type", "userid", "event_ts", "level", "attack", "defense", "health"),
}
# A wrong-typed value per field: the models reject every one of them.
WRONG_TYPES = {
    "userid": 53,
    "event_ts": 1628219335,
    "event_id": 7,
    "app_version": 1.4,
    "description": ["x"],
    "amount_purchased": "6",
    "price": 1.5,
    "guild_name": {"name": "x"},
    "level": "4",
    "attack": True,
    "defense": None,
    "health": "lots",
}


def _validator() -> jsonschema.Draft202012Validator:
    schema = json.loads(SCHEMA_PATH.read_text())
    return jsonschema.Draft202012Validator(
        schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )


def test_every_event_type_has_a_valid_fixture():
    # GIVEN the fixtures WHEN grouped by type THEN all nine seed events are covered
    assert {ev["event_type"] for ev in VALID.values()} == set(EVENT_TYPES)
    assert len(EVENT_TYPES) == 9


def test_expected_reasons_cover_every_invalid_fixture():
    assert set(EXPECTED_REASON) == set(INVALID)


@pytest.mark.parametrize("name", sorted(VALID))
def test_valid_fixture_passes_both_entry_points(name):
    # GIVEN a valid event WHEN validated as a dict and decoded from bytes
    event = VALID[name]
    typed = validate_event(event)
    decoded = decode_event(json.dumps(event).encode())
    # THEN both agree on the type and the player
    assert event_type_of(typed) == event["event_type"] == event_type_of(decoded)
    assert typed.userid == decoded.userid == event["userid"]


@pytest.mark.parametrize("name", sorted(INVALID))
def test_invalid_fixture_is_rejected_with_reason(name):
    # GIVEN an invalid event WHEN decoded THEN it fails with a reason naming the problem
    with pytest.raises(ValidationFailure) as exc:
        decode_event(json.dumps(INVALID[name]).encode())
    assert EXPECTED_REASON[name] in str(exc.value)
    with pytest.raises(ValidationFailure):
        validate_event(INVALID[name])


@pytest.mark.parametrize(
    ("event_type", "field"), [(t, f) for t, fields in REQUIRED.items() for f in fields]
)
def test_each_required_field_missing_is_rejected(event_type, field):
    # GIVEN a valid event of the type with one required field removed
    base = VALID[event_type]
    event = {k: v for k, v in base.items() if k != field}
    # WHEN validated THEN the reason names the missing field
    with pytest.raises(ValidationFailure, match=f"`{field}`"):
        validate_event(event)


@pytest.mark.parametrize("event_type", sorted(REQUIRED))
def test_wrong_types_are_rejected(event_type):
    base = VALID[event_type]
    fields = [f for f in WRONG_TYPES if f in base or f in REQUIRED[event_type]]
    assert fields  # every type has typed fields to break
    for field in fields:
        # GIVEN one field with the wrong JSON type WHEN validated THEN rejected at that path
        event = {**base, field: WRONG_TYPES[field]}
        with pytest.raises(ValidationFailure, match=rf"\$\.{field}"):
            validate_event(event)


@pytest.mark.parametrize("kind", ["sword", "shield", "potion"])
def test_item_type_must_match_purchase_type(kind):
    # GIVEN a purchase of `kind`
    event = VALID[f"purchase_{kind}"]
    # WHEN item_type is another item THEN rejected; the matching one or none is fine
    other = next(k for k in ("sword", "shield", "potion") if k != kind)
    with pytest.raises(ValidationFailure, match="item_type"):
        validate_event({**event, "item_type": other})
    assert validate_event({k: v for k, v in event.items() if k != "item_type"})
    assert validate_event({**event, "item_type": kind})


def test_unknown_extra_fields_are_accepted_and_kept_raw():
    # GIVEN an event with fields the contract does not know
    event = VALID["extra_fields_kept"]
    raw = json.dumps(event).encode()
    # WHEN decoded THEN it is valid, and the raw bytes (what the API forwards) still hold them
    assert event_type_of(decode_event(raw)) == "defeat_enemy"
    assert json.loads(raw)["boss"] == {"name": "dragon", "hp": 9000}


def test_enemy_attack_stats_all_or_none():
    base = VALID["enemy_attack"]
    assert not validate_event(base).has_stats  # type: ignore[attr-defined]
    assert validate_event(VALID["enemy_attack_with_stats"]).has_stats  # type: ignore[attr-defined]
    with pytest.raises(ValidationFailure, match="all of level"):
        validate_event({**base, "health": 100})


def test_committed_schema_is_current():
    # GIVEN the committed file WHEN the models are rendered again THEN nothing changed
    # (run `gamepipe schema --write` after editing the models)
    assert SCHEMA_PATH.read_text() == render_schema()


def test_schema_is_a_valid_2020_12_schema():
    schema = json.loads(SCHEMA_PATH.read_text())
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator.check_schema(schema)


@pytest.mark.parametrize("name", sorted(VALID))
def test_schema_accepts_valid_fixtures(name):
    errors = list(_validator().iter_errors(VALID[name]))
    assert errors == []


@pytest.mark.parametrize("name", sorted(INVALID))
def test_schema_rejects_invalid_fixtures(name):
    # Every invalid fixture breaks a rule JSON Schema can express (bool/float vs integer,
    # RFC 3339 date-time with offset, patterns, enums, dependentRequired for the stats).
    assert not _validator().is_valid(INVALID[name])


def test_schema_and_models_agree_on_generated_events():
    # GIVEN a varied sample: valid events of every type plus every kind of broken one
    from gamepipe.generator import generate

    sample = list(generate(25, 600, seed=5, bad_fraction=0.3))
    validator = _validator()
    # WHEN each is judged by the published schema and by the models
    for g in sample:
        try:
            validate_event(g.event)
            model_ok = True
        except ValidationFailure:
            model_ok = False
        # THEN both give the same verdict, and it is the one the generator intended
        assert validator.is_valid(g.event) is model_ok, g
        assert model_ok is (g.bad_reason is None), g


@pytest.mark.parametrize("field", ["userid", "event_id"])
def test_trailing_newline_is_not_an_id(field):
    # GIVEN a valid event whose id ends with a newline (Python's `$` would accept it)
    event = dict(VALID[sorted(VALID)[0]])
    event[field] = (event.get(field) or "0b6c3a52-7a3e-4c1e-9f0e-000000000001") + "\n"
    # WHEN validated THEN the contract rejects it, naming the field
    with pytest.raises(ValidationFailure, match=rf"\$\.{field}"):
        validate_event(event)
