"""End-to-end fixtures: the project root importable, fake AWS env, a private state dir.

Each test starts its own emulator processes on free ports (never the user's
``.gamepipe/stack.json``) and stops them, so tests do not depend on each other's order.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test under tests/e2e is an e2e test (select with -m e2e)."""
    for item in items:
        if "tests/e2e" in str(item.path):
            item.add_marker(pytest.mark.e2e)


@pytest.fixture
def e2e_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    """Fake credentials, region and a private GAMEPIPE_STATE_DIR; returns the child env."""
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")
    monkeypatch.setenv("GAMEPIPE_STATE_DIR", str(tmp_path / "state"))
    for key in [k for k in os.environ if k.startswith("AWS_ENDPOINT_URL")]:
        monkeypatch.delenv(key)
    yield dict(os.environ)


@pytest.fixture(scope="session")
def localstack_installed() -> None:
    """Install LocalStack's venv once (a no-op when cached); CI must have Python 3.13."""
    from gamepipe.stack import localstack

    if (
        not localstack.installed()
        and localstack.python313() is None
        and os.environ.get("CI") != "true"
    ):
        pytest.skip("LocalStack host mode needs Python 3.13 (not found; CI fails instead)")
    localstack.ensure_installed()


@pytest.fixture(scope="module")
def embedded_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    """The embedded stack as `gamepipe stack up` starts it (moto server, resources, an
    application and its key, chalice local), for one test module; stopped and the process
    environment restored afterwards (launching points os.environ at the emulator)."""
    from chalicelib import aws
    from gamepipe.stack.launch import launch

    saved = dict(os.environ)
    for key in [k for k in os.environ if k.startswith("AWS_ENDPOINT_URL")]:
        del os.environ[key]
    os.environ.update(AWS_DEFAULT_REGION="us-east-1", AWS_ACCESS_KEY_ID="test",
                      AWS_SECRET_ACCESS_KEY="test",
                      GAMEPIPE_STATE_DIR=str(tmp_path_factory.mktemp("state")))  # fmt: skip
    stack = None
    try:
        stack = launch("embedded", tmp_path_factory.mktemp("stack"), shards=2)
        yield stack
    finally:
        if stack is not None:
            stack.stop()
        os.environ.clear()
        os.environ.update(saved)
        aws.reset()
