"""Managing applications from the CLI and the demo: the store on the configured endpoint, and
on AWS each application's key in the stack's usage plan (per-application throttling)."""

from __future__ import annotations

import os
import secrets
from typing import Any

from chalicelib import aws
from chalicelib.applications import Application, ApplicationStore
from chalicelib.settings import Settings

# The stack's usage plan (output UsagePlanId; `gamepipe stack env --target aws` exports it).
ENV_USAGE_PLAN = "GAMEPIPE_USAGE_PLAN_ID"


def open_store(settings: Settings) -> ApplicationStore:
    """The applications table of ``settings`` through the shared DynamoDB client."""
    return ApplicationStore(aws.client("dynamodb"), settings.applications_table)


def create_application(
    settings: Settings,
    name: str,
    *,
    allow_backfill: bool = False,
    usage_plan_id: str | None = None,
) -> tuple[Application, str]:
    """Register an application; return it and its key (shown once).

    With a usage plan (``usage_plan_id``, else ``GAMEPIPE_USAGE_PLAN_ID``) the application
    also gets an API Gateway key in it: the authorizer hands its value to API Gateway as the
    request's usage identifier, so each application is throttled on its own. Clients never
    see that value (the key source is the authorizer, not a header).
    """
    plan = usage_plan_id or os.environ.get(ENV_USAGE_PLAN) or None
    usage_key, key_id, apigateway = None, None, None
    if plan:
        apigateway = aws.client("apigateway")
        usage_key = secrets.token_urlsafe(30)  # API Gateway wants 20-128 characters
        key_id = _usage_key(apigateway, plan, name, usage_key)
    try:
        return open_store(settings).create(name, allow_backfill=allow_backfill, usage_key=usage_key)
    except BaseException:
        if apigateway is not None and key_id is not None:
            apigateway.delete_api_key(apiKey=key_id)  # no orphan key in the plan
        raise


def _usage_key(apigateway: Any, plan: str, name: str, value: str) -> str:
    key_id = str(
        apigateway.create_api_key(
            name=f"gamepipe {name}"[:128],
            description="usage-plan key of a gamepipe application (never sent by clients)",
            enabled=True,
            value=value,
        )["id"]
    )
    apigateway.create_usage_plan_key(usagePlanId=plan, keyId=key_id, keyType="API_KEY")
    return key_id
