"""The local Athena-compatible engine: DuckDB over the Glue catalog's Parquet files.

Table schemas, locations and registered partitions come from Glue (moto or AWS) or from a
local lake directory; each table becomes a DuckDB view over exactly the registered
partitions' files, so the local answer sees what Athena would. SQL is translated from
Athena's dialect by :mod:`gamepipe.athena.translate`. Works offline: httpfs comes from
the ``duckdb-ext-httpfs`` wheel, never downloaded.
"""

from __future__ import annotations

import importlib.util
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import duckdb
import pyarrow as pa

from chalicelib import aws
from chalicelib.query.params import Params
from chalicelib.settings import Settings, endpoint_url
from gamepipe.athena.catalog import LakeCatalog, TableInfo, load_glue_catalog, load_lake_catalog
from gamepipe.athena.translate import translate

# Glue/Hive type -> DuckDB type of the view's column (Athena reads with the table's types).
_DUCKDB_TYPES = {
    "string": "VARCHAR",
    "varchar": "VARCHAR",
    "bigint": "BIGINT",
    "int": "INTEGER",
    "integer": "INTEGER",
    "smallint": "SMALLINT",
    "tinyint": "TINYINT",
    "double": "DOUBLE",
    "float": "FLOAT",
    "boolean": "BOOLEAN",
    "date": "DATE",
    "timestamp": "TIMESTAMP",
    "binary": "BLOB",
}

CatalogLoader = Callable[[], LakeCatalog]


def extension_directory() -> str:
    """Where the ``duckdb-ext-httpfs`` wheel put DuckDB's httpfs extension."""
    spec = importlib.util.find_spec("duckdb_ext")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("duckdb-ext-httpfs is not installed (see requirements-dev.txt)")
    return str(Path(next(iter(spec.submodule_search_locations))) / "extensions")


class LocalEngine:
    """DuckDB + sqlglot engine; one connection, catalog views cached for ``ttl_seconds``."""

    name = "local"

    def __init__(
        self,
        settings: Settings,
        *,
        glue_client: Any = None,
        s3_client: Any = None,
        session: Any = None,
        lake_root: str | Path | None = None,
        ttl_seconds: float = 30.0,
        threads: int | None = None,
        s3_endpoint: str | None = None,
        catalog_loader: CatalogLoader | None = None,
    ) -> None:
        self.settings = settings
        # Where DuckDB reads S3; None: where boto3 would send this process's S3 calls.
        self._s3_endpoint = s3_endpoint
        self.database = settings.glue_database
        self.ttl_seconds = ttl_seconds
        self._session = session
        self._threads = threads
        self._load: CatalogLoader
        if catalog_loader is not None:
            self._load = catalog_loader
        elif lake_root is not None:
            root = lake_root
            self._load = lambda: load_lake_catalog(root)
        else:
            glue = glue_client or aws.client("glue")
            s3 = s3_client or aws.client("s3")
            self._load = lambda: load_glue_catalog(self.database, glue, s3)
        self._lock = threading.RLock()
        self._con: duckdb.DuckDBPyConnection | None = None
        self._functions: frozenset[str] = frozenset()
        self._tables: dict[str, TableInfo] = {}
        self._views: dict[str, str] = {}  # name -> Athena SQL, inlined where a query reads it
        self._loaded_at: float | None = None
        self._s3_ready = False
        self._translated: dict[str, str] = {}

    # -- public -------------------------------------------------------------------------

    def execute(self, sql: str, params: Params = None) -> pa.Table:
        """Run one Athena statement; ``?`` params as a list, ``:name`` params as a dict."""
        with self._lock:
            try:
                return self._run(sql, params)
            except duckdb.IOException:
                # A listed file vanished (compaction replaced it) since the catalog was
                # cached: re-read Glue and the file lists once, then retry.
                self.refresh()
                return self._run(sql, params)

    def _run(self, sql: str, params: Params) -> pa.Table:
        duck_sql = self.translate(sql)
        con = self._connection()
        bound: Any = _duckdb_params(params)
        result = con.execute(duck_sql, bound) if bound is not None else con.execute(duck_sql)
        return _bigint_sums(result.fetch_arrow_table())

    def translate(self, sql: str) -> str:
        """The DuckDB SQL this engine would run for ``sql`` (after a catalog refresh if due)."""
        with self._lock:
            self._ensure_catalog()
            cached = self._translated.get(sql)
            if cached is None:
                schemas = {name: t.all_columns for name, t in self._tables.items()}
                cached = translate(
                    sql,
                    schemas,
                    database=self.database,
                    known_functions=self._functions,
                    views=self._views,
                )
                # Valid until the catalog (and so the column types) is reloaded.
                if len(self._translated) >= 256:
                    self._translated.clear()
                self._translated[sql] = cached
            return cached

    def tables(self) -> dict[str, TableInfo]:
        """The catalog as last loaded (loading it if due)."""
        with self._lock:
            self._ensure_catalog()
            return dict(self._tables)

    def loaded_tables(self) -> dict[str, TableInfo]:
        """The catalog as last loaded, without loading it again."""
        with self._lock:
            return dict(self._tables)

    def refresh(self) -> None:
        """Forget the cached catalog: the next query re-reads Glue and re-lists files."""
        with self._lock:
            self._loaded_at = None

    def interrupt(self) -> None:
        """Cancel the statement running now, if any (it raises duckdb.InterruptException).

        Deliberately without the lock, which the running statement holds.
        """
        con = self._con
        if con is not None:
            con.interrupt()

    def close(self) -> None:
        """Close the DuckDB connection."""
        with self._lock:
            if self._con is not None:
                self._con.close()
                self._con = None
                self._loaded_at = None
                self._s3_ready = False

    # -- internals ----------------------------------------------------------------------

    def _connection(self) -> duckdb.DuckDBPyConnection:
        if self._con is None:
            config: dict[str, Any] = {
                "extension_directory": extension_directory(),
                "autoinstall_known_extensions": False,
                "autoload_known_extensions": False,
            }
            if self._threads:
                config["threads"] = self._threads
            con = duckdb.connect(":memory:", config=config)
            # Athena's timestamp has no zone; compute and print in UTC like Athena does.
            con.execute("SET TimeZone = 'UTC'")
            # Warm queries re-read only data, not each file's footer.
            con.execute("SET parquet_metadata_cache = true")
            rows = con.execute("SELECT DISTINCT function_name FROM duckdb_functions()").fetchall()
            self._functions = frozenset(r[0].lower() for r in rows)
            self._con = con
        return self._con

    def _ensure_catalog(self) -> None:
        now = time.monotonic()
        if self._loaded_at is not None and now - self._loaded_at < self.ttl_seconds:
            return
        con = self._connection()
        catalog = self._load()
        tables = catalog.tables
        if any(_is_s3(f) for t in tables.values() for p in t.partitions for f in p.files):
            self._configure_s3(con)
        schema = _quote(self.database)
        con.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        con.execute(f"CREATE SCHEMA {schema}")
        for table in tables.values():
            con.execute(f"CREATE VIEW {schema}.{_quote(table.name)} AS {_view_sql(table)}")
        self._tables = tables
        self._views = {name: view.sql for name, view in catalog.views.items()}
        self._translated.clear()
        self._loaded_at = time.monotonic()

    def _configure_s3(self, con: duckdb.DuckDBPyConnection) -> None:
        if self._s3_ready:
            return
        # No http metadata cache: the consumer may rewrite an object under the same key
        # (cutting back a partly failed batch), so each query re-validates with a HEAD;
        # DuckDB's external file cache still serves unchanged data from memory.
        con.execute("LOAD httpfs")
        session = self._session or aws.session()
        options = {"REGION": session.region_name or self.settings.region}
        creds = session.get_credentials()
        if creds is not None:
            frozen = creds.get_frozen_credentials()
            options["KEY_ID"] = frozen.access_key
            options["SECRET"] = frozen.secret_key
            if frozen.token:
                options["SESSION_TOKEN"] = frozen.token
        endpoint = self._s3_endpoint or endpoint_url("s3")
        if endpoint:
            parsed = urlparse(endpoint)
            options["ENDPOINT"] = parsed.netloc or parsed.path
            options["URL_STYLE"] = "path"
            options["USE_SSL"] = "true" if parsed.scheme == "https" else "false"
        body = ", ".join(
            f"{k} {v}" if k == "USE_SSL" else f"{k} {_literal(v)}" for k, v in options.items()
        )
        con.execute(f"CREATE OR REPLACE SECRET gamepipe_s3 (TYPE s3, {body})")
        self._s3_ready = True


def _view_sql(table: TableInfo) -> str:
    """SELECT over the registered partitions' files with Glue's column types and names."""
    data_cols = [f"CAST({_quote(c)} AS {_duck_type(t)}) AS {_quote(c)}" for c, t in table.columns]
    parts = [p for p in table.partitions if p.files]
    if not parts:
        # No registered partition (or no file yet): an empty relation with the right types.
        cols = [f"CAST(NULL AS {_duck_type(t)}) AS {_quote(c)}" for c, t in table.columns]
        cols += [f"CAST(NULL AS {_duck_type(t)}) AS {_quote(k)}" for k, t in table.partition_keys]
        return f"SELECT {', '.join(cols)} WHERE false"
    keys = [k for k, _ in table.partition_keys]
    standard = all(
        len(keys) == 1 and p.location.rstrip("/").rsplit("/", 1)[-1] == f"{keys[0]}={p.values[0]}"
        for p in parts
    )
    if standard or not keys:
        # Lake layout <table>/dt=<value>/: one scan, the key read from the path, so a
        # filter on dt prunes files.
        files = [f for p in parts for f in p.files]
        key_cols = [
            f"CAST({_quote(k)} AS {_duck_type(t)}) AS {_quote(k)}" for k, t in table.partition_keys
        ]
        hive = "true" if keys else "false"
        hive_types = (
            ", hive_types = {" + ", ".join(f"{_literal(k)}: 'VARCHAR'" for k in keys) + "}"
            if keys
            else ""
        )
        source = _by_name(
            table,
            f"read_parquet({_list(files)}, hive_partitioning = {hive}{hive_types}, "
            "union_by_name = true)",
        )
        return f"SELECT {', '.join(data_cols + key_cols)} FROM {source}"
    # Partitions at arbitrary locations: one branch per partition with its key values.
    branches = []
    for p in parts:
        key_cols = [
            f"CAST({_literal(v)} AS {_duck_type(t)}) AS {_quote(k)}"
            for (k, t), v in zip(table.partition_keys, p.values, strict=True)
        ]
        source = _by_name(
            table,
            f"read_parquet({_list(list(p.files))}, hive_partitioning = false,"
            " union_by_name = true)",
        )
        branches.append(f"SELECT {', '.join(data_cols + key_cols)} FROM {source}")
    return " UNION ALL ".join(branches)


def _by_name(table: TableInfo, scan: str) -> str:
    """``scan`` with every catalog column present, NULL where a file lacks it.

    Athena resolves Parquet columns by name and reads a column a file does not have as
    NULL (files written before a column was added, e.g. the consumer's batch files have
    no ``compacted``). ``union_by_name`` lines up files with different column sets; the
    empty typed branch supplies a column that none of the files has.
    """
    typed = ", ".join(f"CAST(NULL AS {_duck_type(t)}) AS {_quote(c)}" for c, t in table.columns)
    return f"(SELECT * FROM {scan} UNION ALL BY NAME SELECT {typed} WHERE false)"


def _bigint_sums(table: pa.Table) -> pa.Table:
    """DuckDB's 128-bit integer sums (Arrow decimal(38, 0)) as Athena's bigint.

    The translator already casts sums it can type; this catches sums over expressions
    sqlglot could not type (e.g. a CTE column from min_by). Values beyond bigint raise,
    as Athena's overflow does.
    """
    hugeint = pa.decimal128(38, 0)
    if not any(f.type == hugeint for f in table.schema):
        return table
    schema = pa.schema([f.with_type(pa.int64()) if f.type == hugeint else f for f in table.schema])
    return table.cast(schema)


def _duckdb_params(params: Params) -> Any:
    if params is None:
        return None
    if isinstance(params, Mapping):
        return dict(params)
    return list(params)


def _duck_type(glue_type: str) -> str:
    t = glue_type.lower()
    if t.startswith(("decimal", "varchar", "char")):
        return t.upper()
    if t not in _DUCKDB_TYPES:
        raise ValueError(f"Glue type {glue_type!r} is not supported by the local engine")
    return _DUCKDB_TYPES[t]


def _is_s3(path: str) -> bool:
    return path.startswith(("s3://", "s3a://", "s3n://"))


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _list(files: Sequence[str]) -> str:
    return "[" + ", ".join(_literal(_duck_path(f)) for f in files) + "]"


def _duck_path(path: str) -> str:
    # DuckDB reads s3:// itself; s3a/s3n are Hadoop spellings of the same thing.
    for alias in ("s3a://", "s3n://"):
        if path.startswith(alias):
            return "s3://" + path[len(alias) :]
    return path.removeprefix("file://")
