"""The estimates as text: a plain table, Markdown, JSON-ready dicts, the levers table."""

from __future__ import annotations

import dataclasses
from typing import Any

from gamepipe.cost.model import Estimate
from gamepipe.cost.prices import DAYS_PER_MONTH

DEFAULT_VOLUMES = (1e6, 1e8, 1e9)
GOAL_USD_PER_MILLION = 0.10  # at 100M events/day
GAP_PUBLISHED = "AWS Game Analytics Pipeline publishes $0.25–0.36 per million events"


def human(n: float) -> str:
    """1e6 → '1M', 1e8 → '100M', 1e9 → '1B'."""
    for div, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if n >= div:
            v = n / div
            return f"{v:g}{suffix}" if v == int(v) else f"{v:.3g}{suffix}"
    return f"{n:g}"


def parse_volume(text: str) -> float:
    """'100M', '1B', '2.5e7', '100_000_000' → events per day."""
    t = text.strip().replace("_", "").replace(",", "")
    mult = {"k": 1e3, "m": 1e6, "b": 1e9, "g": 1e9}.get(t[-1:].lower(), 1.0)
    if mult != 1.0:
        t = t[:-1]
    value = float(t) * mult
    if value <= 0:
        raise ValueError("events per day must be positive")
    return value


def to_dict(est: Estimate) -> dict[str, Any]:
    """JSON-ready estimate: inputs, lines, totals, by service, derived sizes."""
    return {
        "events_per_day": est.inputs.events_per_day,
        "usd_per_day": est.usd_per_day,
        "usd_per_month": est.usd_per_day * DAYS_PER_MONTH,
        "usd_per_million_events": est.usd_per_million_events,
        "by_service": est.by_service(),
        "lines": [dataclasses.asdict(line) for line in est.lines],
        "derived": est.derived,
        "inputs": dataclasses.asdict(est.inputs),
    }


def _val(v: Any) -> str:
    return f"{v:,.4g}" if isinstance(v, float) else repr(v)


def _qty(v: float) -> str:
    if v >= 100:
        return f"{v:,.0f}"
    return f"{v:.4g}"


def _money(v: float) -> str:
    if v >= 100:
        return f"${v:,.0f}"
    if v >= 1:
        return f"${v:,.2f}"
    return f"${v:.4f}"


def render_markdown(ests: list[Estimate], sources: dict[str, str], preset: str) -> str:
    """Markdown: a per-volume summary, where the cost goes, and each volume's lines."""
    out = [
        f"Preset `{preset}`; list prices us-east-1 (see `gamepipe.cost.PRICES`).",
        "",
        "| events/day | $/day | $/month | $/million events | biggest item |",
        "|---:|---:|---:|---:|---|",
    ]
    for e in ests:
        top, top_usd = next(iter(e.by_service().items()))
        share = top_usd / e.usd_per_day * 100 if e.usd_per_day else 0
        out.append(
            f"| {human(e.inputs.events_per_day)} | {_money(e.usd_per_day)} |"
            f" {_money(e.usd_per_day * DAYS_PER_MONTH)} | {_money(e.usd_per_million_events)} |"
            f" {top} ({share:.0f}%) |"
        )
    services = list(dict.fromkeys(s for e in ests for s in e.by_service()))
    out += ["", "Where the cost goes ($ per million events):", ""]
    out.append("| service | " + " | ".join(human(e.inputs.events_per_day) for e in ests) + " |")
    out.append("|---|" + "---:|" * len(ests))
    for s in services:
        cells = [_money(e.by_service().get(s, 0.0) / (e.inputs.events_per_day / 1e6)) for e in ests]
        out.append(f"| {s} | " + " | ".join(cells) + " |")
    for e in ests:
        out += ["", f"Lines at {human(e.inputs.events_per_day)} events/day:", ""]
        out += ["| service | item | quantity/day | unit | $/day |", "|---|---|---:|---|---:|"]
        for line in e.lines:
            out.append(
                f"| {line.service} | {line.item} | {_qty(line.quantity)} | {line.unit} |"
                f" {_money(line.usd_per_day)} |"
            )
        d = e.derived
        out.append(
            f"\nShards {d['shards']:g}; consumer batches/day {d['consumer_batches_per_day']:,.0f}"
            f" ({d['events_per_batch']:,.0f} events, {d['consumer_ms_per_batch']:,.0f} ms each);"
            f" Parquet files/day {d['files_per_day']:,.0f} (avg {d['avg_file_kb']:,.0f} KB);"
            f" Athena scans {d['athena_gb_scanned_per_day']:,.2f} GB/day."
        )
    if sources:
        out += ["", "Inputs not at their defaults:", ""]
        out += [
            f"- `{k}` = {_val(getattr(ests[0].inputs, k))} ({v})"
            for k, v in sorted(sources.items())
        ]
    return "\n".join(out)


def render_table(ests: list[Estimate], sources: dict[str, str], preset: str) -> str:
    """Plain text: per volume, the lines and the total."""
    out = [f"Preset {preset}; us-east-1 list prices (gamepipe.cost.PRICES)."]
    for e in ests:
        out.append("")
        out.append(
            f"== {human(e.inputs.events_per_day)} events/day: {_money(e.usd_per_day)}/day,"
            f" {_money(e.usd_per_day * DAYS_PER_MONTH)}/month,"
            f" {_money(e.usd_per_million_events)} per million events"
        )
        for line in e.lines:
            share = line.usd_per_day / e.usd_per_day * 100 if e.usd_per_day else 0
            out.append(
                f"  {line.service:<19} {line.item:<44} {_qty(line.quantity):>14} {line.unit:<13}"
                f" {_money(line.usd_per_day):>10} {share:5.1f}%"
            )
    if sources:
        out.append("")
        out += [
            f"  {k} = {_val(getattr(ests[0].inputs, k))}  ({v})" for k, v in sorted(sources.items())
        ]
    return "\n".join(out)


def render_levers(steps: list[tuple[str, Estimate]]) -> str:
    """Markdown table of the lever steps: $/million events and what changed most."""
    out = [
        "| step | $/million events | $/day | biggest item |",
        "|---|---:|---:|---|",
    ]
    for label, e in steps:
        top, top_usd = next(iter(e.by_service().items()))
        share = top_usd / e.usd_per_day * 100 if e.usd_per_day else 0
        out.append(
            f"| {label} | {_money(e.usd_per_million_events)} | {_money(e.usd_per_day)} |"
            f" {top} ({share:.0f}%) |"
        )
    return "\n".join(out)
