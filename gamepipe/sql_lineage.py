"""What each registered statement reads and returns, derived from its SQL with sqlglot.

Local tooling: ``chalicelib/athena_sql/statements.toml`` stores the results (Lambda creates
the Glue views from them and sqlglot does not ship), ``tests/unit/test_statements.py``
keeps them equal. ``python -m gamepipe.sql_lineage`` prints the derived values as TOML to
paste into the registry.

A scan is one table source in one SQL scope, after the views are inlined and unused
projections pruned (as Athena and the local engine prune them): its columns, without the
partition key (free in Athena), and whose rows it reads — every row, or, in the
merge-on-read branches, only the days holding compacted rows (``dt NOT IN (...)``) or
only the live days (``dt IN (...)``).
"""

from __future__ import annotations

import sqlglot
from sqlglot import exp
from sqlglot.optimizer.annotate_types import annotate_types
from sqlglot.optimizer.pushdown_projections import pushdown_projections
from sqlglot.optimizer.qualify import qualify
from sqlglot.optimizer.scope import traverse_scope
from sqlglot.schema import MappingSchema

from chalicelib.statements import (
    ALL,
    COMPACTED,
    LIVE,
    STATEMENTS,
    Scan,
    Statement,
    View,
    view_sql,
)
from chalicelib.tables import PARTITION_KEY, TABLES
from gamepipe.athena.translate import inline_views

_DATABASE = "lake"
# sqlglot type -> Glue type name, for the types our views return.
_GLUE_TYPES = {"VARCHAR": "string", "BIGINT": "bigint", "INT": "int", "DOUBLE": "double"}
_GLUE_TYPES |= {"BOOLEAN": "boolean", "TIMESTAMP": "timestamp"}


def _schema() -> MappingSchema:
    columns = {
        t.name: {c.name: ("varchar" if c.type == "string" else c.type) for c in t.catalog_columns}
        | {PARTITION_KEY: "varchar"}
        for t in TABLES.values()
    }
    return MappingSchema({_DATABASE: columns}, dialect="athena")


def _qualified(statement: Statement) -> exp.Expr:
    """The statement's tree with views inlined, columns qualified, unused outputs pruned."""
    tree = sqlglot.parse_one(statement.sql(), read="athena")
    inline_views(tree, view_sql(), _DATABASE)
    tree = qualify(tree, schema=_schema(), dialect="athena", db=_DATABASE)
    return pushdown_projections(tree)


def derived_scans(statement: Statement) -> tuple[Scan, ...]:
    """Every read of a lake table the statement makes, in the order the SQL reads them."""
    scans = []
    for scope in traverse_scope(_qualified(statement)):
        for alias, source in scope.sources.items():
            if not isinstance(source, exp.Table) or source.name not in TABLES:
                continue
            used = {c.name for c in scope.columns if c.table == alias} - {PARTITION_KEY}
            scans.append(Scan(source.name, tuple(sorted(used)), _rows_read(scope.expression)))
    return tuple(scans)


def _rows_read(select: exp.Expr) -> str:
    """ALL, or COMPACTED / LIVE for a branch filtered on ``dt [NOT] IN (subquery)``."""
    where = select.args.get("where")
    for node in where.find_all(exp.In) if where else ():
        on_dt = isinstance(node.this, exp.Column) and node.this.name == PARTITION_KEY
        if on_dt and node.args.get("query") is not None:
            return COMPACTED if isinstance(node.parent, exp.Not) else LIVE
    return ALL


def derived_columns(view: View) -> tuple[tuple[str, str], ...]:
    """The view's output columns with the Glue types its SQL gives them."""
    tree = annotate_types(_qualified(view), schema=_schema())
    assert isinstance(tree, exp.Query)
    out = []
    for select in tree.selects:
        kind = select.type.this.name if select.type else "UNKNOWN"
        out.append((select.alias_or_name, _GLUE_TYPES.get(kind, kind.lower())))
    return tuple(out)


def main() -> None:
    """Print every statement's derived scans (and each view's columns) as TOML."""
    for statement in STATEMENTS.values():
        print(f"# {statement.name} ({statement.kind})")
        if isinstance(statement, View):
            print("columns = [")
            print(
                "".join(f'    ["{name}", "{t}"],\n' for name, t in derived_columns(statement)),
                end="",
            )
            print("]")
            continue
        print("scans = [")
        for scan in derived_scans(statement):
            columns = ", ".join(f'"{c}"' for c in scan.columns)
            print(f'    {{ table = "{scan.table}", days = "{scan.days}", columns = [{columns}] }},')
        print("]")


if __name__ == "__main__":
    main()
