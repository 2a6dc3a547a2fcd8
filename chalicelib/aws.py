"""One reused boto3 session and cached clients (building sessions per call costs seconds)."""

from __future__ import annotations

import functools
import os
from typing import Any

import boto3
from botocore.config import Config

_CONFIG = Config(retries={"max_attempts": 5, "mode": "standard"}, max_pool_connections=32)
# The account that owns our buckets (set by the template and `--target aws`; unset locally).
ENV_BUCKET_OWNER = "GAMEPIPE_BUCKET_OWNER"


@functools.lru_cache(maxsize=1)
def session() -> boto3.session.Session:
    """The process-wide boto3 session; endpoints come from AWS_ENDPOINT_URL* env vars."""
    new = boto3.session.Session()
    owner = os.environ.get(ENV_BUCKET_OWNER)
    if owner:
        new.events.register("provide-client-params.s3", functools.partial(_expect_owner, owner))
    return new


def _expect_owner(owner: str, params: dict[str, Any], model: Any, **_: Any) -> None:
    # Bucket names are global: S3 then refuses to read or write a same-named bucket that
    # another account owns, instead of handing it our data.
    if "ExpectedBucketOwner" in model.input_shape.members:
        params.setdefault("ExpectedBucketOwner", owner)


@functools.cache
def client(service: str) -> Any:
    """A cached boto3 client for ``service`` built from the shared session."""
    return session().client(service, config=_CONFIG)


def reset() -> None:
    """Forget cached session and clients (tests that switch endpoints call this)."""
    client.cache_clear()
    session.cache_clear()
