"""Load the Chalice app in-process the way Lambda would, and invoke its functions by name."""

from __future__ import annotations

import importlib
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]


def stage_environment(project_dir: Path = ROOT, stage: str = "local") -> dict[str, str]:
    """The stage's ``environment_variables`` from ``.chalice/config.json`` (global, then stage)."""
    config = json.loads((project_dir / ".chalice" / "config.json").read_text())
    env = dict(config.get("environment_variables", {}))
    env.update(config.get("stages", {}).get(stage, {}).get("environment_variables", {}))
    return {k: str(v) for k, v in env.items()}


def apply_stage_environment(project_dir: Path = ROOT, stage: str = "local") -> dict[str, str]:
    """Put the stage's variables into ``os.environ`` (they win, as in ``chalice local``)."""
    env = stage_environment(project_dir, stage)
    os.environ.update(env)
    return env


def load_app(project_dir: Path = ROOT, stage: str = "local") -> Any:
    """Import ``app`` after the stage environment is set (decorators read it at import)."""
    apply_stage_environment(project_dir, stage)
    if str(project_dir) not in sys.path:
        sys.path.insert(0, str(project_dir))
    from chalicelib import aws

    aws.reset()  # clients cached before the env was set would point at the wrong endpoint
    if "app" in sys.modules:
        return sys.modules["app"].app
    return importlib.import_module("app").app


def function_names(app: Any) -> list[str]:
    """Names of the app's Lambda functions other than the API handler (event sources, pure)."""
    names = [e.name for e in app.event_sources] + [f.name for f in app.pure_lambda_functions]
    return sorted(set(names))


def invoker(app: Any, name: str) -> Callable[[dict[str, Any]], Any]:
    """A callable that invokes function ``name`` with a Lambda-like context, as Lambda would."""
    from chalice.test import FunctionNotFoundError, LambdaContext

    if name not in app.handler_map:
        raise FunctionNotFoundError(name)
    handler = app.handler_map[name]

    def invoke(event: dict[str, Any]) -> Any:
        return handler(event, LambdaContext(name, memory_size=1024))

    return invoke


def with_log(
    invoke: Callable[[dict[str, Any]], Any], log_path: Path
) -> Callable[[dict[str, Any]], Any]:
    """Send what the function prints (its "CloudWatch" lines) to ``log_path``, not our stdout."""
    import contextlib

    log_path.parent.mkdir(parents=True, exist_ok=True)

    def logged(event: dict[str, Any]) -> Any:
        with open(log_path, "a") as log, contextlib.redirect_stdout(log):
            return invoke(event)

    return logged
