"""The running stack's state file (``.gamepipe/stack.json``): target, pids, ports, env, URLs.

Other commands (``gamepipe consume``, ``query``, ``invoke``) attach to a stack started by
``gamepipe stack up`` by reading its env from here; explicit environment variables win.
"""

from __future__ import annotations

import json
import os
from collections.abc import MutableMapping
from pathlib import Path
from typing import Any

from gamepipe.stack import procs

ROOT = Path(__file__).resolve().parents[2]
STATE_DIR = Path(os.environ.get("GAMEPIPE_STATE_DIR") or ROOT / ".gamepipe")
STATE_FILE = STATE_DIR / "stack.json"


def save(state: dict[str, Any], path: Path = STATE_FILE) -> None:
    """Write the state atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(state, indent=2, sort_keys=True))
    os.replace(tmp, path)


def load(path: Path = STATE_FILE) -> dict[str, Any] | None:
    """The state of a stack started by ``stack up``, or None."""
    try:
        data: dict[str, Any] = json.loads(path.read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return None
    return data


def running(state: dict[str, Any] | None) -> bool:
    """Whether every process recorded in ``state`` is still alive."""
    return bool(state) and all(procs.alive(pid) for pid in state.get("pids", {}).values())  # type: ignore[union-attr]


def attach_env(environ: MutableMapping[str, str] | None = None, path: Path = STATE_FILE) -> bool:
    """Fill unset variables from a running stack's env; True if a stack was attached."""
    environ = os.environ if environ is None else environ
    state = load(path)
    if not running(state):
        return False
    assert state is not None
    for key, value in state.get("env", {}).items():
        environ.setdefault(key, value)
    return True
