"""Query results the way Athena hands them out: type names, text cells, CSV, Glue columns.

Athena's GetQueryResults returns every value as text (``VarCharValue``; NULL has none) with
``ResultSetMetadata.ColumnInfo`` naming Athena (Trino) types, and writes ``<id>.csv`` with
every non-NULL value double-quoted and NULL as an empty field. awswrangler parses both back
using the column types, so the names and the text forms below are what it expects.
"""

from __future__ import annotations

import csv
import datetime as dt
import decimal
import io
import math
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import pyarrow as pa

Cell = str | None
# Precision Athena reports per type (ColumnInfo.Precision); decimals carry their own.
_PRECISION = {
    "varchar": 2147483647,
    "bigint": 19,
    "integer": 10,
    "smallint": 5,
    "tinyint": 3,
    "double": 17,
    "real": 24,
    "boolean": 0,
    "date": 0,
    "timestamp": 3,
    "varbinary": 2147483647,
}


def _is_text(t: pa.DataType) -> bool:
    return bool(pa.types.is_string(t) or pa.types.is_large_string(t))


def _is_bytes(t: pa.DataType) -> bool:
    return bool(pa.types.is_binary(t) or pa.types.is_large_binary(t))


# (test, Athena's name, Glue's name) of the scalar types, tried in order.
_SCALARS: tuple[tuple[Callable[[pa.DataType], bool], str, str], ...] = (
    (_is_text, "varchar", "string"),
    (pa.types.is_boolean, "boolean", "boolean"),
    (pa.types.is_int8, "tinyint", "tinyint"),
    (pa.types.is_int16, "smallint", "smallint"),
    (pa.types.is_int32, "integer", "int"),
    (pa.types.is_integer, "bigint", "bigint"),
    (pa.types.is_float64, "double", "double"),
    (pa.types.is_floating, "real", "float"),
    (pa.types.is_date, "date", "date"),
    (pa.types.is_timestamp, "timestamp", "timestamp"),
    (_is_bytes, "varbinary", "binary"),
)


def _scalar(t: pa.DataType) -> tuple[str, str] | None:
    return next(((athena, glue) for test, athena, glue in _SCALARS if test(t)), None)


def athena_type(t: pa.DataType) -> str:
    """The Athena (Trino) type name of an Arrow type, as ColumnInfo.Type spells it."""
    scalar = _scalar(t)
    if scalar is not None:
        return scalar[0]
    if pa.types.is_decimal(t):
        return "decimal"
    if pa.types.is_list(t) or pa.types.is_large_list(t):
        return "array"
    if pa.types.is_map(t):
        return "map"
    if pa.types.is_struct(t):
        return "row"
    return "unknown" if pa.types.is_null(t) else "varchar"


def column_info(schema: pa.Schema) -> list[dict[str, Any]]:
    """ResultSetMetadata.ColumnInfo for a result schema."""
    info = []
    for f in schema:
        name = athena_type(f.type)
        precision = f.type.precision if pa.types.is_decimal(f.type) else _PRECISION.get(name, 0)
        info.append(
            {
                "CatalogName": "hive",
                "SchemaName": "",
                "TableName": "",
                "Name": f.name,
                "Label": f.name,
                "Type": name,
                "Precision": precision,
                "Scale": f.type.scale if pa.types.is_decimal(f.type) else 0,
                "Nullable": "UNKNOWN",
                "CaseSensitive": name == "varchar",
            }
        )
    return info


def cells(table: pa.Table) -> list[list[Cell]]:
    """Every row of ``table`` as Athena's text cells (None for NULL)."""
    columns = [[text(v) for v in col.to_pylist()] for col in table.columns]
    return [list(row) for row in zip(*columns, strict=True)] if columns else []


def text(value: Any) -> Cell:
    """Athena's text form of one value (None for NULL)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return java_double(value)
    if isinstance(value, dt.datetime):
        return value.replace(tzinfo=None).isoformat(sep=" ", timespec="milliseconds")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, bytes):
        return " ".join(f"{b:02x}" for b in value)
    if isinstance(value, list):
        return "[" + ", ".join(_nested(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}={_nested(v)}" for k, v in value.items()) + "}"
    if isinstance(value, decimal.Decimal):
        return format(value, "f")
    return str(value)


def _nested(value: Any) -> str:
    shown = text(value)
    return "null" if shown is None else shown


def java_double(value: float) -> str:
    """A double as Trino prints it (Java's Double.toString): 3.5, 1.0E7, 1.0E-4, NaN."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    if value == 0:
        return "-0.0" if math.copysign(1.0, value) < 0 else "0.0"
    if 1e-3 <= abs(value) < 1e7:
        shown = repr(value)
        return shown if ("." in shown or "e" in shown) else shown + ".0"
    # Shortest round-trip digits, written as d.dddE<exp>.
    sign, digits, exponent = decimal.Decimal(repr(value)).as_tuple()
    figures = "".join(map(str, digits)).rstrip("0") or "0"
    power = len(digits) + int(exponent) - 1
    mantissa = figures[0] + "." + (figures[1:] or "0")
    return ("-" if sign else "") + f"{mantissa}E{power}"


def csv_bytes(header: Sequence[str], rows: Iterable[Sequence[Cell]]) -> bytes:
    """Athena's result CSV: every value quoted, NULL as an empty unquoted field."""
    buf = io.StringIO()
    buf.write(",".join(_quoted(h) for h in header) + "\n")
    for row in rows:
        buf.write(",".join("" if c is None else _quoted(c) for c in row) + "\n")
    return buf.getvalue().encode("utf-8")


def _quoted(value: str) -> str:
    return '"' + value.replace('"', '""') + '"'


def rows_from_csv(body: bytes) -> list[list[Cell]]:
    """Rows of an Athena result CSV, header included (NULL and '' both read as '')."""
    return [list(r) for r in csv.reader(io.StringIO(body.decode("utf-8")))]


def glue_type(t: pa.DataType) -> str:
    """The Glue (Hive DDL) type a CTAS registers for an Arrow column type."""
    scalar = _scalar(t)
    if scalar is not None:
        return scalar[1]
    if pa.types.is_decimal(t):
        return f"decimal({t.precision},{t.scale})"
    if pa.types.is_list(t) or pa.types.is_large_list(t):
        return f"array<{glue_type(t.value_type)}>"
    if pa.types.is_map(t):
        return f"map<{glue_type(t.key_type)},{glue_type(t.item_type)}>"
    if pa.types.is_struct(t):
        return "struct<" + ",".join(f"{f.name}:{glue_type(f.type)}" for f in t) + ">"
    raise ValueError(f"no Glue type for {t}")
