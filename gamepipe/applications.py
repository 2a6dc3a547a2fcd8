"""Managing applications from the CLI and the demo: the store on the configured endpoint."""

from __future__ import annotations

from chalicelib import aws
from chalicelib.applications import Application, ApplicationStore
from chalicelib.settings import Settings


def open_store(settings: Settings) -> ApplicationStore:
    """The applications table of ``settings`` through the shared DynamoDB client."""
    return ApplicationStore(aws.client("dynamodb"), settings.applications_table)


def create_application(
    settings: Settings, name: str, *, allow_backfill: bool = False
) -> tuple[Application, str]:
    """Register an application; return it and its key (shown once)."""
    return open_store(settings).create(name, allow_backfill=allow_backfill)
