"""One way to bring up a local stack: target -> environment -> resources -> an application and
its API key -> API -> consumer.

``gamepipe demo`` and ``gamepipe stack up`` both call :func:`launch`; the demo then runs
its workload through it and stops it (or keeps it), ``stack up`` records it for later commands.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from chalicelib import aws
from chalicelib.applications import ENV_API_KEY
from chalicelib.settings import Settings
from gamepipe.runtime.lambda_host import stage_environment
from gamepipe.stack import procs, state
from gamepipe.stack.api import start_api
from gamepipe.stack.resources import create_resources
from gamepipe.stack.targets import Target

Step = Callable[[str], AbstractContextManager[None]]


def _quiet_step(name: str) -> AbstractContextManager[None]:
    return contextlib.nullcontext()


@dataclass
class Stack:
    """A started stack: its target's processes, the env they share, resources, API URL."""

    target: Target
    stage: str
    run_dir: Path
    env: dict[str, str]  # the target's endpoints and credentials + the stage's variables
    settings: Settings
    resources: dict[str, Any]
    api_url: str | None = None
    application_id: str | None = None  # the application whose key the stack's clients use
    checkpoint_dir: Path | None = None
    started_at: float = field(default_factory=time.time)

    def spawn_consumer(self, checkpoint_dir: Path) -> None:
        """Run ``gamepipe consume --follow`` as a child: the stream's Lambda trigger."""
        proc = procs.spawn(
            [
                *(sys.executable, "-m", "gamepipe.cli", "consume", "--follow"),
                *("--stage", self.stage, "--checkpoint-dir", str(checkpoint_dir)),
            ],
            env={**os.environ, **self.env},
            log_path=self.run_dir / "logs" / "consumer.log",
        )
        self.target.own("consumer", proc, 0)
        self.checkpoint_dir = checkpoint_dir

    def record(self) -> dict[str, Any]:
        """What ``.gamepipe/stack.json`` holds for later commands and ``stack down``."""
        return {
            "target": self.target.name,
            "stage": self.stage,
            "state_dir": str(self.run_dir),
            "env": self.env,
            "resources": self.resources,
            "api_url": self.api_url,
            "application_id": self.application_id,
            "checkpoint_dir": str(self.checkpoint_dir) if self.checkpoint_dir else None,
            "pids": dict(self.target.pids),
            "order": list(self.target.pids),  # `stack down` stops them in reverse
            "ports": dict(self.target.ports),
            "started_at": self.started_at,
        }

    def save(self) -> None:
        """Record the stack in the state file so other commands attach to it."""
        state.save(self.record())

    def stop(self) -> None:
        """Stop every process the stack started."""
        self.target.stop()


def launch(
    target: str,
    run_dir: Path,
    *,
    stage: str = "local",
    shards: int = 4,
    api: bool = True,
    step: Step = _quiet_step,
) -> Stack:
    """Start ``target``, point this process at it, create the resources, start ``chalice local``.

    ``step(name)`` wraps each phase (the demo times them). On any failure, everything
    started so far is stopped before the error propagates.
    """
    tgt = Target(name=target, state_dir=run_dir)
    if target == "aws":
        return _attach_deployed(tgt, stage, run_dir, step)
    try:
        with step(f"start target {target}"):
            env = {**tgt.start(), **stage_environment(stage=stage)}
            os.environ.update(env)
            aws.reset()  # clients cached before would point at the wrong endpoint
            settings = Settings.from_env()
        with step("create resources"):
            resources = create_resources(settings, shards=shards)
        with step("create an application (API key)"):
            application_id = create_application(settings, env, f"{target} stack ({stage})")
        url = None
        if api:
            with step("start chalice local"):
                api_proc, url = start_api(env, run_dir, stage=stage)
                tgt.own("api", api_proc, int(url.rsplit(":", 1)[1]))
    except BaseException:
        tgt.stop()
        raise
    return Stack(tgt, stage, run_dir, env, settings, resources, url, application_id)


def create_application(settings: Settings, env: dict[str, str], name: str) -> str:
    """Register an application; put its key in ``env`` and this process's environment
    (GAMEPIPE_API_KEY, read by ``gamepipe generate``); return its id."""
    from gamepipe.applications import create_application as register

    app, key = register(settings, name)
    env[ENV_API_KEY] = key
    os.environ[ENV_API_KEY] = key
    return app.application_id


def _attach_deployed(tgt: Target, stage: str, run_dir: Path, step: Step) -> Stack:
    """``--target aws``: the deployed stage's resources and API, read from its stack outputs;
    nothing is created or started (the stack owns every resource)."""
    from gamepipe.stack.deploy import deployed_env, deployed_resources

    with step(f"attach to deployed stage {stage}"):
        env = deployed_env(stage)
        os.environ.update(env)
        aws.reset()
        settings = Settings.from_env()
        resources = deployed_resources(settings)
    with step("create an application (API key)"):
        application_id = create_application(settings, env, f"gamepipe demo ({stage})")
    url = env["GAMEPIPE_API_URL"]
    return Stack(tgt, stage, run_dir, env, settings, resources, url, application_id)
