"""The faults, as botocore event hooks on the consumer's clients.

``before-call`` raises as if S3 or Glue failed, ``after-call`` raises after S3 stored the
object (an ambiguous write), and a ``Killed`` (BaseException) ends the trigger the way a
killed process would. Each fault counts what fired in ``lake.injected``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from botocore.exceptions import ClientError

from gamepipe.fault_lake import Lake

Hook = Callable[..., None]
# (the hook's call number, from 1; the call's params, {} after the call) -> fire now?
Fires = Callable[[int, dict[str, Any]], bool]
_PUT = "before-call.s3.PutObject"


class Killed(BaseException):
    """The consumer's process died mid-batch (not an Exception: nothing catches it)."""


@contextlib.contextmanager
def hooked(client: Any, event: str, hook: Hook) -> Iterator[None]:
    """Install a botocore event hook on ``client`` for the duration."""
    client.meta.events.register(event, hook)
    try:
        yield
    finally:
        client.meta.events.unregister(event, hook)


@contextlib.contextmanager
def injected(
    lake: Lake,
    client: Any,
    events: Sequence[str],
    fires: Fires,
    fault: Callable[[], BaseException],
) -> Iterator[None]:
    """Raise ``fault()`` from ``client``'s ``events`` whenever ``fires`` says so."""
    calls = 0

    def hook(params: dict[str, Any] | None = None, **_: Any) -> None:
        nonlocal calls
        calls += 1
        if fires(calls, params or {}):
            lake.injected += 1
            raise fault()

    with contextlib.ExitStack() as stack:
        for event in events:
            stack.enter_context(hooked(client, event, hook))
        yield


def _error(code: str, operation: str) -> Callable[[], ClientError]:
    return lambda: ClientError({"Error": {"Code": code, "Message": f"injected {code}"}}, operation)


def _is_lake_write(params: dict[str, Any]) -> bool:
    return not str(params.get("Key", "")).startswith("aws/lambda/")  # not the destination


def s3_unavailable(lake: Lake, invocations: int) -> contextlib.AbstractContextManager[None]:
    """Every lake PutObject fails (503) during the first ``invocations`` invocations."""

    def fires(_: int, params: dict[str, Any]) -> bool:
        return lake.invocations <= invocations and _is_lake_write(params)

    return injected(lake, lake.s3, [_PUT], fires, _error("ServiceUnavailable", "PutObject"))


def ambiguous_writes(lake: Lake, every: int) -> contextlib.AbstractContextManager[None]:
    """Every ``every``-th PutObject is stored, but the client sees an error."""
    return injected(
        lake,
        lake.s3,
        ["after-call.s3.PutObject"],
        lambda call, _: call % every == 0,
        _error("InternalError", "PutObject"),
    )


def glue_throttled(lake: Lake, calls: int) -> contextlib.AbstractContextManager[None]:
    """The first ``calls`` Glue partition calls are throttled."""
    return injected(
        lake,
        lake.glue,
        ["before-call.glue.BatchCreatePartition", "before-call.glue.GetPartitions"],
        lambda call, _: call <= calls,
        _error("ThrottlingException", "BatchCreatePartition"),
    )


def _at_put(
    lake: Lake, at_put: int, times: int, fault: Callable[[], BaseException]
) -> contextlib.AbstractContextManager[None]:
    """Raise ``fault()`` at the ``at_put``-th lake PutObject of an invocation, ``times`` times."""
    state = {"invocation": -1, "puts": 0, "fired": 0}

    def fires(_: int, params: dict[str, Any]) -> bool:
        if state["invocation"] != lake.invocations:
            state["invocation"], state["puts"] = lake.invocations, 0
        state["puts"] += 1
        fire = state["fired"] < times and state["puts"] == at_put and _is_lake_write(params)
        state["fired"] += fire
        return fire

    return injected(lake, lake.s3, [_PUT], fires, fault)


def killed_mid_batch(
    lake: Lake, at_put: int, times: int
) -> contextlib.AbstractContextManager[None]:
    """The process dies mid-batch, ``times`` times (the trigger restarts from checkpoints)."""
    return _at_put(lake, at_put, times, Killed)


def function_errors(lake: Lake, at_put: int, times: int) -> contextlib.AbstractContextManager[None]:
    """An unhandled error (a bug, a timeout) mid-batch, ``times`` times: Lambda bisects the
    batch and redelivers shorter ones over half-written objects."""
    return _at_put(lake, at_put, times, lambda: RuntimeError("injected: timed out mid-batch"))
