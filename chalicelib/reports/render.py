"""Turn the three report tables into the published files: index.html, CSVs, manifest (pure).

No I/O and no clock: everything the output depends on is an argument, so the same input
gives byte-identical files (re-runs overwrite with the same content).
"""

from __future__ import annotations

import csv
import decimal
import functools
import io
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import jinja2
import pyarrow as pa

from chalicelib.reports.charts import BarChart
from chalicelib.reports.definitions import REPORTS, ReportSpec
from chalicelib.reports.kpi_page import dashboard

TEMPLATES = Path(__file__).parent / "templates"
INDEX = "index.html"
MANIFEST = "manifest.json"
# Fixed English month names: strftime("%B") follows the process locale.
_MONTHS = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip
# Columns whose sum over players means something (a "Total" row); levels, attack, defense
# and health are per-player states: their sum is not a quantity of anything.
ADDITIVE = frozenset({"swords", "shields", "potions", "gold_spent", "members"})
# The category axis of each report's chart (the value axis is the chart's caption).
CATEGORY_AXIS = {"player_standings": "level", "player_purchases": "item",
                 "guild_membership": "guild"}  # fmt: skip
# What a published file is, by its name's suffix (S3's Content-Type).
CONTENT_TYPES = {".html": "text/html; charset=utf-8", ".csv": "text/csv; charset=utf-8",
                 ".json": "application/json"}  # fmt: skip


@dataclass(frozen=True)
class ReportFile:
    """One object to publish: file name under the day's prefix and its bytes."""

    name: str
    body: bytes

    @property
    def content_type(self) -> str:
        """The Content-Type its name's suffix says."""
        return CONTENT_TYPES[Path(self.name).suffix]


@dataclass(frozen=True)
class ReportFiles:
    """Everything one report run publishes; ``files`` ends with the manifest."""

    as_of: date
    files: tuple[ReportFile, ...]
    row_counts: dict[str, int]

    def get(self, name: str) -> bytes:
        """The body of the file called ``name``."""
        for f in self.files:
            if f.name == name:
                return f.body
        raise KeyError(name)


def _human_time(stamp: datetime | None) -> str | None:
    """``2026-11-29 21:30 UTC``: what a reader needs, no microseconds."""
    if stamp is None:
        return None
    utc = stamp.astimezone(UTC) if stamp.tzinfo else stamp
    return utc.strftime("%Y-%m-%d %H:%M UTC")


def format_date(day: date) -> str:
    """The seed's title date, e.g. ``August 06, 2021`` (locale-independent)."""
    return f"{_MONTHS[day.month - 1]} {day.day:02d}, {day.year}"


def report_title(spec_title: str, as_of: date) -> str:
    """``<Name> Report as of <Month DD, YYYY>``."""
    return f"{spec_title} Report as of {format_date(as_of)}"


def build_report(
    tables: Mapping[str, pa.Table],
    as_of: date,
    top_n: int,
    *,
    generated_at: datetime | None = None,
    engine: str = "",
    query_ids: Mapping[str, str] | None = None,
    kpis: Mapping[str, pa.Table] | None = None,
) -> ReportFiles:
    """Render index.html, one CSV per report (all rows) and manifest.json from the tables.

    A report missing from ``tables`` or with no rows is rendered as "no events yet".
    ``top_n`` <= 0 shows every row in the HTML. With ``kpis`` (the athena_sql/kpi/
    statements' results by name), the page opens with the KPI dashboard and each KPI's
    rows are published as ``kpi_<name>.csv``.
    """
    sections = [_section(spec, tables.get(spec.name), as_of, top_n) for spec in REPORTS]
    row_counts = {s["name"]: s["total_rows"] for s in sections}
    stamp = generated_at.isoformat(timespec="seconds") if generated_at else None
    html = (
        _environment()
        .get_template("report.html.j2")
        .render(
            page_title=f"Game Analytics Reports as of {format_date(as_of)}",
            as_of=as_of.isoformat(),
            sections=sections,
            no_events=all(n == 0 for n in row_counts.values()),
            generated_at=_human_time(generated_at),
            engine=engine,
            top_n=top_n,
            kpi=dashboard(kpis, as_of) if kpis is not None else None,
        )
    )
    files = [ReportFile(INDEX, html.encode("utf-8"))]
    files += [ReportFile(f"{spec.name}.csv", _csv(tables.get(spec.name))) for spec in REPORTS]
    files += [ReportFile(f"kpi_{name}.csv", _csv(table)) for name, table in (kpis or {}).items()]
    manifest: dict[str, Any] = {
        "as_of": as_of.isoformat(),
        "generated_at": stamp,
        "engine": engine,
        "query_ids": dict(query_ids or {}),
        "row_counts": row_counts,
        **({"kpi_rows": {n: t.num_rows for n, t in kpis.items()}} if kpis is not None else {}),
        "top_n": top_n,
        "files": [f.name for f in files] + [MANIFEST],
    }
    body = json.dumps(manifest, indent=2, sort_keys=True).encode("utf-8")
    files.append(ReportFile(MANIFEST, body))
    return ReportFiles(as_of, tuple(files), row_counts)


@functools.lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    # Built once per process: template compilation is the slow part of rendering.
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def _section(spec: ReportSpec, table: pa.Table | None, as_of: date, top_n: int) -> dict[str, Any]:
    rows: list[dict[str, Any]] = table.to_pylist() if table is not None else []
    names = list(table.column_names) if table is not None else []
    numeric = {n for n in names if table is not None and _is_numeric(table.schema.field(n).type)}
    shown = rows if top_n <= 0 else rows[:top_n]
    # Like the seed's Styler.highlight_max(axis=0): every cell equal to its column's
    # maximum among the rows on the page (ties all highlighted), numeric columns only.
    maxima = {n: max((r[n] for r in shown if r[n] is not None), default=None) for n in numeric}
    return {
        "name": spec.name,
        "title": report_title(spec.title, as_of),
        "description": spec.description,
        "columns": [{"name": n, "numeric": n in numeric} for n in names],
        "rows": [
            [
                {
                    "text": _fmt(r[n]),
                    "numeric": n in numeric,
                    "is_max": n in numeric and r[n] is not None and r[n] == maxima[n],
                }
                for n in names
            ]
            for r in shown
        ],
        "totals": _totals(names, numeric & ADDITIVE, rows) if numeric & ADDITIVE else None,
        "shown_rows": len(shown),
        "total_rows": len(rows),
        "chart": _with_axis(spec.chart(rows), CATEGORY_AXIS.get(spec.name, "")),
        "csv_name": f"{spec.name}.csv",
    }


def _with_axis(chart: BarChart | None, axis: str) -> BarChart | None:
    return replace(chart, axis=axis) if chart is not None and not chart.axis else chart


def _totals(
    names: Sequence[str], summed: set[str], rows: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Totals over ALL rows (not only the ones shown): sums of the ``summed`` columns."""
    label_done = False
    out = []
    for n in names:
        if n in summed:
            text = _fmt(sum(r[n] for r in rows if r[n] is not None))
        elif not label_done:
            text, label_done = f"Total ({len(rows):,} rows)", True
        else:
            text = ""
        out.append({"text": text, "numeric": n in summed})
    return out


def _is_numeric(t: pa.DataType) -> bool:
    return bool(pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_decimal(t))


def _fmt(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, decimal.Decimal) and value == value.to_integral_value():
        value = int(value)
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float | decimal.Decimal):
        return f"{value:,.2f}"
    return str(value)


# A text cell starting with one of these is a formula to Excel, LibreOffice or Sheets
# (OWASP "CSV Injection"): `=HYPERLINK(...)` as a guild name would run when the file opens.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: Any) -> Any:
    """A CSV cell that a spreadsheet shows as text: strings starting with a formula
    trigger get a leading ``'`` (OWASP's rule); numbers (-5 included) stay numbers."""
    if isinstance(value, str) and value.startswith(FORMULA_TRIGGERS):
        return "'" + value
    return value


def _csv(table: pa.Table | None) -> bytes:
    """All rows, header = column names, text cells neutralised against formula injection;
    stdlib csv quotes only when needed (pyarrow's writer quotes every string and header)."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    if table is not None:
        writer.writerow([neutralise(name) for name in table.column_names])
        for row in table.to_pylist():
            writer.writerow(["" if v is None else neutralise(v) for v in row.values()])
    return buf.getvalue().encode("utf-8")
