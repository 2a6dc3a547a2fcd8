"""Daily reports (Player Standings, Player Purchases, Guild Membership) as HTML + CSV in S3.

``build_report`` is pure (tables in, files out); ``publish_report`` writes them to S3;
the handlers glue the query engine, the renderer and S3 together.
"""

from chalicelib.reports.handlers import (
    fetch_tables,
    generate_report,
    handle_on_demand,
    handle_scheduled,
    render_report,
    scheduled_date,
)
from chalicelib.reports.publish import PublishResult, day_prefix, publish_report
from chalicelib.reports.render import ReportFile, ReportFiles, build_report, format_date

__all__ = [
    "PublishResult",
    "ReportFile",
    "ReportFiles",
    "build_report",
    "day_prefix",
    "fetch_tables",
    "format_date",
    "generate_report",
    "handle_on_demand",
    "handle_scheduled",
    "publish_report",
    "render_report",
    "scheduled_date",
]
