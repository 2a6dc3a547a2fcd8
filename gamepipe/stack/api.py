"""``chalice local`` as a child process on a free port, with the target's environment."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping
from pathlib import Path

from gamepipe.infra.package import chalice_executable
from gamepipe.stack import procs

ROOT = Path(__file__).resolve().parents[2]


def start_api(
    env: Mapping[str, str],
    state_dir: Path,
    *,
    stage: str = "local",
    project_dir: Path = ROOT,
    timeout: float = 60,
) -> tuple[subprocess.Popen[bytes], str]:
    """Start ``chalice local --stage STAGE`` on a free port; return it and its base URL."""
    port = procs.free_port()
    child_env = {**os.environ, **env}
    # no autoreload: the reloader forks a second process that a stop could miss
    url = f"http://127.0.0.1:{port}"
    proc = procs.start_http(
        [chalice_executable(), "local", "--stage", stage, "--port", str(port), "--no-autoreload"],
        health_url=f"{url}/health",
        env=child_env,
        log_path=state_dir / "logs" / "chalice-local.log",
        timeout=timeout,
        cwd=project_dir,
    )
    return proc, url
