"""The ``CREATE EXTERNAL TABLE`` statement of each lake table, for people and Athena's console.

Nothing runs it: the consumer, ``gamepipe stack up`` and the demo create the tables through
Glue's API (``chalicelib.glue_catalog``). It is written from the same Glue ``TableInput``, so
the statement and the catalog cannot disagree: columns and types (``chalicelib/tables.py``,
with the seed tables' trailing ``compacted boolean``), the ``dt`` partition key, Parquet,
the location under ``settings.tables_root`` and the compression. Keeps the seed's names.
``gamepipe schema --ddl`` prints them.
"""

from __future__ import annotations

from chalicelib.glue_catalog import table_input
from chalicelib.settings import Settings
from chalicelib.tables import TABLES


def render_ddl(table: str, settings: Settings) -> str:
    """The CREATE EXTERNAL TABLE statement of ``table`` with its S3 location filled in."""
    spec = TABLES[table]
    glue = table_input(spec, settings)
    storage = glue["StorageDescriptor"]
    columns = ",\n".join(f"    {c['Name']:<18} {c['Type']}" for c in storage["Columns"])
    keys = ", ".join(f"{k['Name']} {k['Type']}" for k in glue["PartitionKeys"])
    return (
        f"-- Table {spec.name}: {spec.description}\n"
        f"-- Event types: {', '.join(spec.event_types)}."
        " Partitioned by dt = the event's UTC date (YYYY-MM-DD).\n"
        f"CREATE EXTERNAL TABLE IF NOT EXISTS {spec.name} (\n{columns}\n)\n"
        f"PARTITIONED BY ({keys})\n"
        "STORED AS PARQUET\n"
        f"LOCATION '{storage['Location']}'\n"
        f"TBLPROPERTIES ('parquet.compression' = '{glue['Parameters']['parquet.compression']}')"
    )
