"""Commands that talk to AWS use the running local stack when there is one, else the environment.

No ``eval "$(gamepipe stack env)"`` needed: the stack's env is read from
``.gamepipe/stack.json``; variables already set win (see :func:`gamepipe.stack.state.attach`).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import click

from gamepipe.stack import state


def attach_local_stack() -> dict[str, Any] | None:
    """Attach this process to the running local stack (if any); say so on stderr."""
    info = state.attach()
    if info is not None:
        from chalicelib import aws

        aws.reset()  # a client cached before would still point at the old endpoint
        click.echo(f"using the local stack ({info.get('target')}): {state.state_file()}", err=True)
    return info


def uses_local_stack[F: Callable[..., Any]](command: F) -> F:
    """Decorate a command's function: attach to the local stack before it runs."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        attach_local_stack()
        return command(*args, **kwargs)

    return wrapper  # type: ignore[return-value]
