"""The API authorizer's added latency per request, cached and uncached.

Through ``chalice.test.Client`` (Chalice's local gateway: it runs the built-in authorizer
before the route, as ``chalice local`` does) with the applications table in a moto server
on real HTTP, so an uncached lookup is a DynamoDB ``GetItem`` over a socket. Kinesis is
stubbed. Each request posts one event with the application's key; the figures are the
median request time with

* the real authorizer, its verdict cached (the common case: one lookup per key per
  ``GAMEPIPE_AUTH_CACHE_SECONDS``; API Gateway adds its own cache on AWS),
* the real authorizer with no cache (a ``GetItem`` per request: a key's first request),
* a stub authorizer that allows everything at once (the baseline),

and the added latency is each minus the baseline. Also the authorizer handler alone
(event in, policy out), cached.

    .venv/bin/python -m bench.auth [--quick] [--json]
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from bench.common import Figure, main
from bench.ingest import StubKinesis

BENCH = "auth"


def _timed(call: Callable[[], Any], n: int) -> float:
    """Median wall time of ``call`` over ``n`` runs, in µs (after two warm-ups)."""
    call()
    call()
    times = []
    for _ in range(n):
        start = time.perf_counter()
        call()
        times.append((time.perf_counter() - start) * 1e6)
    return statistics.median(times)


def run(quick: bool) -> list[Figure]:
    """The authorizer figures (see the module docstring)."""
    from chalice.test import Client

    from chalicelib import aws
    from chalicelib.applications import ApplicationStore
    from chalicelib.auth import Authorizer, Principal, auth_response
    from chalicelib.settings import Settings
    from gamepipe.runtime.lambda_host import load_app
    from gamepipe.stack.moto_server import in_process
    from gamepipe.stack.resources import ensure_applications_table

    n, repeats = (150, 3) if quick else (600, 7)
    cached, uncached, baseline, handler = [], [], [], []
    with in_process():
        aws.reset()
        load_app()  # the local stage's environment, then `import app`
        module = sys.modules["app"]
        settings = Settings.from_env()
        dynamodb = aws.client("dynamodb")
        ensure_applications_table(dynamodb, settings.applications_table)
        store = ApplicationStore(dynamodb, settings.applications_table)
        app, key = store.create("bench auth")
        module.SETTINGS = settings
        stub = StubKinesis()
        module._kinesis = lambda: stub
        ts = (datetime.now(UTC) - timedelta(hours=1)).isoformat().replace("+00:00", "Z")
        body = json.dumps({"events": [{"event_type": "find_treasure", "userid": "user-0001",
                                       "event_ts": ts}]})  # fmt: skip
        headers = {"Content-Type": "application/json", "Authorization": key}
        arn = "arn:aws:execute-api:us-east-1:123456789012:abcdef1234/api/POST/v1/events"

        class AllowAll:
            def authorize(self, token: str, method_arn: str) -> dict[str, Any]:
                return auth_response(Principal(app.application_id), method_arn)

        with_cache = Authorizer(store, 60)
        without_cache = Authorizer(store, 0)
        token_event = {"type": "TOKEN", "authorizationToken": key, "methodArn": arn}
        with Client(module.app) as client:

            def post() -> None:
                reply = client.http.post("/v1/events", headers=headers, body=body)
                assert reply.status_code == 200, reply.body

            for _ in range(repeats):
                for authorizer, out in (
                    (AllowAll(), baseline),
                    (with_cache, cached),
                    (without_cache, uncached),
                ):
                    module._authorizer = lambda a=authorizer: a
                    out.append(_timed(post, n))
                module._authorizer = lambda: with_cache
                handler.append(_timed(lambda: module.api_key_authorizer(token_event, None), n * 10))
    aws.reset()
    base = statistics.median(baseline)
    note = (
        f"{n} POSTs of one event per figure and repeat, chalice.test.Client, applications "
        "table in a moto server over HTTP, Kinesis stubbed; added = minus the allow-all "
        f"stub's median ({base:,.0f} µs per request)"
    )
    return [
        Figure(BENCH, "authorizer added latency per request, cached verdict", "µs/request",
               [c - base for c in cached], note=note),
        Figure(BENCH, "authorizer added latency per request, uncached (DynamoDB GetItem)",
               "µs/request", [u - base for u in uncached], note=note),
        Figure(BENCH, "authorizer handler alone, cached (TOKEN event -> policy)", "µs/call",
               handler, note="the Lambda function's work per invocation after a cache hit"),
        Figure(BENCH, "request with the allow-all stub authorizer (baseline)", "µs/request",
               baseline, note=note),
    ]  # fmt: skip


if __name__ == "__main__":
    main(run)
