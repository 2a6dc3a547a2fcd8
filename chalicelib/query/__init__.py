"""One query interface over two engines: Athena (awswrangler) or local (DuckDB + sqlglot).

Callers never branch on where they run: ``settings.query_engine`` picks the engine.
"""

from __future__ import annotations

import threading
from typing import Any, Protocol

import pyarrow as pa

from chalicelib.query.params import Params, bind_for
from chalicelib.query.sql_files import load_sql, looks_like_sql, strip_terminator
from chalicelib.settings import Settings

__all__ = [
    "QueryEngine",
    "UnsupportedSqlError",
    "engine_for",
    "make_engine",
    "reset",
    "resolve_sql",
    "run_query",
]


class QueryEngine(Protocol):
    """What both engines provide."""

    name: str

    def execute(self, sql: str, params: Params = None) -> pa.Table:
        """Run one Athena-dialect statement and return the result as Arrow."""
        ...

    def refresh(self) -> None:
        """Drop cached catalog state."""
        ...

    def close(self) -> None:
        """Release resources."""
        ...


def __getattr__(name: str) -> Any:
    # The local engine's error needs sqlglot, which is not in the Lambda package: import it
    # only when asked for, so that importing this package never needs sqlglot.
    if name == "UnsupportedSqlError":
        from chalicelib.query.translate import UnsupportedSqlError

        return UnsupportedSqlError
    raise AttributeError(name)


def make_engine(settings: Settings, **kwargs: Any) -> QueryEngine:
    """A new engine of the kind ``settings.query_engine`` names ("local" or "athena")."""
    if settings.query_engine == "athena":
        from chalicelib.query.athena_engine import AthenaEngine

        return AthenaEngine(settings, **kwargs)
    if settings.query_engine == "local":
        from chalicelib.query.local_engine import LocalEngine

        return LocalEngine(settings, **kwargs)
    raise ValueError(f"unknown query engine {settings.query_engine!r} (local or athena)")


_ENGINES: dict[Settings, QueryEngine] = {}
_ENGINES_LOCK = threading.Lock()


def engine_for(settings: Settings) -> QueryEngine:
    """The process-wide engine for ``settings`` (reused so warm queries stay warm)."""
    with _ENGINES_LOCK:
        if settings not in _ENGINES:
            _ENGINES[settings] = make_engine(settings)
        return _ENGINES[settings]


def reset() -> None:
    """Close and forget the process-wide engines (tests that switch endpoints call this)."""
    with _ENGINES_LOCK:
        for engine in _ENGINES.values():
            engine.close()
        _ENGINES.clear()


def resolve_sql(name_or_sql: str) -> str:
    """The SQL for a statement name ("q3", "player_standings", "seed/q1") or SQL text."""
    if looks_like_sql(name_or_sql):
        return strip_terminator(name_or_sql)
    return load_sql(name_or_sql)


def run_query(
    name_or_sql: str,
    params: Params = None,
    *,
    settings: Settings,
    engine: QueryEngine | None = None,
) -> pa.Table:
    """Run a named statement or SQL text on the configured engine; return an Arrow table.

    The application filter of a question or report defaults to every application."""
    engine = engine or engine_for(settings)
    sql = resolve_sql(name_or_sql)
    return engine.execute(sql, bind_for(sql, params))
