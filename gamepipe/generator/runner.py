"""Send a generated event stream to a target in batches, several in flight; count the results."""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import asdict, dataclass
from typing import IO, Any

import msgspec
from tqdm import tqdm

from gamepipe.generator.sender import BatchResult, Target
from gamepipe.generator.stream import Generated


@dataclass
class Summary:
    """Totals of one run (printed, and written with --summary-json)."""

    target: str
    sent: int = 0
    accepted: int = 0
    rejected: int = 0
    failed: int = 0
    invalid_generated: int = 0  # bad events mixed in on purpose (--bad-fraction)
    resent: int = 0  # repeats of an earlier event_id (--resend-fraction)
    batches: int = 0
    seconds: float = 0.0

    @property
    def events_per_second(self) -> float:
        """Sent events per wall-clock second."""
        return self.sent / self.seconds if self.seconds else 0.0

    def to_dict(self) -> dict[str, Any]:
        """Fields plus the rate, for JSON output."""
        return {**asdict(self), "events_per_second": round(self.events_per_second, 1)}

    def add(self, r: BatchResult) -> None:
        """Count one batch's result."""
        self.sent += r.sent
        self.accepted += r.accepted
        self.rejected += r.rejected
        self.failed += r.failed
        self.batches += 1


def _batches(items: Iterator[Generated], size: int) -> Iterator[list[Generated]]:
    while batch := list(itertools.islice(items, size)):
        yield batch


def run(
    target: Target,
    stream: Iterator[Generated],
    *,
    batch_size: int,
    concurrency: int,
    truth: IO[bytes] | None,
    summary: Summary,
    progress: tqdm | None = None,
) -> Summary:
    """Send the stream in batches with up to ``concurrency`` in flight; fill ``summary``."""
    encoder = msgspec.json.Encoder()
    started = time.perf_counter()
    in_flight: set[Future[BatchResult]] = set()

    def collect(done: set[Future[BatchResult]]) -> None:
        for fut in done:
            result = fut.result()
            summary.add(result)
            if progress is not None:
                progress.update(result.sent)

    with ThreadPoolExecutor(max_workers=max(1, concurrency)) as pool:
        for batch in _batches(stream, batch_size):
            events = [g.event for g in batch]
            summary.invalid_generated += sum(g.bad_reason is not None for g in batch)
            summary.resent += sum(g.resend for g in batch)
            if truth is not None:
                # One line per event sent, exactly as sent (bad ones and resends too).
                truth.write(b"".join(encoder.encode(e) + b"\n" for e in events))
            if len(in_flight) >= concurrency:
                done, in_flight = wait(in_flight, return_when=FIRST_COMPLETED)
                collect(done)
            in_flight.add(pool.submit(target.send, events))
        collect(set(wait(in_flight).done))
    summary.seconds = time.perf_counter() - started
    return summary
