"""What the local engine may read: tables, column types and REGISTERED partitions' files.

Read from Glue (moto, LocalStack-less setups and AWS alike) or, for benchmarks over a
local lake, from a directory laid out like the S3 lake. As in Athena, only registered
partitions are visible; files are listed once per catalog load so warm queries do not
re-list S3.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import sqlglot
from botocore.exceptions import ClientError
from sqlglot import exp

from chalicelib import presto_view
from chalicelib.statements import VIEWS
from chalicelib.tables import PARTITION_KEY, TABLES


@dataclass(frozen=True)
class Partition:
    """One registered partition: its key values, the data files under its location and
    their total size (what a full scan of the partition reads)."""

    values: tuple[str, ...]
    location: str
    files: tuple[str, ...]
    size_bytes: int = 0


Listing = tuple[tuple[str, int], ...]  # (file, size in bytes)


def _partition(values: tuple[str, ...], location: str, listing: Listing) -> Partition:
    return Partition(
        values, location, tuple(f for f, _ in listing), sum(size for _, size in listing)
    )


@dataclass(frozen=True)
class TableInfo:
    """A table as the catalog describes it."""

    name: str
    columns: tuple[tuple[str, str], ...]  # (name, Glue type), storage order
    partition_keys: tuple[tuple[str, str], ...]
    location: str
    partitions: tuple[Partition, ...]

    @property
    def all_columns(self) -> dict[str, str]:
        """Column name -> Glue type, data columns then partition keys (Athena's order)."""
        return dict(self.columns + self.partition_keys)


@dataclass(frozen=True)
class ViewInfo:
    """A view as the catalog describes it: its Athena SQL and declared output columns."""

    name: str
    sql: str
    columns: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class LakeCatalog:
    """The tables and views of one Glue database (or local lake)."""

    tables: dict[str, TableInfo]
    views: dict[str, ViewInfo]


def load_glue_catalog(
    database: str, glue_client: Any, s3_client: Any, only: Collection[str] | None = None
) -> LakeCatalog:
    """Every table of ``database`` with its registered partitions and their files, and every
    view with its SQL; with ``only``, just those names that exist plus what their views read."""
    catalog = LakeCatalog({}, {})
    wanted = None if only is None else {name.lower() for name in only}
    loaded: set[str] = set()
    while True:
        for entry in _glue_tables(
            database, glue_client, None if wanted is None else wanted - loaded
        ):
            if entry.get("TableType") == presto_view.VIEW_TYPE:
                view = _view_info(entry)
                if view is not None:
                    catalog.views[view.name] = view
            else:
                info = _table_info(database, entry, glue_client, s3_client)
                catalog.tables[info.name] = info
        if wanted is None:
            return catalog
        loaded |= wanted
        # A view reads other tables (and views): load those too, as Athena resolves them.
        wanted |= {name for v in catalog.views.values() for name in _reads(v.sql)}
        if wanted <= loaded:
            return catalog


def _table_info(database: str, table: dict[str, Any], glue: Any, s3: Any) -> TableInfo:
    sd = table.get("StorageDescriptor", {})
    keys = tuple((k["Name"].lower(), k["Type"]) for k in table.get("PartitionKeys", []))
    partitions: list[Partition] = []
    if keys:
        pages = glue.get_paginator("get_partitions").paginate(
            DatabaseName=database, TableName=table["Name"]
        )
        found = [
            (tuple(part["Values"]), part["StorageDescriptor"]["Location"])
            for ppage in pages
            for part in ppage["Partitions"]
        ]
        files_of = _partition_lister(sd.get("Location", ""), found, s3)
        partitions = [_partition(v, loc, files_of(loc)) for v, loc in found]
    else:
        location = sd.get("Location", "")
        partitions.append(_partition((), location, _list(location, s3)))
    return TableInfo(
        name=table["Name"].lower(),
        columns=tuple((c["Name"].lower(), c["Type"]) for c in sd.get("Columns", [])),
        partition_keys=keys,
        location=sd.get("Location", ""),
        partitions=tuple(sorted(partitions, key=lambda p: p.values)),
    )


def _view_info(table: dict[str, Any]) -> ViewInfo | None:
    """The view a Glue entry of type VIRTUAL_VIEW holds; None for a view that is not a
    Presto (Athena) view, e.g. one Spark wrote: Athena cannot read it either."""
    try:
        decoded = presto_view.decode(table.get("ViewOriginalText", ""))
    except ValueError:
        return None
    return ViewInfo(table["Name"].lower(), decoded.sql, decoded.columns)


def _reads(sql: str) -> set[str]:
    """Names of the tables and views a view's SQL reads (its own CTEs excluded)."""
    tree = sqlglot.parse_one(sql, read="athena")
    ctes = {cte.alias_or_name.lower() for cte in tree.find_all(exp.CTE)}
    return {t.name.lower() for t in tree.find_all(exp.Table)} - ctes


def _glue_tables(database: str, glue: Any, only: Collection[str] | None) -> Iterator[Any]:
    if only is None:
        for page in glue.get_paginator("get_tables").paginate(DatabaseName=database):
            yield from page["TableList"]
        return
    for name in sorted(only):
        try:
            yield glue.get_table(DatabaseName=database, Name=name)["Table"]
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "EntityNotFoundException":
                raise


def _partition_lister(
    table_location: str, partitions: list[tuple[tuple[str, ...], str]], s3_client: Any
) -> Callable[[str], Listing]:
    """A function giving a partition location's files.

    When several partitions sit under the table's S3 location (the lake layout), one
    recursive listing of the table prefix replaces a LIST call per partition.
    """
    under = [loc for _, loc in partitions if _dir_uri(loc).startswith(_dir_uri(table_location))]
    if not _is_s3_uri(table_location) or len(under) < 2:
        return lambda loc: _list(loc, s3_client)
    parsed = urlparse(table_location)
    prefix = parsed.path.lstrip("/")
    prefix = prefix if prefix.endswith("/") or not prefix else prefix + "/"
    by_dir: dict[str, list[tuple[str, int]]] = {}
    for page in s3_client.get_paginator("list_objects_v2").paginate(
        Bucket=parsed.netloc, Prefix=prefix
    ):
        for obj in page.get("Contents", []):
            directory, _, name = obj["Key"].rpartition("/")
            if name and not name.startswith(("_", ".")) and obj.get("Size", 1) > 0:
                uri = f"s3://{parsed.netloc}/{directory}/"
                entry = (f"s3://{parsed.netloc}/{obj['Key']}", int(obj.get("Size", 0)))
                by_dir.setdefault(uri, []).append(entry)

    def files_of(location: str) -> Listing:
        if not _dir_uri(location).startswith(_dir_uri(table_location)):
            return _list(location, s3_client)
        return tuple(sorted(by_dir.get(_dir_uri(location), [])))

    return files_of


def _is_s3_uri(location: str) -> bool:
    return urlparse(location).scheme in ("s3", "s3a", "s3n")


def _dir_uri(location: str) -> str:
    # s3a://b/p and s3://b/p/ name the same directory.
    parsed = urlparse(location)
    scheme = "s3" if parsed.scheme in ("s3", "s3a", "s3n") else parsed.scheme
    path = parsed.path if parsed.path.endswith("/") else parsed.path + "/"
    return f"{scheme}://{parsed.netloc}{path}"


def load_lake_catalog(root: str | Path) -> LakeCatalog:
    """The five lake tables read from a local directory ``<root>/<table>/dt=YYYY-MM-DD/``.

    Every ``dt=`` directory counts as registered: the directory plays Glue's part, and
    ``chalicelib.statements`` provides the views Glue would hold.
    """
    root_path = Path(root)
    tables: dict[str, TableInfo] = {}
    for table in TABLES.values():
        base = root_path / table.name
        partitions = []
        for part_dir in sorted(base.glob(f"{PARTITION_KEY}=*")):
            value = part_dir.name.split("=", 1)[1]
            location = str(part_dir)
            partitions.append(_partition((value,), location, _list(location, None)))
        tables[table.name] = TableInfo(
            name=table.name,
            columns=tuple((c.name, c.type) for c in table.catalog_columns),
            partition_keys=((PARTITION_KEY, "string"),),
            location=str(base),
            partitions=tuple(partitions),
        )
    views = {v.name: ViewInfo(v.name, v.sql(), v.columns) for v in VIEWS}
    return LakeCatalog(tables, views)


def list_data_files(location: str, s3_client: Any) -> tuple[str, ...]:
    """Data files directly under ``location`` (s3://, file:// or a path), as Athena reads them.

    Athena skips names starting with '_' or '.' (e.g. _SUCCESS) and does not recurse.
    """
    return tuple(f for f, _ in _list(location, s3_client))


def _list(location: str, s3_client: Any) -> Listing:
    parsed = urlparse(location)
    if parsed.scheme in ("s3", "s3a", "s3n"):
        prefix = parsed.path.lstrip("/")
        prefix = prefix if prefix.endswith("/") or not prefix else prefix + "/"
        found: list[tuple[str, int]] = []
        paginator = s3_client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=parsed.netloc, Prefix=prefix, Delimiter="/"):
            for obj in page.get("Contents", []):
                name = obj["Key"][len(prefix) :]
                if name and not name.startswith(("_", ".")) and obj.get("Size", 1) > 0:
                    found.append((f"s3://{parsed.netloc}/{obj['Key']}", int(obj.get("Size", 0))))
        return tuple(sorted(found))
    directory = Path(parsed.path if parsed.scheme == "file" else location)
    if not directory.is_dir():
        return ()
    return tuple(
        (str(p), p.stat().st_size)
        for p in sorted(directory.iterdir())
        if p.is_file() and not p.name.startswith(("_", ".")) and p.stat().st_size > 0
    )
