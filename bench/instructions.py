"""The consumer core in *instructions* per event (valgrind cachegrind).

Wall-clock figures on the shared 2-core VM drift by up to ±30% within an hour, more than
one optimisation round gains; instruction counts do not drift, so this is the yardstick
for comparing two versions of the consumer (check out each and run it). The core runs
in a child process under ``valgrind --tool=cachegrind --cache-sim=no`` twice, doing the
work 1 and 3 times after the same setup; the difference over 2n events is the cost of the
work alone (the first pass carries imports and lazy set-up, which a warm process has
done). Same input as ``bench/consumer.py`` (the project's generator + the API's
encoding), smaller: 20k events (quick: 5k), 1,000-record batches.

    .venv/bin/python -m bench.instructions [--quick]      # make bench-instructions

Instructions are not time (memory stalls and SIMD width differ): use it to compare
versions of the same code, not against other engines. DuckDB's ``read_json → COPY`` is
not measured here: its per-call set-up (connection, JSON sniffing) dominates at sizes
valgrind can run in reasonable time (64k instructions/event at 5k events, 39k at 20k).
Not part of ``make bench``: valgrind is slow (~1 min) and not on CI machines.
"""

from __future__ import annotations

import os
import pickle
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.common import Figure, main

BENCH = "instructions"
REPEATS = 2  # work done in the measured child (the baseline child does it 0 times)


def _child(batches_file: Path, repeats: int) -> None:
    """The measured process: setup and one warm-up pass (imports, lazy caches), then
    ``repeats`` more passes of the consumer core over the batches."""
    from bench.consumer import consume
    from chalicelib.settings import Settings

    batches = pickle.loads(batches_file.read_bytes())
    settings = Settings()
    for _ in range(1 + repeats):
        consume(batches, settings)


def _instructions(batches_file: Path, repeats: int) -> int:
    cmd = [
        "valgrind", "--tool=cachegrind", "--cache-sim=no", "--cachegrind-out-file=/dev/null",
        sys.executable, "-m", "bench.instructions", "--child", str(batches_file), str(repeats),
    ]  # fmt: skip
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1"}  # no idle BLAS threads counted
    out = subprocess.run(cmd, capture_output=True, text=True, check=True, env=env).stderr
    match = re.search(r"I\s+refs:\s+([\d,]+)", out)
    if match is None:
        raise RuntimeError(f"no instruction count in valgrind's output:\n{out[-2000:]}")
    return int(match.group(1).replace(",", ""))


def run(quick: bool) -> list[Figure]:
    """Instructions per event of the consumer core on generated input."""
    if shutil.which("valgrind") is None:
        raise ModuleNotFoundError("valgrind is not installed (apt-get install valgrind)")
    from bench.consumer import generated_records, make_batches

    n = 5_000 if quick else 20_000
    datas, source = generated_records(n, max(n // 10, 100))
    with tempfile.TemporaryDirectory() as tmp:
        batches = Path(tmp) / "batches.pickle"
        batches.write_bytes(pickle.dumps(make_batches(datas, 1000)))
        base = _instructions(batches, 0)
        per_event = (_instructions(batches, REPEATS) - base) / (REPEATS * n)
    note = f"{n} events from {source}, 1,000-record batches; cachegrind, 3 passes minus 1"
    return [Figure(BENCH, "consumer core instructions per event", "instructions", [per_event],
                   note=note)]  # fmt: skip


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--child":
        _child(Path(sys.argv[2]), int(sys.argv[3]))
    else:
        main(run)
