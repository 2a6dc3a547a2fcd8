"""An estimate of Athena's DataScannedInBytes for a query over the catalog's tables."""

from __future__ import annotations

from sqlglot import exp

from gamepipe.athena.catalog import TableInfo
from gamepipe.athena.statements import referenced_tables


def estimate_scanned_bytes(tree: exp.Expr, tables: dict[str, TableInfo]) -> int:
    """An ESTIMATE of Athena's DataScannedInBytes: for each table the query reads, the size
    of all its registered files times the share of its data columns the query names (all
    of them under ``SELECT *``). Partition pruning and Parquet statistics are ignored, so
    it over-states queries that filter on ``dt``; it is not what Athena would bill."""
    names = {t.name.lower() for t in referenced_tables(tree)}
    mentioned = {c.name.lower() for c in tree.find_all(exp.Column)}
    star = any(
        isinstance(p, exp.Star) or (isinstance(p, exp.Column) and isinstance(p.this, exp.Star))
        for select in tree.find_all(exp.Select)
        for p in select.expressions
    )
    total = 0.0
    for name in names:
        info = tables.get(name)
        if info is None or not info.columns:
            continue
        size = sum(p.size_bytes for p in info.partitions)
        used = len(info.columns) if star else len({c for c, _ in info.columns} & mentioned)
        total += size * used / len(info.columns)
    return int(total)
