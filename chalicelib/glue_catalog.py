"""Glue catalog of the lake: database, the five tables, the views and ``dt`` partitions.

Everything is idempotent: creating what exists is fine, so a cold start (or a replayed
batch) may call it again. Partitions are registered when first written, so data is
queryable without a crawler or ``MSCK REPAIR``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from chalicelib import presto_view
from chalicelib.settings import Settings
from chalicelib.statements import VIEWS, View
from chalicelib.tables import PARTITION_KEY, TABLES, Table

_INPUT_FORMAT = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat"
_OUTPUT_FORMAT = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat"
_SERDE = "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"
_MAX_PARTITIONS_PER_CALL = 100  # BatchCreatePartition limit


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def table_location(settings: Settings, table: str) -> str:
    """s3:// location of a table (its partitions are ``dt=YYYY-MM-DD/`` below it)."""
    return f"{settings.tables_root}/{table}/"


def storage_descriptor(table: Table, location: str) -> dict[str, Any]:
    """Parquet storage descriptor with the table's columns and Glue types."""
    return {
        "Columns": [{"Name": c.name, "Type": c.type} for c in table.catalog_columns],
        "Location": location,
        "InputFormat": _INPUT_FORMAT,
        "OutputFormat": _OUTPUT_FORMAT,
        "Compressed": True,
        "SerdeInfo": {"SerializationLibrary": _SERDE, "Parameters": {"serialization.format": "1"}},
    }


def table_input(table: Table, settings: Settings) -> dict[str, Any]:
    """The Glue ``TableInput`` of a lake table."""
    return {
        "Name": table.name,
        "Description": table.description,
        "TableType": "EXTERNAL_TABLE",
        "Parameters": {
            "classification": "parquet",
            "EXTERNAL": "TRUE",
            "parquet.compression": "SNAPPY",
        },
        "PartitionKeys": [{"Name": PARTITION_KEY, "Type": "string"}],
        "StorageDescriptor": storage_descriptor(table, table_location(settings, table.name)),
    }


def partition_input(table: Table, settings: Settings, dt: str) -> dict[str, Any]:
    """The Glue ``PartitionInput`` of one ``dt`` partition."""
    location = f"{table_location(settings, table.name)}{PARTITION_KEY}={dt}/"
    return {"Values": [dt], "StorageDescriptor": storage_descriptor(table, location)}


def ensure_database(glue: Any, settings: Settings) -> None:
    """Create the Glue database unless it exists."""
    try:
        glue.create_database(DatabaseInput={"Name": settings.glue_database})
    except ClientError as exc:
        if _code(exc) != "AlreadyExistsException":
            raise


def view_input(view: View, settings: Settings) -> dict[str, Any]:
    """The Glue ``TableInput`` of a view, stored the way Athena's ``CREATE VIEW`` stores it."""
    return {
        "Name": view.name,
        "Description": view.title,
        "TableType": presto_view.VIEW_TYPE,
        "Parameters": {"presto_view": "true", "comment": "Presto View"},
        "PartitionKeys": [],
        "ViewOriginalText": presto_view.encode(view.sql(), view.columns, settings.glue_database),
        "ViewExpandedText": presto_view.EXPANDED_TEXT,
        "StorageDescriptor": {
            "Columns": [{"Name": name, "Type": t} for name, t in view.columns],
            "SerdeInfo": {},
        },
    }


def ensure_table(glue: Any, settings: Settings, table: Table) -> None:
    """Create the table, or update it when its columns or partition keys drifted."""
    _ensure(glue, settings, table_input(table, settings), _TABLE_FIELDS)


def ensure_view(glue: Any, settings: Settings, view: View) -> None:
    """Create the view, or update it when its SQL or columns changed."""
    _ensure(glue, settings, view_input(view, settings), _VIEW_FIELDS)


# What makes an existing Glue entry out of date: these fields (key paths) differ.
_TABLE_FIELDS = (
    ("PartitionKeys",),
    ("StorageDescriptor", "Columns"),
    ("StorageDescriptor", "Location"),
)
_VIEW_FIELDS = (("ViewOriginalText",), ("StorageDescriptor", "Columns"))


def _ensure(
    glue: Any, settings: Settings, wanted: dict[str, Any], fields: tuple[tuple[str, ...], ...]
) -> None:
    """Create ``wanted``, or update the existing entry when one of ``fields`` differs."""
    try:
        current = glue.get_table(DatabaseName=settings.glue_database, Name=wanted["Name"])["Table"]
    except ClientError as exc:
        if _code(exc) != "EntityNotFoundException":
            raise
        try:
            glue.create_table(DatabaseName=settings.glue_database, TableInput=wanted)
        except ClientError as exc2:
            if _code(exc2) != "AlreadyExistsException":  # created concurrently
                raise
        return
    if any(_field(current, path) != _field(wanted, path) for path in fields):
        glue.update_table(DatabaseName=settings.glue_database, TableInput=wanted)


def _field(entry: dict[str, Any], path: tuple[str, ...]) -> Any:
    *parents, last = path
    for key in parents:
        entry = entry.get(key) or {}
    return entry.get(last)


def ensure_catalog(glue: Any, settings: Settings) -> None:
    """Create the database, the five tables and the views idempotently."""
    ensure_database(glue, settings)
    for table in TABLES.values():
        ensure_table(glue, settings, table)
    for view in VIEWS:
        ensure_view(glue, settings, view)


class Catalog:
    """The lake's Glue catalog with a per-process cache of what is known to exist."""

    def __init__(self, glue: Any, settings: Settings) -> None:
        self.glue = glue
        self.settings = settings
        self._ready = False
        self._known: set[tuple[str, str]] = set()

    def ensure(self) -> None:
        """Create database and tables once per process (idempotent anyway)."""
        if not self._ready:
            ensure_catalog(self.glue, self.settings)
            self._ready = True

    def register(self, partitions: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
        """Register (table, dt) partitions not yet known; return those that failed.

        Already-existing partitions count as success. A call that fails fails all the
        partitions it carried (the caller has their records redelivered). Raises only if
        the database/tables cannot be ensured.
        """
        self.ensure()
        todo: dict[str, list[str]] = {}
        for table, dt in partitions:
            if (table, dt) not in self._known:
                todo.setdefault(table, []).append(dt)
        failed: list[tuple[str, str]] = []
        for table, dts in todo.items():
            unique = sorted(set(dts))
            for i in range(0, len(unique), _MAX_PARTITIONS_PER_CALL):
                chunk = unique[i : i + _MAX_PARTITIONS_PER_CALL]
                failed.extend((table, dt) for dt in self._create(table, chunk))
        return failed

    def _create(self, table: str, dts: list[str]) -> list[str]:
        inputs = [partition_input(TABLES[table], self.settings, dt) for dt in dts]
        try:
            try:
                resp = self._batch_create(table, inputs)
            except ClientError as exc:
                if _code(exc) != "EntityNotFoundException":
                    raise
                # The table vanished (deleted by hand?): recreate the catalog, retry once.
                self._ready = False
                self.ensure()
                resp = self._batch_create(table, inputs)
        except (ClientError, BotoCoreError):
            return dts  # the caller has these partitions' records redelivered
        failed = set()
        for err in resp.get("Errors", []):
            if err.get("ErrorDetail", {}).get("ErrorCode") != "AlreadyExistsException":
                failed.add(err["PartitionValues"][0])
        for dt in dts:
            if dt not in failed:
                self._known.add((table, dt))
        return sorted(failed)

    def _batch_create(self, table: str, inputs: list[dict[str, Any]]) -> dict[str, Any]:
        return self.glue.batch_create_partition(  # type: ignore[no-any-return]
            DatabaseName=self.settings.glue_database,
            TableName=table,
            PartitionInputList=inputs,
        )
