"""Fixtures shared by every tier."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from moto import mock_aws

from chalicelib import aws


@pytest.fixture(autouse=True, scope="session")
def _private_state_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """No test may attach to, or stop, a developer's running stack in ``.gamepipe/``."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("GAMEPIPE_STATE_DIR", str(tmp_path_factory.mktemp("gamepipe-state")))
        yield


@pytest.fixture
def fake_aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fake credentials and region, no profile and no emulator endpoints.

    Endpoint variables left by another test or the shell would send boto3 past moto's
    in-process interception.
    """
    for name in list(os.environ):
        if name.startswith("AWS_ENDPOINT_URL") or name == "AWS_PROFILE":
            monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")


@pytest.fixture
def moto_aws(fake_aws_env: None) -> Iterator[None]:
    """moto in-process (``mock_aws``) with fresh cached clients (no stale endpoints)."""
    from chalicelib.consumer import reset as reset_consumer

    with mock_aws():
        aws.reset()
        reset_consumer()
        yield
    aws.reset()
    reset_consumer()
