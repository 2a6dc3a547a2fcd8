"""One query interface over the engines: Athena (awswrangler) here, others registered.

Callers never branch on where they run: ``settings.query_engine`` picks the engine.
Only the Athena engine ships with the Lambda package. The local engine (DuckDB + sqlglot)
is local tooling in ``gamepipe.athena``; it is found through the ``gamepipe.query_engines``
entry point that the gamepipe distribution declares (pyproject.toml), or registered with
:func:`register_engine`, so nothing here imports local-only code.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from importlib.metadata import entry_points
from typing import Any, Protocol

import pyarrow as pa

from chalicelib.query.params import Params, bind_for
from chalicelib.query.sql_files import load_sql, looks_like_sql, strip_terminator
from chalicelib.settings import Settings

__all__ = [
    "ENTRY_POINT_GROUP",
    "QueryEngine",
    "engine_for",
    "make_engine",
    "register_engine",
    "reset",
    "resolve_sql",
    "run_query",
]

# Distributions add engines under this entry-point group: name = "module:Factory".
ENTRY_POINT_GROUP = "gamepipe.query_engines"


class QueryEngine(Protocol):
    """What every engine provides."""

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


EngineFactory = Callable[..., QueryEngine]
_FACTORIES: dict[str, EngineFactory] = {}


def register_engine(name: str, factory: EngineFactory) -> None:
    """Make ``factory(settings, **kwargs)`` the engine called ``name``."""
    _FACTORIES[name] = factory


def _factory(name: str) -> EngineFactory:
    if name == "athena":
        from chalicelib.query.athena_engine import AthenaEngine

        return AthenaEngine
    if name not in _FACTORIES:
        for entry in entry_points(group=ENTRY_POINT_GROUP, name=name):
            _FACTORIES[name] = entry.load()
            break
    if name not in _FACTORIES:
        known = sorted({"athena", *_FACTORIES, *entry_points(group=ENTRY_POINT_GROUP).names})
        raise ValueError(
            f"unknown query engine {name!r}; available here: {', '.join(known)}"
            " (the local engine comes with the gamepipe tooling, not the Lambda package)"
        )
    return _FACTORIES[name]


def make_engine(settings: Settings, **kwargs: Any) -> QueryEngine:
    """A new engine of the kind ``settings.query_engine`` names ("athena", "local", ...)."""
    return _factory(settings.query_engine)(settings, **kwargs)


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
