"""Write a rendered report to ``s3://<reports bucket>/reports/dt=YYYY-MM-DD/``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from chalicelib.names import REPORTS_PREFIX
from chalicelib.reports.render import INDEX, ReportFiles
from chalicelib.settings import Settings


@dataclass(frozen=True)
class PublishResult:
    """Where a report went: bucket, the day's prefix and every key written."""

    bucket: str
    prefix: str
    keys: tuple[str, ...]

    @property
    def index_uri(self) -> str:
        """s3:// URI of the report page."""
        return f"s3://{self.bucket}/{self.prefix}{INDEX}"

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly form (the Lambda handlers' reply)."""
        return {"bucket": self.bucket, "prefix": self.prefix, "keys": list(self.keys),
                "index_uri": self.index_uri}  # fmt: skip


def day_prefix(as_of: date) -> str:
    """Key prefix of one day's report, e.g. ``reports/dt=2026-11-28/``."""
    return f"{REPORTS_PREFIX}/dt={as_of.isoformat()}/"


def publish_report(
    s3_client: Any, settings: Settings, files: ReportFiles, as_of: date
) -> PublishResult:
    """Put every file under the day's prefix; same names on a re-run, so it overwrites.

    The manifest is written last (``files`` ends with it): a reader who sees the
    manifest sees a complete report.
    """
    prefix = day_prefix(as_of)
    keys = []
    for f in files.files:
        key = prefix + f.name
        s3_client.put_object(
            Bucket=settings.reports_bucket,
            Key=key,
            Body=f.body,
            ContentType=f.content_type,
            # Re-runs replace the objects; stop browsers and CDNs serving yesterday's copy.
            CacheControl="no-cache",
        )
        keys.append(key)
    return PublishResult(settings.reports_bucket, prefix, tuple(keys))
