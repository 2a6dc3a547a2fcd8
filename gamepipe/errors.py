"""Mistakes a user can fix, in one place: what went wrong and the command that fixes it.

``gamepipe.cli`` turns what :func:`explain` recognises into a one-line (or two-line) error
and exit code 1; anything else keeps its traceback, because it is a bug to look at.
"""

from __future__ import annotations

import os
from urllib.parse import urlsplit

CREATE = (
    "create the pipeline's resources with `gamepipe stack up` (local) "
    "or `gamepipe stack deploy` (AWS)"
)


# The applications table's calls (chalicelib/applications.py): a missing table is theirs.
_DYNAMODB_CALLS = {"GetItem", "PutItem", "Scan", "DescribeTable"}


class UserError(Exception):
    """A failure the user can fix; the message says how (printed without a traceback)."""


def explain(exc: BaseException) -> str | None:
    """A short message for a known mistake anywhere in ``exc``'s chain, else None."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        message = _explain_one(current)
        if message is not None:
            return message
        current = current.__cause__ or current.__context__
    return None


def _explain_one(exc: BaseException) -> str | None:
    # botocore is imported here, not at module level: `gamepipe --help` stays fast
    from botocore import exceptions as bce

    from chalicelib.applications import RevokedApplication, UnknownApplication

    if isinstance(exc, UserError | UnknownApplication | RevokedApplication):
        return str(exc)
    if isinstance(exc, bce.NoRegionError):
        return (
            "no AWS region: no local stack is running and AWS_DEFAULT_REGION is not set.\n"
            "Start one with `gamepipe stack up`, or set AWS_DEFAULT_REGION (or AWS_PROFILE) "
            "to use AWS."
        )
    if isinstance(exc, bce.NoCredentialsError | bce.PartialCredentialsError):
        return (
            "no AWS credentials: no local stack is running and none are configured.\n"
            "Start one with `gamepipe stack up`, or configure AWS (`aws configure`, AWS_PROFILE)."
        )
    if isinstance(exc, bce.ConnectionError):
        return _unreachable(str(exc.kwargs.get("endpoint_url") or ""))
    if isinstance(exc, bce.ClientError):
        return _client_error(exc)
    return None


def _unreachable(url: str) -> str:
    parts = urlsplit(url)
    where = f"{parts.scheme}://{parts.netloc}" if parts.netloc else url or "the AWS endpoint"
    if any(name.startswith("AWS_ENDPOINT_URL") for name in os.environ):
        hint = (
            "It comes from AWS_ENDPOINT_URL*: start that emulator, or unset the variable "
            "to use the local stack (`gamepipe stack up`) or AWS."
        )
    else:
        hint = "Check the network and AWS_DEFAULT_REGION (`gamepipe stack status`: local stack)."
    return f"cannot reach {where}: nothing answers there.\n{hint}"


def _client_error(exc: BaseException) -> str:
    response = getattr(exc, "response", {}) or {}
    error = response.get("Error", {})
    code, message = error.get("Code", "?"), error.get("Message", "")
    if code == "EntityNotFoundException":  # Glue: database or table
        return f"Glue: {message.rstrip('.')}: {CREATE}, or set GAMEPIPE_GLUE_DATABASE."
    if code == "NoSuchBucket":
        bucket = error.get("BucketName", "")
        return (
            f"S3 bucket {bucket} does not exist: {CREATE}, "
            "or set GAMEPIPE_DATA_BUCKET / GAMEPIPE_REPORTS_BUCKET."
        )
    operation = getattr(exc, "operation_name", "call")
    if code == "ResourceNotFoundException" and operation in _DYNAMODB_CALLS:
        return (
            f"DynamoDB: {message.rstrip('.')} (the applications table): {CREATE}, "
            "or set GAMEPIPE_APPLICATIONS_TABLE."
        )
    if code == "ResourceNotFoundException":  # Kinesis stream
        return f"{message.rstrip('.')}: {CREATE}, or set GAMEPIPE_STREAM_NAME."
    return f"AWS {operation} failed: {code}: {message}"
