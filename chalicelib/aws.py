"""One reused boto3 session and cached clients (building sessions per call costs seconds)."""

from __future__ import annotations

import functools
from typing import Any

import boto3
from botocore.config import Config

_CONFIG = Config(retries={"max_attempts": 5, "mode": "standard"}, max_pool_connections=32)


@functools.lru_cache(maxsize=1)
def session() -> boto3.session.Session:
    """The process-wide boto3 session; endpoints come from AWS_ENDPOINT_URL* env vars."""
    return boto3.session.Session()


@functools.cache
def client(service: str) -> Any:
    """A cached boto3 client for ``service`` built from the shared session."""
    return session().client(service, config=_CONFIG)


def reset() -> None:
    """Forget cached session and clients (tests that switch endpoints call this)."""
    client.cache_clear()
    session.cache_clear()
