"""Where generated events go: the HTTP API (batched, concurrent) or the stream directly.

The direct-to-stream target encodes records with the API's own ``encode_records`` and
writes them with ``put_records``, so the consumer sees exactly what the API would write.
It does not validate: invalid events reach the stream, and the consumer's dead-letter
path handles them (the API would have rejected them instead).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol
from urllib.parse import urlparse

import msgspec
import requests
from tenacity import (
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
    wait_random_exponential,
)

from chalicelib.applications import HEADER
from chalicelib.ingest import ClientInfo, encode_records
from chalicelib.kinesis_writer import put_records

USER_AGENT = "gamepipe-generator/0.1"
_HEADERS = {"Content-Type": "application/json", "User-Agent": USER_AGENT}


@dataclass
class BatchResult:
    """What happened to one batch."""

    sent: int
    accepted: int = 0
    rejected: int = 0
    failed: int = 0  # valid events the target could not store (after its retries)
    status: int = 0  # HTTP status (0 for the stream target)


class Target(Protocol):
    """Something that takes a batch of events."""

    def send(self, events: Sequence[Any]) -> BatchResult:
        """Send one batch and report what was accepted."""
        ...

    def close(self) -> None:
        """Release connections."""
        ...


class _Retryable(Exception):
    """A 5xx or 429 reply: the whole batch may be sent again."""


class HttpTarget:
    """POST batches to ``{base_url}/v1/events``; one requests.Session per thread."""

    def __init__(
        self,
        base_url: str,
        *,
        timeout: float = 30.0,
        attempts: int = 4,
        sleep: Callable[[float], None] = time.sleep,
        keep_alive: bool = True,
        api_key: str | None = None,
    ):
        self.url = base_url.rstrip("/") + "/v1/events"
        # The application's key in the header the API's authorizer reads.
        self.headers = {**_HEADERS, **({HEADER: api_key} if api_key else {})}
        self.timeout = timeout
        self.attempts = attempts
        self.sleep = sleep
        # Without keep-alive every request opens its own connection. Slower against a
        # real endpoint (TLS), but chalice local's small replies stall ~40 ms on a
        # kept-alive connection (Nagle + delayed ACK), which dominates small batches.
        self.keep_alive = keep_alive
        self._local = threading.local()
        self._sessions: list[requests.Session] = []
        self._lock = threading.Lock()

    def _session(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            session.headers.update(self.headers)
            self._local.session = session
            with self._lock:
                self._sessions.append(session)
        return session

    def send(self, events: Sequence[Any]) -> BatchResult:
        """POST one batch; resend the batch on connection errors, 429 and 5xx."""
        body = msgspec.json.encode({"events": list(events)})
        retrying = Retrying(
            stop=stop_after_attempt(self.attempts),
            wait=wait_random_exponential(multiplier=0.1, max=2),
            retry=retry_if_exception_type((_Retryable, requests.ConnectionError)),
            sleep=self.sleep,
            reraise=True,
        )
        try:
            response = retrying(self._post, body)
        except (_Retryable, requests.RequestException) as exc:
            status = exc.args[0] if isinstance(exc, _Retryable) else 0
            return BatchResult(sent=len(events), failed=len(events), status=status)
        data = response.json() if response.content else {}
        if response.status_code == 413 or "accepted" not in data:
            return BatchResult(sent=len(events), failed=len(events), status=response.status_code)
        return BatchResult(
            sent=len(events),
            accepted=int(data.get("accepted", 0)),
            rejected=len(data.get("rejected", [])),
            failed=len(data.get("failed", [])),
            status=response.status_code,
        )

    def _post(self, body: bytes) -> requests.Response:
        if self.keep_alive:
            response = self._session().post(self.url, data=body, timeout=self.timeout)
        else:
            headers = {**self.headers, "Connection": "close"}
            response = requests.post(self.url, data=body, headers=headers, timeout=self.timeout)
        if response.status_code == 429 or response.status_code >= 500:
            raise _Retryable(response.status_code)
        return response

    def close(self) -> None:
        """Close every thread's session."""
        with self._lock:
            for s in self._sessions:
                s.close()
            self._sessions.clear()


class KinesisTarget:
    """Write batches straight to a Kinesis stream, formatted exactly as the API does."""

    def __init__(self, stream: str, client: Any, *, max_attempts: int = 8):
        self.stream = stream
        self.client = client
        self.max_attempts = max_attempts
        self.info = ClientInfo(host="generator.local", user_agent=USER_AGENT)

    def send(self, events: Sequence[Any]) -> BatchResult:
        """Encode the batch as NDJSON records keyed by userid and put them."""
        records = encode_records(events, self.info, datetime.now(UTC))
        summary = put_records(self.client, self.stream, records, max_attempts=self.max_attempts)
        return BatchResult(
            sent=len(events), accepted=summary.events_sent, failed=summary.events_failed
        )

    def close(self) -> None:
        """Nothing to release (the boto3 client is shared)."""


def open_target(
    spec: str,
    *,
    kinesis_client: Any = None,
    max_attempts: int = 8,
    keep_alive: bool | None = None,
    api_key: str | None = None,
) -> Target:
    """``http(s)://host:port`` → HttpTarget (sending ``api_key``); ``kinesis://stream`` →
    KinesisTarget (no key: a trusted writer with IAM access to the stream).

    ``keep_alive=None`` picks by scheme: reuse connections over https (a TLS handshake per
    request is expensive; API Gateway is https only), a connection per request over plain
    http, which measured 2-2.5x faster against chalice local (see HttpTarget).
    """
    parsed = urlparse(spec)
    if parsed.scheme in ("http", "https"):
        if keep_alive is None:
            keep_alive = parsed.scheme == "https"
        return HttpTarget(spec, keep_alive=keep_alive, api_key=api_key)
    if parsed.scheme == "kinesis" and parsed.netloc:
        if kinesis_client is None:
            from chalicelib import aws

            kinesis_client = aws.client("kinesis")
        return KinesisTarget(parsed.netloc, kinesis_client, max_attempts=max_attempts)
    raise ValueError(f"target must be http(s)://host:port or kinesis://<stream>, got {spec!r}")
