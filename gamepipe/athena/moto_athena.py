"""moto's Athena answered by the emulator: :func:`install` patches this process's moto.

StartQueryExecution, GetQueryExecution, BatchGetQueryExecution, GetQueryResults and
StopQueryExecution go to the installed :class:`~gamepipe.athena.emulator.Emulator`; every
other Athena call stays moto's. :func:`uninstall` gives moto its own methods back.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from moto.athena.models import AthenaBackend
from moto.athena.responses import AthenaResponse

from gamepipe.athena.emulator import Emulator, EmulatorConfig
from gamepipe.athena.runs import QueryRun

_ACTIVE: Emulator | None = None
_ORIGINALS: dict[tuple[type, str], Any] = {}


def active() -> Emulator:
    """The installed emulator (RuntimeError if none)."""
    if _ACTIVE is None:
        raise RuntimeError("the Athena emulator is not installed")
    return _ACTIVE


def _start_query_execution(self: AthenaBackend, *args: Any, **kwargs: Any) -> str:
    # moto's signature: query, context, config, workgroup, execution_parameters
    return active().start(self, *args, **kwargs)


def _get_query_execution(self: AthenaBackend, exec_id: str) -> QueryRun:
    return active().get(self, exec_id)


def _stop_query_execution(self: AthenaBackend, exec_id: str) -> None:
    active().stop(self, exec_id)


def _respond_get_query_execution(self: AthenaResponse) -> str:
    run = active().get(self.athena_backend, self._get_param("QueryExecutionId"))
    return json.dumps({"QueryExecution": run.describe()})


def _respond_batch_get_query_execution(self: AthenaResponse) -> str:
    found: list[dict[str, Any]] = []
    missing: list[dict[str, str]] = []
    for run_id in self._get_param("QueryExecutionIds") or []:
        run = self.athena_backend.executions.get(run_id)
        if isinstance(run, QueryRun):
            found.append(run.describe())
        else:
            missing.append({"QueryExecutionId": run_id, "ErrorCode": "INVALID_INPUT",
                            "ErrorMessage": f"QueryExecution {run_id} was not found"})  # fmt: skip
    return json.dumps({"QueryExecutions": found, "UnprocessedQueryExecutionIds": missing})


def _respond_get_query_results(self: AthenaResponse) -> str:
    reply = active().results(
        self.athena_backend,
        self._get_param("QueryExecutionId"),
        self._get_param("MaxResults"),
        self._get_param("NextToken"),
    )
    return json.dumps(reply)


_PATCHES: dict[tuple[type, str], Any] = {
    (AthenaBackend, "start_query_execution"): _start_query_execution,
    (AthenaBackend, "get_query_execution"): _get_query_execution,
    (AthenaBackend, "stop_query_execution"): _stop_query_execution,
    (AthenaResponse, "get_query_execution"): _respond_get_query_execution,
    (AthenaResponse, "get_query_results"): _respond_get_query_results,
    (AthenaResponse, "batch_get_query_execution"): _respond_batch_get_query_execution,
}


def install(config: EmulatorConfig) -> Emulator:
    """Make this process's moto Athena run queries (until :func:`uninstall`)."""
    global _ACTIVE
    uninstall()
    _ACTIVE = Emulator(config)
    for (cls, name), func in _PATCHES.items():
        _ORIGINALS[(cls, name)] = cls.__dict__.get(name)
        setattr(cls, name, func)
    return _ACTIVE


def uninstall() -> None:
    """Give moto its own Athena back and stop the emulator's workers and engines."""
    global _ACTIVE
    for (cls, name), original in _ORIGINALS.items():
        if original is None:
            delattr(cls, name)
        else:
            setattr(cls, name, original)
    _ORIGINALS.clear()
    if _ACTIVE is not None:
        _ACTIVE.close()
        _ACTIVE = None


@contextmanager
def installed(config: EmulatorConfig) -> Iterator[Emulator]:
    """:func:`install` for the duration of a ``with`` block."""
    emulator = install(config)
    try:
        yield emulator
    finally:
        uninstall()
