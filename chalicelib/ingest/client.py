"""Who sent an ingest request, from its headers and the API key authorizer's context."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

HOST_MAX = 256  # the contract's max lengths, so the consumer accepts what we write
USER_AGENT_MAX = 512


@dataclass(frozen=True)
class ClientInfo:
    """Who sent the request: the seed kept Host and User-Agent with each event."""

    host: str = ""
    user_agent: str = ""
    source_ip: str = ""
    application_id: str = ""  # from the authorizer; empty = not authorized
    backfill: bool = False  # the application may send events older than the window

    @classmethod
    def from_request(
        cls, headers: Mapping[str, str] | None, context: Mapping[str, Any] | None
    ) -> ClientInfo:
        """Build from a Chalice request's headers and API Gateway request context."""
        lowered = {k.lower(): v for k, v in (headers or {}).items()}
        identity = (context or {}).get("identity") or {}
        # The authorizer's context: values are strings on API Gateway ("true"/"false").
        authorizer = (context or {}).get("authorizer") or {}
        return cls(
            host=str(lowered.get("host", ""))[:HOST_MAX],
            user_agent=str(lowered.get("user-agent", ""))[:USER_AGENT_MAX],
            source_ip=str(identity.get("sourceIp", "") or ""),
            application_id=str(authorizer.get("application_id", "") or ""),
            backfill=str(authorizer.get("backfill", "")).lower() == "true",
        )
