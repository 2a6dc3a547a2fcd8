"""The emulator's connections: a boto3 client per service and region, an engine per database.

Engines are made when a first query runs on their database (DuckDB loads only then) and
read the Glue catalog and S3 of the stack; queries on one database take turns on its
engine (one DuckDB connection), as Athena queues queries for capacity.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from typing import Any

import boto3
from botocore.config import Config

from gamepipe.athena.catalog import LakeCatalog, load_glue_catalog


@dataclass
class Slot:
    """One database's engine; queries on it take turns (one DuckDB connection).

    ``wanted``: the tables the current query names. Only those are read from Glue and
    S3 and made into views: DuckDB reads every file's footer when it creates a view, so
    loading every table for each query costs more than the query.
    """

    engine: Any = None
    lock: threading.Lock = field(default_factory=threading.Lock)
    current: str | None = None  # the id of the run using the engine
    wanted: frozenset[str] = frozenset()


class Connections:
    """Clients and engines for every account/region of this moto process."""

    def __init__(self, endpoint: str, s3_endpoint: str) -> None:
        self.endpoint = endpoint  # this server: Glue (the catalog)
        self.s3_endpoint = s3_endpoint  # the stack's S3: data and results
        self._lock = threading.RLock()  # slot() builds clients under it
        self._slots: dict[tuple[str, str], Slot] = {}
        self._clients: dict[tuple[str, str], Any] = {}

    def slot(self, region: str, database: str) -> Slot:
        """The engine slot of ``database`` in ``region`` (made on first use)."""
        from chalicelib.settings import Settings
        from gamepipe.athena.engine import LocalEngine  # DuckDB: only once a query runs

        key = (region, database)
        with self._lock:
            if key not in self._slots:
                glue, s3 = self.client("glue", region), self.client("s3", region)
                slot = Slot()

                def load() -> LakeCatalog:
                    if not slot.wanted:
                        return LakeCatalog({}, {})
                    return load_glue_catalog(database, glue, s3, only=slot.wanted)

                slot.engine = LocalEngine(
                    Settings(glue_database=database, region=region),
                    session=self._session(region),
                    ttl_seconds=3600,  # refreshed explicitly before each query
                    s3_endpoint=self.s3_endpoint,
                    catalog_loader=load,
                )
                self._slots[key] = slot
            return self._slots[key]

    def client(self, service: str, region: str) -> Any:
        """A shared client of ``service`` (S3 at the stack's S3, the rest at this server)."""
        key = (service, region)
        with self._lock:
            if key not in self._clients:
                endpoint = self.s3_endpoint if service == "s3" else self.endpoint
                self._clients[key] = self._session(region).client(
                    service,
                    endpoint_url=endpoint,
                    config=Config(retries={"max_attempts": 3}, max_pool_connections=16),
                )
            return self._clients[key]

    def interrupt(self, run_id: str) -> None:
        """Interrupt the engine that is running ``run_id``, if one is."""
        with self._lock:
            slots = [s for s in self._slots.values() if s.current == run_id]
        for slot in slots:
            slot.engine.interrupt()

    def close(self) -> None:
        """Interrupt and close every engine."""
        with self._lock:
            for slot in self._slots.values():
                slot.engine.interrupt()
                slot.engine.close()
            self._slots.clear()

    def _session(self, region: str) -> boto3.session.Session:
        return boto3.session.Session(
            aws_access_key_id=os.environ.get("AWS_ACCESS_KEY_ID") or "test",
            aws_secret_access_key=os.environ.get("AWS_SECRET_ACCESS_KEY") or "test",
            region_name=region,
        )
