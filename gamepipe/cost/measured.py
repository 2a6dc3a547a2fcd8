"""Measured speeds the model takes from a benchmark run, by name: a typed record, not a
search through figure names.

``bench/run.py`` writes it into ``bench/out/latest.json`` under ``"measured"``: each
benchmark script marks the figure that measures one of these inputs (``Figure.feeds``),
and the runner fills the field with that figure's median. The model knows nothing about
the benchmarks' figure names; the benchmarks name the model's fields.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

DEFAULT_BENCH_JSON = Path(__file__).resolve().parents[2] / "bench" / "out" / "latest.json"


class Measured(NamedTuple):
    """One measured value and where it comes from (script: figure)."""

    value: float
    source: str


@dataclass(frozen=True)
class MeasuredFigures:
    """The model inputs a benchmark run can measure; None = not measured (default applies)."""

    ingest_us_per_event: Measured | None = None  # ingest handler CPU µs per event
    consumer_events_per_s: Measured | None = None  # consumer events per CPU-second, 1 vCPU
    consumer_batch_overhead_ms: Measured | None = None  # per-batch time besides events
    lake_bytes_per_event: Measured | None = None  # Parquet bytes per event, five tables

    def found(self) -> dict[str, Measured]:
        """The measured fields, by input name."""
        return {
            f.name: value
            for f in dataclasses.fields(self)
            if (value := getattr(self, f.name)) is not None
        }

    def to_json(self) -> dict[str, Any]:
        """The JSON form ``bench/run.py`` writes (only the measured fields)."""
        return {name: m._asdict() for name, m in self.found().items()}

    @classmethod
    def from_json(cls, doc: dict[str, Any], where: str = "") -> MeasuredFigures:
        """Read the JSON form; ``where`` prefixes each source (file and run date)."""
        prefix = f"{where}: " if where else ""
        return cls(
            **{
                name: Measured(float(m["value"]), prefix + str(m["source"]))
                for name, m in doc.items()
            }
        )


def load_measured(path: Path | str | None = None) -> MeasuredFigures:
    """The measured inputs of a ``bench.run`` JSON file; none if it is missing or unreadable."""
    p = Path(path) if path else DEFAULT_BENCH_JSON
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return MeasuredFigures()
    return MeasuredFigures.from_json(data.get("measured", {}), f"{p.name} {data.get('date', '')}")
