"""Chart data for the reports: bars with labels and scaled lengths, no drawing (pure).

The drawing is a Jinja2 SVG template (``templates/bar_chart.svg.j2``); this module only
decides what the bars are, so the arithmetic is unit-testable without parsing SVG.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

# Enough bars to read at a glance; more categories are grouped (levels) or cut (guilds).
MAX_BARS = 20


@dataclass(frozen=True)
class Bar:
    """One bar: its label, value, length as a fraction (0..1) of the longest bar, and any
    text shown after the value (a funnel step's median days)."""

    label: str
    value: float
    fraction: float
    detail: str = ""


@dataclass(frozen=True)
class Chart:
    """What every chart has: its title, which also names it in the page."""

    title: str

    @property
    def slug(self) -> str:
        """The title as an id in the page: lower case, words joined by '-', no ( ) or /."""
        return re.sub(r"[()/]", "", self.title.lower().replace(" ", "-"))


@dataclass(frozen=True)
class BarChart(Chart):
    """A horizontal bar chart: title, axis caption and bars in display order."""

    caption: str  # the value axis' title
    bars: tuple[Bar, ...]
    note: str = ""
    axis: str = ""  # the category axis' title


def bar_chart(
    title: str, caption: str, items: Iterable[tuple[str, float]], note: str = ""
) -> BarChart:
    """Scale ``(label, value)`` pairs against the largest value (all-zero data → empty bars)."""
    pairs = [(label, float(value)) for label, value in items]
    top = max((v for _, v in pairs), default=0.0)
    bars = tuple(Bar(label, value, value / top if top > 0 else 0.0) for label, value in pairs)
    return BarChart(title, caption, bars, note)


def distribution(values: Iterable[int | None], max_bars: int = MAX_BARS) -> list[tuple[str, int]]:
    """Count how many rows have each value; group into equal integer ranges past ``max_bars``."""
    counts = Counter(v for v in values if v is not None)
    if not counts:
        return []
    lo, hi = min(counts), max(counts)
    if hi - lo + 1 <= max_bars:
        return [(str(v), counts.get(v, 0)) for v in range(lo, hi + 1)]
    # Ceil division so max_bars ranges of `width` cover lo..hi.
    width = -(-(hi - lo + 1) // max_bars)
    grouped: list[tuple[str, int]] = []
    for start in range(lo, hi + 1, width):
        end = min(start + width - 1, hi)
        n = sum(c for v, c in counts.items() if start <= v <= end)
        grouped.append((f"{start}–{end}", n))
    return grouped


def largest(
    items: Sequence[tuple[str, float]], max_bars: int = MAX_BARS
) -> tuple[list[tuple[str, float]], int]:
    """The ``max_bars`` largest items (value desc, label asc) and how many were left out."""
    ordered = sorted(items, key=lambda kv: (-kv[1], kv[0]))
    return ordered[:max_bars], max(0, len(ordered) - max_bars)
