"""Attaching to the running stack: its env fills the gaps, explicit variables win."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from gamepipe.stack import state

STACK_ENV = {"AWS_ENDPOINT_URL": "http://127.0.0.1:5000", "AWS_DEFAULT_REGION": "us-east-1"}


def write_state(path: Path, pid: int) -> Path:
    state.save({"target": "embedded", "env": STACK_ENV, "pids": {"moto": pid}}, path)
    return path


def test_attach_fills_unset_variables_and_keeps_explicit_ones(tmp_path: Path) -> None:
    # GIVEN a running stack (its recorded process is this one) and a region set explicitly
    path = write_state(tmp_path / "stack.json", os.getpid())
    environ = {"AWS_DEFAULT_REGION": "eu-west-1"}
    # WHEN attaching
    info = state.attach(environ, path)
    # THEN the stack's endpoint is used and the explicit region wins
    assert info is not None and info["target"] == "embedded"
    assert environ == {
        "AWS_ENDPOINT_URL": "http://127.0.0.1:5000",
        "AWS_DEFAULT_REGION": "eu-west-1",
    }


def test_an_explicit_endpoint_means_not_the_stack(tmp_path: Path) -> None:
    # GIVEN a running stack but an endpoint chosen by the caller
    path = write_state(tmp_path / "stack.json", os.getpid())
    environ = {"AWS_ENDPOINT_URL_S3": "http://elsewhere:4566"}
    # WHEN attaching THEN nothing changes
    assert state.attach(environ, path) is None
    assert environ == {"AWS_ENDPOINT_URL_S3": "http://elsewhere:4566"}


def test_no_attach_without_a_live_stack(tmp_path: Path) -> None:
    # GIVEN no state file, then one whose process is gone (a stale stack)
    environ: dict[str, str] = {}
    assert state.attach(environ, tmp_path / "missing.json") is None
    stale = write_state(
        tmp_path / "stack.json", 2**22 + 12345
    )  # above Linux's largest pid_max (2**22)
    # THEN neither is attached
    assert state.attach(environ, stale) is None and environ == {}


def test_state_dir_follows_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN GAMEPIPE_STATE_DIR set after import THEN the state file moves with it
    monkeypatch.setenv("GAMEPIPE_STATE_DIR", str(tmp_path))
    assert state.state_file() == tmp_path / "stack.json"
