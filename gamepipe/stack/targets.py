"""Where the pipeline runs: ``embedded`` (moto), ``localstack`` (+ moto for Glue/Athena), ``aws``.

Starting a target returns only environment variables; the rest of the code reads
``AWS_ENDPOINT_URL`` / ``AWS_ENDPOINT_URL_<SERVICE>`` through boto3 and ``Settings``.
Children run in their own process groups so a detached ``gamepipe stack up`` outlives
its command and ``stop`` ends every process it started (and no other).
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from gamepipe.athena import ENV_EMULATOR_S3_ENDPOINT
from gamepipe.stack import localstack, procs

FAKE_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test"}


def local_env(endpoint: str, overrides: dict[str, str] | None = None) -> dict[str, str]:
    """Env for a local emulator at ``endpoint``: fake credentials, region, per-service overrides."""
    env = {
        "AWS_ENDPOINT_URL": endpoint,
        **FAKE_CREDENTIALS,
        "AWS_DEFAULT_REGION": os.environ.get("AWS_DEFAULT_REGION") or "us-east-1",
    }
    for service, url in (overrides or {}).items():
        env[f"AWS_ENDPOINT_URL_{service.upper()}"] = url
    return env


def start_moto(
    state_dir: Path, *, timeout: float = 30, s3_endpoint: str | None = None
) -> tuple[subprocess.Popen[bytes], int]:
    """Start moto (``gamepipe.stack.moto_server``) on a free port (a child: no GIL sharing).

    ``s3_endpoint``: the S3 its Athena reads data from and writes results to, when the
    stack's S3 is not moto's own (LocalStack).
    """
    port = procs.free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_ENDPOINT_URL")}
    env.update(FAKE_CREDENTIALS)
    env.pop(ENV_EMULATOR_S3_ENDPOINT, None)
    if s3_endpoint:
        env[ENV_EMULATOR_S3_ENDPOINT] = s3_endpoint
    proc = procs.start_http(
        [sys.executable, "-m", "gamepipe.stack.moto_server", "-H", "127.0.0.1", "-p", str(port)],
        health_url=f"http://127.0.0.1:{port}/moto-api/",
        env=env,
        log_path=state_dir / "logs" / "moto.log",
        timeout=timeout,
    )
    return proc, port


@dataclass
class Target:
    """A started (or not yet started) target: its env, the pids and ports it owns."""

    name: str
    state_dir: Path
    env: dict[str, str] = field(default_factory=dict)
    pids: dict[str, int] = field(default_factory=dict)
    ports: dict[str, int] = field(default_factory=dict)
    _procs: list[subprocess.Popen[bytes]] = field(default_factory=list, repr=False)

    def start(self) -> dict[str, str]:
        """Start what this target needs; return the env everything else should use."""
        self.state_dir.mkdir(parents=True, exist_ok=True)
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        return self.env

    def _start(self) -> None:
        if self.name == "aws":
            self.env = {}  # the caller's own AWS credentials and region
            return
        # LocalStack's port is chosen first: moto's Athena reads and writes S3 there.
        port = procs.free_port()
        s3_url = None if self.name == "embedded" else f"http://127.0.0.1:{port}"
        moto_proc, moto_port = start_moto(self.state_dir, s3_endpoint=s3_url)
        self.own("moto", moto_proc, moto_port)
        moto_url = f"http://127.0.0.1:{moto_port}"
        if self.name == "embedded":
            self.env = local_env(moto_url)
            return
        ls_proc = localstack.start(port, state_dir=self.state_dir)
        self.own("localstack", ls_proc, port)
        # LocalStack's free tier has no Glue/Athena (501): the moto sidecar serves them. Its
        # DynamoDB downloads Java 21 and DynamoDB Local on first use (no network here, and
        # ~250 MB more): the sidecar serves the applications table too.
        sidecar = {"glue": moto_url, "athena": moto_url, "dynamodb": moto_url}
        self.env = local_env(f"http://127.0.0.1:{port}", sidecar)

    def own(self, name: str, proc: subprocess.Popen[bytes], port: int) -> None:
        """Stop ``proc`` with this target; record its pid and port (0: none) under ``name``."""
        self._procs.append(proc)
        self.pids[name] = proc.pid
        self.ports[name] = port

    def stop(self) -> None:
        """Stop every process this target started (children first started, last stopped)."""
        for proc in reversed(self._procs):
            procs.stop(proc)
        self._procs.clear()
        for pid in self.pids.values():  # attached from a state file: not our Popen objects
            if procs.alive(pid):
                procs.stop_pid(pid)
        self.pids.clear()

    def __enter__(self) -> Target:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


TARGETS = ("embedded", "localstack", "aws")


def make_target(name: str, state_dir: Path) -> Target:
    """A target by name (see TARGETS); files (logs, LocalStack data) go under ``state_dir``."""
    if name not in TARGETS:
        raise ValueError(f"unknown target {name!r}; choose one of {', '.join(TARGETS)}")
    return Target(name=name, state_dir=state_dir)
