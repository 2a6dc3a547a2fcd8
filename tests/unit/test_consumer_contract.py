"""The lake's columns match the event contract, derived from the msgspec models' type info."""

from __future__ import annotations

import msgspec
import msgspec.inspect as mi
import pytest

from chalicelib.consumer.classify import tables_for
from chalicelib.consumer.columns import ARROW_TYPES, arrow_schema
from chalicelib.contract.models import EVENT_CLASSES, EventBase
from chalicelib.glue_catalog import table_input
from chalicelib.settings import Settings
from chalicelib.tables import EVENTS, TABLES

DERIVED = {"payload"}  # columns that are not contract fields (the raw line)
# Contract fields with no column: the API's backfill marker lives in payload only (it lifts
# the consumer's event-time window for an application allowed to backfill).
PAYLOAD_ONLY = {"backfill"}
# Catalog-only columns: not contract fields and not in the consumer's batch files
# (compaction writes `compacted = true`; batch files lack it and read as NULL).
MAINTENANCE = {"compacted": "boolean"}


def glue_type(t: mi.Type) -> str:
    """The Glue type a contract field type maps to (Optional[X] -> X)."""
    if isinstance(t, mi.Metadata):
        return glue_type(t.type)
    if isinstance(t, mi.UnionType):
        (inner,) = [x for x in t.types if not isinstance(x, mi.NoneType)]
        return glue_type(inner)
    if isinstance(t, mi.LiteralType) and all(isinstance(v, str) for v in t.values):
        return "string"
    return {
        mi.StrType: "string",
        mi.IntType: "bigint",
        mi.DateTimeType: "timestamp",
        mi.BoolType: "boolean",
    }[type(t)]


def contract_fields(cls: type[EventBase]) -> dict[str, str]:
    """Field name -> Glue type for one event type, the ``event_type`` tag included."""
    info = mi.type_info(cls)
    assert isinstance(info, mi.StructType)
    fields = {f.encode_name: glue_type(f.type) for f in info.fields}
    fields[info.tag_field or "event_type"] = "string"
    return fields


@pytest.mark.parametrize("table", list(TABLES))
def test_every_column_is_a_contract_field_of_every_event_routed_there(table: str) -> None:
    # GIVEN a table and the event types that land in it
    # WHEN each column is looked up in each event type's contract fields
    # THEN it is there with the same Glue type
    for etype in TABLES[table].event_types:
        fields = contract_fields(EVENT_CLASSES[etype])
        for col in TABLES[table].columns:
            if col.name in DERIVED:
                continue
            assert col.name in fields, (table, etype, col.name)
            assert fields[col.name] == col.type, (table, etype, col.name)


@pytest.mark.parametrize("etype", list(EVENT_CLASSES))
def test_every_contract_field_has_a_column_in_a_table_the_event_lands_in(etype: str) -> None:
    # GIVEN an event type with every optional field set (enemy_attack then carries stats)
    cls = EVENT_CLASSES[etype]
    sample = _sample(cls)
    # WHEN the tables it lands in are collected
    tables = [TABLES[name] for name in tables_for(sample)]
    columns = {c.name for t in tables for c in t.columns}
    pending = {c.name for t in tables for c in t.pending}
    # THEN each of its contract fields is a column of one of them (none lives only in
    # payload but the marker), or a pending catalog column the consumer does not write yet
    assert set(contract_fields(cls)) - PAYLOAD_ONLY <= columns | pending


def test_seed_tables_keep_every_field_of_their_event_types_except_envelope_extras() -> None:
    # GIVEN the four seed tables
    # WHEN their event types' fields are compared with their columns
    # THEN only the envelope's client details (kept in `events`) are missing
    envelope_only = {"app_version", "user_agent", "session_id", "platform", *PAYLOAD_ONLY}
    for table in TABLES.values():
        if table.name == EVENTS.name:
            continue
        for etype in table.event_types:
            fields = set(contract_fields(EVENT_CLASSES[etype]))
            if etype == "enemy_attack" and table.name == "character_events":
                fields -= {"level", "attack", "defense", "health"}  # -> character_stats
            assert fields - set(table.column_names) == envelope_only, (table.name, etype)


@pytest.mark.parametrize("table", list(TABLES))
def test_glue_and_arrow_types_agree_with_tables_py(table: str) -> None:
    # GIVEN a table definition
    # WHEN the Glue TableInput and the Arrow schema are derived from it
    t = TABLES[table]
    glue = table_input(t, Settings())
    schema = arrow_schema(t)
    # THEN names, order and types agree (Glue adds only the pending columns the consumer
    # does not write yet and the trailing maintenance column of the seed tables, which no
    # contract field and no batch file has), dt the only key
    glue_columns = [(c["Name"], c["Type"]) for c in glue["StorageDescriptor"]["Columns"]]
    extra = list(MAINTENANCE.items()) if t.name != EVENTS.name else []
    pending = [(c.name, c.type) for c in t.pending]
    assert glue_columns == [(c.name, c.type) for c in t.columns] + pending + extra
    assert [(c.name, c.type) for c in t.catalog_columns] == glue_columns
    assert glue["PartitionKeys"] == [{"Name": "dt", "Type": "string"}]
    assert [(f.name, f.type) for f in schema] == [(c.name, ARROW_TYPES[c.type]) for c in t.columns]


def _sample(cls: type[EventBase]) -> EventBase:
    values = {"string": "x", "bigint": 1, "timestamp": "2021-08-06T00:00:00Z", "boolean": True}
    obj: dict[str, object] = {}
    info = mi.type_info(cls)
    assert isinstance(info, mi.StructType)
    for f in info.fields:
        if f.encode_name == "event_id":
            obj[f.encode_name] = "00000000-0000-4000-8000-000000000001"
        elif isinstance(f.type, mi.LiteralType):
            obj[f.encode_name] = f.type.values[0]
        else:
            obj[f.encode_name] = values[glue_type(f.type)]
    obj["event_type"] = info.tag
    return msgspec.convert(obj, cls)
