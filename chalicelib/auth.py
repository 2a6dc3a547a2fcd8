"""The API's authorizer: which application a request's key belongs to, cached, as a policy.

``app.py`` registers :func:`Authorizer.authorize` as a Chalice built-in authorizer on the
ingest routes; API Gateway runs it before the API function (``chalice local`` runs it too).
A missing header never reaches it (the gateway answers 401); a malformed, unknown, wrong or
revoked key gets a Deny policy (403); only a store failure raises (the gateway's 500, which
the template turns into a 503 a client retries).

Two caches bound the load on DynamoDB: API Gateway keeps each key's policy for
``AUTHORIZER_TTL_SECONDS``, and this module keeps each key's verdict for
``Settings.auth_cache_seconds`` (at most ``MAX_CACHE_SECONDS - AUTHORIZER_TTL_SECONDS``),
so a revoked or rotated key stops working within 300 s. The in-process cache is an LRU of
at most ``CACHE_ENTRIES`` verdicts, keyed by a hash of the key, negative verdicts included
(a flood of random keys costs one lookup each per interval, not one per request).
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from chalicelib.applications import ApplicationStore, key_matches, parse_key

logger = logging.getLogger(__name__)

AUTHORIZER_TTL_SECONDS = 240  # API Gateway's cache of a key's policy
MAX_CACHE_SECONDS = 300  # the most a revoked key may keep working, both caches together
CACHE_ENTRIES = 1024
# The routes a key's policy allows; API Gateway reuses a cached policy for every route.
ROUTES = ("POST/v1/events", "POST/v1/events/*")
# What a denied client is told (the log says which case it was, the client does not learn
# whether an application exists or was revoked).
DENIED = "invalid or revoked API key"


@dataclass(frozen=True)
class Principal:
    """The application a key belongs to, as the API sees it."""

    application_id: str
    backfill: bool = False
    usage_key: str | None = None


@dataclass(frozen=True)
class Verdict:
    """The outcome of checking one key: a principal, or why not (for the log)."""

    principal: Principal | None
    reason: str = ""


class TtlCache:
    """A bounded LRU whose entries expire after ``ttl`` seconds (thread-safe)."""

    def __init__(
        self,
        ttl: float,
        max_entries: int = CACHE_ENTRIES,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self.clock = clock
        self._items: OrderedDict[bytes, tuple[float, Verdict]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: bytes) -> Verdict | None:
        """The live entry for ``key``, or None."""
        with self._lock:
            entry = self._items.get(key)
            if entry is None:
                return None
            if entry[0] <= self.clock():
                del self._items[key]
                return None
            self._items.move_to_end(key)
            return entry[1]

    def put(self, key: bytes, verdict: Verdict) -> None:
        """Remember ``verdict`` for ``ttl`` seconds, evicting the least recently used."""
        if self.ttl <= 0:
            return
        with self._lock:
            self._items[key] = (self.clock() + self.ttl, verdict)
            self._items.move_to_end(key)
            while len(self._items) > self.max_entries:
                self._items.popitem(last=False)

    def __len__(self) -> int:
        return len(self._items)


class Authorizer:
    """Checks keys against the applications table, through the cache."""

    def __init__(
        self,
        store: ApplicationStore,
        cache_seconds: float,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        ttl = max(0.0, min(float(cache_seconds), MAX_CACHE_SECONDS - AUTHORIZER_TTL_SECONDS))
        self.store = store
        self.cache = TtlCache(ttl, clock=clock)

    def identify(self, token: str) -> Verdict:
        """The principal of ``token`` (an Authorization header value), or why there is none."""
        parsed = parse_key(token or "")
        if parsed is None:
            return Verdict(None, "malformed key")
        digest = hashlib.sha256(token.encode()).digest()
        cached = self.cache.get(digest)
        if cached is not None:
            return cached
        application_id, secret = parsed
        app = self.store.get(application_id)  # a store error raises: not the client's fault
        if app is None:
            verdict = Verdict(None, "unknown application")
        elif not key_matches(app, secret):
            verdict = Verdict(None, "wrong key (rotated?)")
        elif not app.active:
            verdict = Verdict(None, "revoked")
        else:
            verdict = Verdict(Principal(app.application_id, app.allow_backfill, app.usage_key))
        self.cache.put(digest, verdict)
        return verdict

    def authorize(self, token: str, method_arn: str) -> dict[str, Any]:
        """The authorizer's answer to API Gateway: Allow with the application, or Deny."""
        verdict = self.identify(token)
        if verdict.principal is None:
            logger.info("authorizer denied: %s", verdict.reason)
        return auth_response(verdict.principal, method_arn)


def auth_response(principal: Principal | None, method_arn: str) -> dict[str, Any]:
    """An API Gateway Lambda-authorizer response for ``method_arn``'s API and stage."""
    # arn:aws:execute-api:<region>:<account>:<api id>/<stage>/<METHOD>/<path>
    api_stage = "/".join(method_arn.split("/", 2)[:2])
    if principal is None:
        return {
            "principalId": "denied",
            "policyDocument": _policy("Deny", [f"{api_stage}/*"]),
            "context": {"reason": DENIED},
        }
    response: dict[str, Any] = {
        "principalId": principal.application_id,
        "policyDocument": _policy("Allow", [f"{api_stage}/{route}" for route in ROUTES]),
        # Context values reach the route as request.context["authorizer"] (strings on AWS).
        "context": {
            "application_id": principal.application_id,
            "backfill": "true" if principal.backfill else "false",
        },
    }
    if principal.usage_key:
        response["usageIdentifierKey"] = principal.usage_key
    return response


def _policy(effect: str, resources: list[str]) -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [{"Action": "execute-api:Invoke", "Effect": effect, "Resource": resources}],
    }
