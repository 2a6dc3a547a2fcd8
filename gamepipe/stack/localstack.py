"""LocalStack in host mode (no Docker): install its venv, start it, wait for health, stop it.

Settings are those measured when it was set up (docs/design-local.md): Python 3.13 venv
with pinned localstack-core, ``OVERRIDE_IN_DOCKER=0`` (else it ignores FILESYSTEM_ROOT),
hypercorn (the default server ignores the host in GATEWAY_LISTEN), no DNS server, no cert
download, no analytics.
``localstack/run.sh`` does the same from a shell.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from gamepipe.stack import procs

ROOT = Path(__file__).resolve().parents[2]
LOCALSTACK_DIR = ROOT / "localstack"
VENV = LOCALSTACK_DIR / ".venv"
SHARED_LIBS = ROOT / ".localstack" / "fs" / "usr" / "lib" / "localstack"
SERVICES = "s3,kinesis,cloudformation,events,logs,iam,sts,sqs"


def installed(venv: Path = VENV) -> bool:
    """Whether the LocalStack venv is complete (run.sh touches the stamp last)."""
    return (venv / ".installed").exists()


def python313() -> str | None:
    """The Python 3.13 that LocalStack host mode needs (pyenv's, else python3.13 on PATH)."""
    pyenv = Path("/root/.pyenv/versions/3.13.0/bin/python3")
    if pyenv.exists():
        return str(pyenv)
    return shutil.which("python3.13")


def ensure_installed(*, timeout: float = 600) -> Path:
    """Create ``localstack/.venv`` (Python 3.13) once; return its python."""
    if not installed():
        subprocess.run(
            ["bash", str(LOCALSTACK_DIR / "run.sh"), "install"], check=True, timeout=timeout
        )
    return VENV / "bin" / "python"


def server_env(
    port: int, filesystem_root: Path, base: dict[str, str] | None = None
) -> dict[str, str]:
    """The environment LocalStack host mode needs to run on 127.0.0.1:``port``."""
    env = dict(os.environ if base is None else base)
    # our own AWS_ENDPOINT_URL* must not leak into LocalStack's internal clients
    for k in [k for k in env if k.startswith("AWS_ENDPOINT_URL")]:
        del env[k]
    env.update(
        OVERRIDE_IN_DOCKER="0",
        FILESYSTEM_ROOT=str(filesystem_root),
        GATEWAY_SERVER="hypercorn",
        GATEWAY_LISTEN=f"127.0.0.1:{port}",
        DNS_ADDRESS="0",
        SKIP_SSL_CERT_DOWNLOAD="1",
        DISABLE_EVENTS="1",
        KINESIS_LATENCY="0",
        SERVICES=env.get("LOCALSTACK_SERVICES", SERVICES),
    )
    return env


def start(port: int, *, state_dir: Path, timeout: float = 90) -> subprocess.Popen[bytes]:
    """Start LocalStack on ``port`` with its files under ``state_dir``; wait until healthy."""
    python = ensure_installed()
    fs_root = state_dir / "localstack-fs"
    # a fresh root per start: kinesis-mock persists its streams under it, and a restarted
    # stack must not get back a stream whose S3 lake is gone
    shutil.rmtree(fs_root, ignore_errors=True)
    (fs_root / "usr" / "lib").mkdir(parents=True)
    # ...but share the packages `run.sh install` pre-installed (kinesis-mock), instead of
    # fetching them from npm on every start
    if SHARED_LIBS.is_dir():
        (fs_root / "usr" / "lib" / "localstack").symlink_to(SHARED_LIBS, target_is_directory=True)
    return procs.start_http(
        [str(python), "-m", "localstack.runtime.main"],
        health_url=f"http://127.0.0.1:{port}/_localstack/health",
        env=server_env(port, fs_root),
        log_path=state_dir / "logs" / "localstack.log",
        timeout=timeout,
    )
