"""Applications (games) and their API keys, in a DynamoDB table: a key is shown once, stored
only as a hash.

A key reads ``gpk.<application_id>.<secret>``: the id says which item to read (one
``GetItem``, no index on hashes), the secret is 256 random bits. The item keeps
SHA-256(secret): with that much entropy a fast hash is enough (nothing to brute-force, the
reason password hashes are slow), and it is compared in constant time. The table's key is
``application_id``; an item holds the name, the hash, the last four characters of the
secret (to tell keys apart in ``gamepipe apps list``), when it was created, rotated and
revoked, and whether the application may backfill (send events older than the window).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import uuid
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError

# The request header that carries the key (see README, "API keys": why Authorization).
HEADER = "Authorization"
# Where clients (gamepipe generate, the demo) read the key from.
ENV_API_KEY = "GAMEPIPE_API_KEY"
KEY_PREFIX = "gpk"
_KEY = re.compile(r"^gpk\.([0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12})"
                  r"\.([A-Za-z0-9_-]{43})$")  # fmt: skip
MAX_TOKEN_CHARS = 256  # longer header values are refused before any work
# What API Gateway checks before it invokes the authorizer (a non-matching header is a 401
# without a Lambda call): the shape of a key, as new_key makes it.
IDENTITY_PATTERN = r"^([Bb]earer )?gpk\.[0-9a-f-]{36}\.[A-Za-z0-9_-]{43}$"


class UnknownApplication(KeyError):
    """No application has this id."""

    def __str__(self) -> str:
        return f"no application {self.args[0]!r}: `gamepipe apps list` shows them"


class RevokedApplication(ValueError):
    """The application's key was revoked: it cannot be rotated or changed."""


@dataclass(frozen=True)
class Application:
    """One application: who may write, as whom, and since when."""

    application_id: str
    name: str
    key_hash: str = field(repr=False)
    key_hint: str
    created_at: str
    revoked_at: str | None = None
    rotated_at: str | None = None
    allow_backfill: bool = False
    # API Gateway usage-plan key value the authorizer returns (per-application throttling
    # on AWS; unset where no usage plan is configured).
    usage_key: str | None = field(default=None, repr=False)

    @property
    def active(self) -> bool:
        """Whether the application's key is accepted."""
        return self.revoked_at is None

    def public(self) -> dict[str, Any]:
        """What ``gamepipe apps list`` shows (no hash)."""
        return {
            "application_id": self.application_id,
            "name": self.name,
            "key_hint": f"…{self.key_hint}",
            "created_at": self.created_at,
            "rotated_at": self.rotated_at,
            "revoked_at": self.revoked_at,
            "allow_backfill": self.allow_backfill,
            "status": "active" if self.active else "revoked",
        }

    def to_item(self) -> dict[str, Any]:
        """The DynamoDB item (attribute-value form; absent values are left out)."""
        item: dict[str, Any] = {
            "application_id": {"S": self.application_id},
            "name": {"S": self.name},
            "key_hash": {"S": self.key_hash},
            "key_hint": {"S": self.key_hint},
            "created_at": {"S": self.created_at},
            "allow_backfill": {"BOOL": self.allow_backfill},
        }
        for name in ("revoked_at", "rotated_at", "usage_key"):
            value = getattr(self, name)
            if value is not None:
                item[name] = {"S": value}
        return item

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> Application:
        """An application from its DynamoDB item."""

        def text(name: str) -> str | None:
            value = item.get(name)
            return None if value is None else str(value["S"])

        return cls(
            application_id=str(text("application_id")),
            name=str(text("name")),
            key_hash=str(text("key_hash")),
            key_hint=str(text("key_hint") or ""),
            created_at=str(text("created_at")),
            revoked_at=text("revoked_at"),
            rotated_at=text("rotated_at"),
            allow_backfill=bool(item.get("allow_backfill", {}).get("BOOL", False)),
            usage_key=text("usage_key"),
        )


def hash_secret(secret: str) -> str:
    """SHA-256 of a key's secret part, hex (what the table stores)."""
    return hashlib.sha256(secret.encode()).hexdigest()


def new_key(application_id: str) -> tuple[str, str]:
    """A fresh key for the application and its secret part."""
    secret = secrets.token_urlsafe(32)  # 256 bits, 43 characters
    return f"{KEY_PREFIX}.{application_id}.{secret}", secret


def parse_key(token: str) -> tuple[str, str] | None:
    """``(application_id, secret)`` of a well-formed key (``Bearer`` prefix allowed), else None."""
    if len(token) > MAX_TOKEN_CHARS:
        return None
    token = token.strip()
    if token[:7].lower() == "bearer ":
        token = token[7:].lstrip()
    match = _KEY.match(token)
    return (match.group(1), match.group(2)) if match else None


def key_matches(application: Application, secret: str) -> bool:
    """Whether ``secret`` is the application's current key (constant-time comparison)."""
    return hmac.compare_digest(hash_secret(secret), application.key_hash)


def _now(now: datetime | None) -> str:
    return (now or datetime.now(UTC)).astimezone(UTC).isoformat(timespec="seconds")


class ApplicationStore:
    """The applications table, through a boto3 DynamoDB client."""

    def __init__(self, client: Any, table: str) -> None:
        self.client = client
        self.table = table

    def get(self, application_id: str) -> Application | None:
        """The application, read consistently (a key created a moment ago must work)."""
        item = self.client.get_item(
            TableName=self.table,
            Key={"application_id": {"S": application_id}},
            ConsistentRead=True,
        ).get("Item")
        return None if item is None else Application.from_item(item)

    def create(
        self,
        name: str,
        *,
        allow_backfill: bool = False,
        usage_key: str | None = None,
        now: datetime | None = None,
    ) -> tuple[Application, str]:
        """A new application and its key (the only time the key is known)."""
        if not name.strip():
            raise ValueError("an application needs a name")
        application_id = str(uuid.uuid4())
        key, secret = new_key(application_id)
        app = Application(
            application_id=application_id,
            name=name.strip(),
            key_hash=hash_secret(secret),
            key_hint=secret[-4:],
            created_at=_now(now),
            allow_backfill=allow_backfill,
            usage_key=usage_key,
        )
        self.client.put_item(
            TableName=self.table,
            Item=app.to_item(),
            ConditionExpression="attribute_not_exists(application_id)",
        )
        return app, key

    def list(self) -> list[Application]:
        """Every application, oldest first."""
        apps: list[Application] = []
        for page in self.client.get_paginator("scan").paginate(TableName=self.table):
            apps.extend(Application.from_item(item) for item in page.get("Items", []))
        return sorted(apps, key=lambda a: (a.created_at, a.application_id))

    def revoke(self, application_id: str, *, now: datetime | None = None) -> Application:
        """Stop accepting the application's key (within the authorizer caches' 300 s)."""
        app = self._existing(application_id)
        if not app.active:
            return app
        revoked = replace(app, revoked_at=_now(now))
        self._put_over(app, revoked)
        return revoked

    def rotate(
        self, application_id: str, *, now: datetime | None = None
    ) -> tuple[Application, str]:
        """A new key for the application; the old one stops working (as on revoke)."""
        app = self._existing(application_id)
        if not app.active:
            raise RevokedApplication(f"application {application_id} is revoked: create a new one")
        key, secret = new_key(application_id)
        rotated = replace(
            app, key_hash=hash_secret(secret), key_hint=secret[-4:], rotated_at=_now(now)
        )
        self._put_over(app, rotated)
        return rotated, key

    def set_backfill(self, application_id: str, allowed: bool) -> Application:
        """Allow (or stop allowing) the application to send events older than the window."""
        app = self._existing(application_id)
        if not app.active:
            raise RevokedApplication(f"application {application_id} is revoked")
        changed = replace(app, allow_backfill=allowed)
        self._put_over(app, changed)
        return changed

    def _existing(self, application_id: str) -> Application:
        app = self.get(application_id)
        if app is None:
            raise UnknownApplication(application_id)
        return app

    def _put_over(self, old: Application, new: Application) -> None:
        """Replace ``old`` only if nobody changed it meanwhile (optimistic concurrency)."""
        try:
            self.client.put_item(
                TableName=self.table,
                Item=new.to_item(),
                ConditionExpression="key_hash = :hash",
                ExpressionAttributeValues={":hash": {"S": old.key_hash}},
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                raise RuntimeError(
                    f"application {old.application_id} changed meanwhile: try again"
                ) from None
            raise
