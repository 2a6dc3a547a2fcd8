"""Run ``@app.schedule`` handlers on their rate/cron expressions, and invoke functions on demand."""

from __future__ import annotations

import logging
import re
import threading
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from croniter import croniter

from gamepipe.runtime.lambda_host import invoker

log = logging.getLogger(__name__)
_RATE = re.compile(r"^rate\((\d+)\s+(minute|minutes|hour|hours|day|days)\)$")
_UNIT = {"minute": 60, "hour": 3600, "day": 86400}
_AWS_DOW = {str(i): str(i - 1) for i in range(1, 8)}  # AWS 1-7 = SUN-SAT; cron 0-6


def aws_cron_to_unix(fields: str) -> str:
    """AWS ``min hour dom month dow year`` -> 5-field cron (``?`` -> ``*``, DOW 1-7 -> 0-6)."""
    parts = fields.split()
    if len(parts) != 6:
        raise ValueError(f"AWS cron needs 6 fields, got {fields!r}")
    minute, hour, dom, month, dow, _year = parts
    dom = "*" if dom == "?" else dom
    dow = "*" if dow == "?" else re.sub(r"\b[1-7]\b", lambda m: _AWS_DOW[m.group(0)], dow)
    return f"{minute} {hour} {dom} {month} {dow}"


def next_fire(expression: str, after: datetime) -> datetime:
    """The first time strictly after ``after`` (UTC) at which ``rate(...)``/``cron(...)`` fires."""
    expr = expression.strip()
    m = _RATE.match(expr)
    if m:
        step = int(m.group(1)) * _UNIT[m.group(2).rstrip("s")]
        return after + timedelta(seconds=step)
    if expr.startswith("cron(") and expr.endswith(")"):
        it = croniter(aws_cron_to_unix(expr[5:-1]), after.astimezone(UTC))
        nxt: datetime = it.get_next(datetime)
        return nxt.astimezone(UTC)
    raise ValueError(f"unsupported schedule expression {expression!r}")


def scheduled_event(rule_name: str, when: datetime, region: str = "us-east-1") -> dict[str, Any]:
    """The EventBridge "Scheduled Event" a scheduled Lambda receives."""
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": "123456789012",
        "time": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": region,
        "resources": [f"arn:aws:events:{region}:123456789012:rule/{rule_name}"],
        "detail": {},
    }


@dataclass
class Job:
    """One scheduled function and the next time it fires."""

    name: str
    expression: str
    next_at: datetime


def scheduled_jobs(app: Any, now: datetime) -> list[Job]:
    """The app's ``@app.schedule`` functions with their next fire time after ``now``."""
    jobs = []
    for src in app.event_sources:
        expr = getattr(src, "schedule_expression", None)
        if expr is None:
            continue
        expr_s = expr if isinstance(expr, str) else expr.to_string()
        jobs.append(Job(src.name, expr_s, next_fire(expr_s, now)))
    return jobs


def run_schedules(
    app: Any, stop: threading.Event, *, now: Any = None, region: str = "us-east-1"
) -> list[tuple[str, Any]]:
    """Fire each scheduled function when due until ``stop`` is set; returns (name, result)."""
    clock = now or (lambda: datetime.now(UTC))
    jobs = scheduled_jobs(app, clock())
    results: list[tuple[str, Any]] = []
    while not stop.is_set() and jobs:
        job = min(jobs, key=lambda j: j.next_at)
        wait = (job.next_at - clock()).total_seconds()
        if wait > 0 and stop.wait(min(wait, 1.0)):
            break
        if clock() < job.next_at:
            continue
        log.info("schedule: invoking %s (%s)", job.name, job.expression)
        try:
            results.append(
                (job.name, invoker(app, job.name)(scheduled_event(job.name, job.next_at, region)))
            )
        except Exception:  # a failing schedule must not stop the others (EventBridge retries)
            log.exception("scheduled function %s failed", job.name)
            results.append((job.name, None))
        job.next_at = next_fire(job.expression, job.next_at)
    return results
