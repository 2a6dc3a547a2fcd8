"""Chart geometry of the KPI dashboard: time series, a cohort heatmap, a funnel (pure).

Like :mod:`chalicelib.reports.charts`, this module decides what is drawn — positions as
fractions of the plot area, tick labels, colours — and the Jinja2 SVG macros
(``templates/kpi_charts.svg.j2``) only draw it, so the arithmetic is unit-testable
without parsing SVG.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from chalicelib.reports.charts import Bar, BarChart, Chart

# Sequential blues for retention rates (0 -> light, 1 -> dark): readable, no bright yellow.
_LIGHT, _DARK = (0xEF, 0xF5, 0xFB), (0x08, 0x45, 0x94)
MAX_FUNNEL_BARS = 25
X_LABELS = 7


@dataclass(frozen=True)
class Tick:
    """One axis tick: where (0..1 along the axis) and its label."""

    at: float
    label: str


@dataclass(frozen=True)
class Axis:
    """An axis: its title and ticks."""

    title: str
    ticks: tuple[Tick, ...]


@dataclass(frozen=True)
class Point:
    """One point of a line: x and y as fractions of the plot, its day and value as text."""

    x: float
    y: float
    day: str
    text: str


@dataclass(frozen=True)
class Series:
    """One line: its name (legend), colour class and points."""

    name: str
    css: str
    points: tuple[Point, ...]


@dataclass(frozen=True)
class LineChart(Chart):
    """A daily time series chart: title, axes and one or more lines."""

    x_axis: Axis
    y_axis: Axis
    series: tuple[Series, ...]


@dataclass(frozen=True)
class Cell:
    """One heatmap cell: text, fill colour and text colour (None value: no data yet)."""

    text: str
    fill: str
    ink: str
    title: str


@dataclass(frozen=True)
class Heatmap(Chart):
    """Cohort rows x day-offset columns of retention rates."""

    row_title: str
    column_title: str
    columns: tuple[str, ...]
    rows: tuple[tuple[str, str, tuple[Cell, ...]], ...]  # (cohort, size text, cells)


def nice_ticks(top: float, count: int = 5) -> tuple[float, list[float]]:
    """A rounded axis maximum >= ``top`` and about ``count`` evenly spaced tick values."""
    if top <= 0:
        return 1.0, [0.0, 1.0]
    raw = top / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    ticks = [i * step for i in range(math.ceil(top / step) + 1)]
    return ticks[-1], ticks


def number(value: float) -> str:
    """Compact number text: 1,234 / 12.5k / 3.4M / 0.25."""
    if abs(value) >= 1_000_000:
        return f"{value / 1_000_000:.1f}M"
    if abs(value) >= 10_000:
        return f"{value / 1000:.1f}k"
    if value == int(value):
        return f"{int(value):,}"
    return f"{value:,.2f}" if abs(value) < 100 else f"{value:,.0f}"


def line_chart(
    title: str,
    days: Sequence[str],
    series: Sequence[tuple[str, str, Sequence[float | None]]],
    *,
    y_title: str,
    x_title: str = "day (UTC)",
    percent: bool = False,
) -> LineChart:
    """Lines over ``days`` (YYYY-MM-DD); each series is (name, css class, values); a None
    value leaves a gap. ``percent`` shows 0..1 values as percentages."""
    top_value = max((v for _, _, vs in series for v in vs if v is not None), default=0.0)
    top, ticks = nice_ticks(float(top_value))
    fmt = _percent if percent else number
    n = len(days)
    xs = [i / (n - 1) if n > 1 else 0.5 for i in range(n)]
    lines = []
    for name, css, values in series:
        points = tuple(
            Point(x, v / top, day, fmt(v))
            for x, day, v in zip(xs, days, values, strict=True)
            if v is not None
        )
        lines.append(Series(name, css, points))
    step = max(1, math.ceil(n / X_LABELS))
    x_ticks = tuple(Tick(xs[i], days[i][5:]) for i in range(0, n, step))
    y_ticks = tuple(Tick(t / top, fmt(t)) for t in ticks)
    return LineChart(title, Axis(x_title, x_ticks), Axis(y_title, y_ticks), tuple(lines))


def _percent(value: float) -> str:
    return f"{value:.0%}" if value >= 0.1 or value == 0 else f"{value:.1%}"


def shade(rate: float) -> tuple[str, str]:
    """Fill colour of a rate (0..1) on the blue scale, and a text colour that reads on it."""
    t = min(1.0, max(0.0, rate)) ** 0.6  # low rates (most of retention) still differ
    rgb = [round(a + (b - a) * t) for a, b in zip(_LIGHT, _DARK, strict=True)]
    return "#{:02x}{:02x}{:02x}".format(*rgb), ("#ffffff" if t > 0.55 else "#1b2a3a")


def retention_heatmap(
    rows: Sequence[tuple[str, int, Sequence[int | None]]], offsets: Sequence[int]
) -> Heatmap:
    """Rows of (cohort day, size, players active on each day offset, None = not known)."""
    out = []
    for cohort, size, actives in rows:
        cells = []
        for n, active in zip(offsets, actives, strict=True):
            if active is None or size == 0:
                cells.append(Cell("", "#f4f4f4", "#999999", f"{cohort} day {n}: not known yet"))
                continue
            rate = active / size
            fill, ink = shade(rate)
            title = f"{cohort} day {n}: {active:,} of {size:,} ({rate:.1%})"
            cells.append(Cell(f"{rate:.0%}", fill, ink, title))
        out.append((cohort, f"{size:,}", tuple(cells)))
    return Heatmap(
        "Retention by install cohort",
        "install day (cohort size)",
        "days since install",
        tuple(f"D{n}" for n in offsets),
        tuple(out),
    )


def funnel(rows: Sequence[tuple[int, int, float]], max_bars: int = MAX_FUNNEL_BARS) -> BarChart:
    """(level, players, median days) rows as a bar per level (its detail: the median days);
    past ``max_bars`` levels, equal bands of levels, each shown with its first level's
    players and median days."""
    ordered = sorted(rows)
    width = max(1, math.ceil(len(ordered) / max_bars))
    top = max((p for _, p, _ in ordered), default=0) or 1
    steps = []
    for i in range(0, len(ordered), width):
        band = ordered[i : i + width]
        level, players, median = band[0]
        label = f"{level}" if len(band) == 1 else f"{level}–{band[-1][0]}"
        steps.append(Bar(label, players, players / top, f"{median:g} d"))
    note = f"bands of {width} levels: players and median of the band's first level" * (width > 1)
    return BarChart("Progression funnel", "players reaching the level", tuple(steps), note, "level")
