"""Shared protocol of the benchmark scripts.

Every ``bench/<name>.py`` runs on its own (``python -m bench.<name> [--quick]``) and
exposes ``run(quick: bool) -> list[Figure]`` so ``bench/run.py`` can collect all of them
into BENCHMARKS.md. A figure keeps every repeat's value; ratios against a reference
measured in the same run are figures too (unit "ratio").
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field


@dataclass
class Figure:
    """One measured quantity over repeated runs."""

    bench: str  # script name, e.g. "consumer"
    name: str  # what was measured, e.g. "consumer core events/s (1M events)"
    unit: str  # "events/s", "µs/event", "ms", "MB", "ratio"
    values: list[float] = field(default_factory=list)
    target: str = ""  # e.g. ">= 400000" or "<= 100"
    note: str = ""
    # The cost model input this figure measures (a field of gamepipe.cost.measured.
    # MeasuredFigures); bench/run.py hands its median to the model.
    feeds: str = ""

    @property
    def median(self) -> float:
        """Median over the repeats."""
        return statistics.median(self.values)

    def summary(self) -> str:
        """One human line: name, median (min–max), unit, target."""
        lo, hi = min(self.values), max(self.values)
        tgt = f"  [target {self.target}]" if self.target else ""
        med = _num(self.median)
        return f"{self.name}: {med} {self.unit} (min {_num(lo)}, max {_num(hi)}){tgt}"


def _num(value: float) -> str:
    """Readable number: thousands separators for large values, 3 significant digits else."""
    return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.3g}"


@contextmanager
def stopwatch() -> Iterator[Callable[[], float]]:
    """Context manager yielding a function that returns elapsed seconds."""
    start = time.perf_counter()
    end: list[float] = []
    yield lambda: (end[0] if end else time.perf_counter()) - start
    end.append(time.perf_counter())


def cpu_seconds() -> float:
    """Process CPU time (user + system) in seconds."""
    return time.process_time()


def main(run: Callable[[bool], list[Figure]]) -> None:
    """Standalone entry: ``--quick`` for a CI-sized run, ``--json`` to print figures as JSON."""
    quick = "--quick" in sys.argv
    figures = run(quick)
    if "--json" in sys.argv:
        print(json.dumps([asdict(f) for f in figures], indent=2))
    else:
        for f in figures:
            print(f.summary())
