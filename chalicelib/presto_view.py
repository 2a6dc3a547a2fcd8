"""How Athena stores a view in the Glue catalog, both ways (encode for Glue, decode locally).

A view is a Glue table of type ``VIRTUAL_VIEW`` whose ``ViewOriginalText`` is
``/* Presto View: <base64 of a JSON document> */``; the document holds the SQL, the catalog
and schema it resolves in, and the output columns with Presto types. Athena reads exactly
this (it is what ``CREATE VIEW`` in Athena writes), so a view created here works there.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from dataclasses import dataclass

VIEW_TYPE = "VIRTUAL_VIEW"
EXPANDED_TEXT = "/* Presto View */"
CATALOG = "awsdatacatalog"
_PREFIX = "/* Presto View: "
_SUFFIX = " */"
# Glue/Hive column types -> the Presto (Trino) type names of the view document.
_PRESTO_TYPES = {"string": "varchar", "int": "integer"}


@dataclass(frozen=True)
class PrestoView:
    """A decoded view: its SQL and output columns ``(name, Presto type)``."""

    sql: str
    columns: tuple[tuple[str, str], ...]


def presto_type(glue_type: str) -> str:
    """The Presto name of a Glue/Hive column type (``string`` -> ``varchar``)."""
    t = glue_type.lower()
    return _PRESTO_TYPES.get(t, t.replace("<", "(").replace(">", ")"))


def encode(sql: str, columns: Sequence[tuple[str, str]], database: str) -> str:
    """``ViewOriginalText`` of a view over ``database`` with Glue-typed ``columns``."""
    document = {
        "originalSql": sql,
        "catalog": CATALOG,
        "schema": database,
        "columns": [{"name": name, "type": presto_type(t)} for name, t in columns],
        "owner": "gamepipe",
        "runAsInvoker": False,
    }
    payload = base64.b64encode(json.dumps(document).encode("utf-8")).decode("ascii")
    return f"{_PREFIX}{payload}{_SUFFIX}"


def decode(original_text: str) -> PrestoView:
    """The SQL and columns of a ``ViewOriginalText``; ValueError if it is not a Presto view."""
    text = original_text.strip()
    if not (text.startswith(_PREFIX) and text.endswith(_SUFFIX)):
        raise ValueError("not a Presto view: ViewOriginalText lacks '/* Presto View: ... */'")
    document = json.loads(base64.b64decode(text[len(_PREFIX) : -len(_SUFFIX)]))
    columns = tuple((str(c["name"]), str(c["type"])) for c in document.get("columns", []))
    return PrestoView(str(document["originalSql"]), columns)
