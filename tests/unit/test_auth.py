"""API keys and the authorizer without AWS: key format, hashing, the bounded cache, the
policy API Gateway gets."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from chalicelib.applications import Application, hash_secret, key_matches, new_key, parse_key
from chalicelib.auth import (
    AUTHORIZER_TTL_SECONDS,
    MAX_CACHE_SECONDS,
    Authorizer,
    Principal,
    TtlCache,
    Verdict,
    auth_response,
)

APP_ID = "6b1c8a52-7a3e-4c1e-9f0e-0000000000aa"
ARN = "arn:aws:execute-api:eu-west-1:123456789012:abcdef1234/api/POST/v1/events"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class FakeStore:
    """An ApplicationStore stand-in counting lookups."""

    def __init__(self, *apps: Application) -> None:
        self.apps = {a.application_id: a for a in apps}
        self.gets = 0

    def get(self, application_id: str) -> Application | None:
        self.gets += 1
        return self.apps.get(application_id)


def _app(**kw: Any) -> tuple[Application, str]:
    key, secret = new_key(APP_ID)
    app = Application(APP_ID, "game", hash_secret(secret), secret[-4:], "2026-11-28T00:00:00+00:00")
    return replace(app, **kw), key


def test_keys_carry_the_application_and_256_random_bits() -> None:
    # GIVEN two fresh keys of one application
    (key1, secret1), (key2, _) = new_key(APP_ID), new_key(APP_ID)
    # THEN they parse back to the application and differ; only the hash is kept
    assert key1 != key2 and key1.startswith(f"gpk.{APP_ID}.")
    assert parse_key(key1) == (APP_ID, secret1)
    assert parse_key(f"Bearer {key1}") == (APP_ID, secret1)
    assert (
        len(secret1) == 43 and hash_secret(secret1) != secret1 and len(hash_secret(secret1)) == 64
    )


@pytest.mark.parametrize(
    "token",
    ["", "gpk", "x" * 300, f"gpk.{APP_ID}.short", f"gpk.not-a-uuid.{'a' * 43}",
     f"gpk.{APP_ID}.{'a' * 42}!", f"gpk.{APP_ID}.{'a' * 43}.x", "' OR 1=1 --"],
)  # fmt: skip
def test_malformed_tokens_are_not_keys(token: str) -> None:
    assert parse_key(token) is None


def test_key_matches_compares_the_hash() -> None:
    app, key = _app()
    _, secret = parse_key(key) or ("", "")
    assert key_matches(app, secret) and not key_matches(app, secret[:-1] + "A")


def test_authorizer_allows_the_key_and_caches_the_verdict() -> None:
    # GIVEN a store with one application and an authorizer with a 60 s cache
    app, key = _app(allow_backfill=True)
    store, clock = FakeStore(app), Clock()
    auth = Authorizer(store, 60, clock=clock)  # type: ignore[arg-type]
    # WHEN the key is checked twice within the interval, and again after it
    first, second = auth.identify(key), auth.identify(key)
    clock.now += 61
    auth.identify(key)
    # THEN it is the application (with its backfill right), read from the store twice
    assert first == second == Verdict(Principal(APP_ID, backfill=True))
    assert store.gets == 2


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda key: key[:-4] + "AAAA", "wrong key (rotated?)"),
        (lambda key: key.replace(APP_ID, APP_ID[:-2] + "bb"), "unknown application"),
        (lambda key: "not a key", "malformed key"),
    ],
)
def test_wrong_unknown_and_malformed_keys_are_denied(change: Any, reason: str) -> None:
    app, key = _app()
    auth = Authorizer(FakeStore(app), 60)  # type: ignore[arg-type]
    assert auth.identify(change(key)) == Verdict(None, reason)


def test_a_revoked_key_is_denied_once_the_cache_forgets_it() -> None:
    # GIVEN an allowed key, then its application revoked in the store
    app, key = _app()
    store, clock = FakeStore(app), Clock()
    auth = Authorizer(store, 60, clock=clock)  # type: ignore[arg-type]
    assert auth.identify(key).principal is not None
    store.apps[APP_ID] = replace(app, revoked_at="2026-11-28T01:00:00+00:00")
    # WHEN checked within the cache interval, and after it
    cached = auth.identify(key)
    clock.now += 60
    later = auth.identify(key)
    # THEN the cache answers until it expires; then the key is denied as revoked
    assert cached.principal is not None
    assert later == Verdict(None, "revoked")


def test_cache_interval_keeps_revocation_within_300_seconds() -> None:
    # GIVEN an asked-for cache longer than allowed WHEN the authorizer is built
    auth = Authorizer(FakeStore(), 3600)  # type: ignore[arg-type]
    # THEN both caches together stay within 300 s
    assert auth.cache.ttl + AUTHORIZER_TTL_SECONDS <= MAX_CACHE_SECONDS == 300


def test_cache_is_bounded_least_recently_used_first() -> None:
    cache = TtlCache(60, max_entries=3)
    for n in range(3):
        cache.put(bytes([n]), Verdict(None, str(n)))
    cache.get(b"\x00")  # recently used
    cache.put(b"\x03", Verdict(None, "3"))
    assert len(cache) == 3 and cache.get(b"\x01") is None and cache.get(b"\x00") is not None
    assert (
        TtlCache(0).ttl == 0 and not TtlCache(0).put(b"x", Verdict(None)) and len(TtlCache(0)) == 0
    )


def test_policy_allows_both_ingest_routes_of_the_stage_with_the_application() -> None:
    # GIVEN a principal with a usage-plan key WHEN its authorizer response is built
    response = auth_response(Principal(APP_ID, usage_key="k" * 30), ARN)
    # THEN the policy allows both ingest routes (API Gateway reuses it for each route)
    statement = response["policyDocument"]["Statement"][0]
    assert statement["Effect"] == "Allow"
    assert statement["Resource"] == [
        "arn:aws:execute-api:eu-west-1:123456789012:abcdef1234/api/POST/v1/events",
        "arn:aws:execute-api:eu-west-1:123456789012:abcdef1234/api/POST/v1/events/*",
    ]
    # AND the route learns the application; API Gateway the usage-plan key
    assert response["context"] == {"application_id": APP_ID, "backfill": "false"}
    assert response["principalId"] == APP_ID and response["usageIdentifierKey"] == "k" * 30
    # AND no principal is a Deny on the whole stage, with a reason that reveals nothing
    denied = auth_response(None, ARN)
    assert denied["policyDocument"]["Statement"][0]["Effect"] == "Deny"
    assert denied["context"] == {"reason": "invalid or revoked API key"}
