"""The running stack's state file (``.gamepipe/stack.json``): target, pids, ports, env, URLs.

Commands that talk to AWS (``query``, ``report``, ``compact``, ``consume``, ``invoke``) attach
to a stack started by ``gamepipe stack up`` (or ``demo --keep``) by reading its env from here;
explicit environment variables win. ``GAMEPIPE_STATE_DIR`` moves the directory; it is read on
every call, so tests (and a second stack) can point elsewhere.
"""

from __future__ import annotations

import json
import os
from collections.abc import MutableMapping
from pathlib import Path
from typing import Any

from gamepipe.stack import procs

ROOT = Path(__file__).resolve().parents[2]


def state_dir() -> Path:
    """Where the stack's state, runs and checkpoints live (``GAMEPIPE_STATE_DIR``)."""
    return Path(os.environ.get("GAMEPIPE_STATE_DIR") or ROOT / ".gamepipe")


def state_file() -> Path:
    """The state file of the stack started by ``gamepipe stack up``."""
    return state_dir() / "stack.json"


def save(state: dict[str, Any], path: Path | None = None) -> None:
    """Write the state atomically."""
    path = path or state_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(state, indent=2, sort_keys=True))
    os.replace(tmp, path)


def load(path: Path | None = None) -> dict[str, Any] | None:
    """The state of a stack started by ``stack up``, or None."""
    try:
        data: dict[str, Any] = json.loads((path or state_file()).read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return None
    return data


def running(state: dict[str, Any] | None) -> bool:
    """Whether every process recorded in ``state`` is still alive."""
    return bool(state) and all(procs.alive(pid) for pid in state.get("pids", {}).values())  # type: ignore[union-attr]


def attach(
    environ: MutableMapping[str, str] | None = None, path: Path | None = None
) -> dict[str, Any] | None:
    """Point ``environ`` at the running stack: fill its unset variables from the stack's env.

    Nothing happens when no stack runs, or when an ``AWS_ENDPOINT_URL*`` is already set (the
    caller chose its endpoints). Returns the stack's state when attached, else None.
    """
    environ = os.environ if environ is None else environ
    if any(name.startswith("AWS_ENDPOINT_URL") for name in environ):
        return None
    state = load(path)
    if not running(state):
        return None
    assert state is not None
    for key, value in state.get("env", {}).items():
        environ.setdefault(key, value)
    return state
