"""Reference paths the benchmark scripts compare against (a helper, not a benchmark).

Two points bracket the consumer's speed on the same NDJSON input:

- :func:`naive_from_pylist` — what most people write first: parse each line into a dict,
  ``pa.Table.from_pylist``, ``pq.write_table``. ``from_pylist`` (~235k rows/s here) is the
  usual bottleneck, so a consumer that builds columns directly should beat it.
- :func:`duckdb_ceiling` — DuckDB's C++ ``read_json`` → ``COPY TO parquet``: a practical
  ceiling for "NDJSON in, Parquet out" on this machine (0.8–1.2M events/s measured).

:func:`synthetic_ndjson` makes contract-shaped events (all nine types, server fields set)
so a script can build its input without the generator. ``bench/run.py`` skips this module.
"""

from __future__ import annotations

import functools
import io
import json
import random
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from bench.common import Figure

try:  # orjson was the first measurements' reference; msgspec (a core dependency) parses as fast.
    import orjson

    _loads: Any = orjson.loads
    JSON_LIB = "orjson"
except ModuleNotFoundError:  # pragma: no cover - depends on the environment
    import msgspec

    _loads = msgspec.json.decode
    JSON_LIB = "msgspec"


def naive_from_pylist(ndjson_lines: Iterable[bytes | str], compression: str = "snappy") -> bytes:
    """Parse NDJSON lines to dicts, ``pa.Table.from_pylist``, return the Parquet file bytes."""
    rows = [_loads(line) for line in ndjson_lines if line and not _blank(line)]
    table = pa.Table.from_pylist(rows)
    sink = io.BytesIO()
    pq.write_table(table, sink, compression=compression)
    return sink.getvalue()


def _blank(line: bytes | str) -> bool:
    return not line.strip()


@dataclass(frozen=True)
class CeilingResult:
    """What :func:`duckdb_ceiling` did: rows written, wall seconds, Parquet bytes, files."""

    rows: int
    seconds: float
    out_bytes: int
    files: int

    @property
    def events_per_s(self) -> float:
        """Rows per wall-clock second."""
        return self.rows / self.seconds if self.seconds > 0 else float("inf")


def duckdb_ceiling(
    ndjson_path: str | Path,
    out_dir: str | Path,
    threads: int = 2,
    *,
    partition_by: str | None = None,
) -> CeilingResult:
    """DuckDB ``read_json`` → ``COPY TO`` Snappy Parquet in ``out_dir``; the speed ceiling."""
    import duckdb  # imported here: callers that only want the naive path skip DuckDB's import

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    src = str(ndjson_path).replace("'", "''")
    con = duckdb.connect(config={"threads": int(threads)})
    try:
        start = time.perf_counter()
        select = f"SELECT * FROM read_json('{src}', format='newline_delimited')"
        if partition_by:
            target = str(out).replace("'", "''")
            opts = f"FORMAT parquet, COMPRESSION snappy, PARTITION_BY ({partition_by})"
            opts += ", OVERWRITE_OR_IGNORE true"
        else:
            target = str(out / "events.parquet").replace("'", "''")
            opts = "FORMAT parquet, COMPRESSION snappy"
        written = con.execute(f"COPY ({select}) TO '{target}' ({opts})").fetchone()
        seconds = time.perf_counter() - start
        n = int(written[0]) if written else 0  # COPY returns the number of rows written
    finally:
        con.close()
    files = [p for p in out.rglob("*.parquet") if p.is_file()]
    return CeilingResult(n, seconds, sum(p.stat().st_size for p in files), len(files))


# --- synthetic input -------------------------------------------------------------------

_GUILDS = ("Castle of Rock", "Game of Thrones", "Knights of the Round Table")
_TYPES = (
    "purchase_sword", "purchase_shield", "purchase_potion", "join_guild", "find_treasure",
    "enemy_attack", "defeat_enemy", "take_potion", "level_up",
)  # fmt: skip


def synthetic_event(rng: random.Random, userid: str, ts: datetime) -> dict[str, Any]:
    """One contract-shaped event dict as the consumer sees it (server fields included)."""
    etype = rng.choice(_TYPES)
    ev: dict[str, Any] = {
        "event_type": etype,
        "userid": userid,
        "event_ts": ts.isoformat().replace("+00:00", "Z"),
        "event_id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        "app_version": "1.4.2",
        "received_at": (ts + timedelta(milliseconds=40)).isoformat().replace("+00:00", "Z"),
        "host": "api.gamepipe.example",
        "user_agent": "ApacheBench/2.3",
    }
    if etype.startswith("purchase_"):
        item = etype.removeprefix("purchase_")
        ev.update(
            item_type=item,
            description=f"a fine {item}",
            amount_purchased=rng.randint(1, 5),
            price=rng.choice((5, 25, 100)),
        )
    elif etype == "join_guild":
        ev.update(description="joined a guild", guild_name=rng.choice(_GUILDS))
    elif etype in ("find_treasure", "defeat_enemy"):
        ev["description"] = etype.replace("_", " ")
    else:  # take_potion, level_up, enemy_attack (stats on two thirds of attacks)
        ev["description"] = etype.replace("_", " ")
        if etype != "enemy_attack" or rng.random() < 0.67:
            ev.update(
                level=rng.randint(1, 60),
                attack=rng.randint(1, 500),
                defense=rng.randint(1, 500),
                health=rng.randint(1, 1000),
            )
    return ev


def synthetic_ndjson(
    n: int, *, users: int = 1000, seed: int = 7, day: str = "2026-11-27"
) -> list[bytes]:
    """``n`` NDJSON lines (bytes, no newline) of synthetic events spread over one day."""
    rng = random.Random(seed)
    start = datetime.fromisoformat(day).replace(tzinfo=UTC)
    step = 86_400 / max(n, 1)
    return [
        json.dumps(
            synthetic_event(
                rng, f"user-{rng.randrange(users):05d}", start + timedelta(seconds=i * step)
            ),
            separators=(",", ":"),
        ).encode()
        for i in range(n)
    ]


def write_ndjson(lines: Iterable[bytes], path: str | Path) -> Path:
    """Write lines as one NDJSON file (newline-terminated); returns the path."""
    p = Path(path)
    with p.open("wb") as fh:
        for line in lines:
            fh.write(line)
            fh.write(b"\n")
    return p


# --- lake profile (for the cost model) ----------------------------------------------------


@functools.cache
def _routes() -> dict[str, tuple[str, ...]]:
    """event_type -> tables it lands in (built once; see docs/design.md for the routing)."""
    from chalicelib.tables import TABLES

    out: dict[str, list[str]] = {}
    for t in TABLES.values():
        for etype in t.event_types:
            out.setdefault(etype, []).append(t.name)
    return {k: tuple(v) for k, v in out.items()}


def _route(ev: dict[str, Any]) -> tuple[str, ...]:
    """Tables an event lands in: enemy_attack reaches character_stats only with stats."""
    tables = _routes().get(ev.get("event_type", ""), ())
    if ev.get("event_type") == "enemy_attack" and "level" not in ev:
        return tuple(t for t in tables if t != "character_stats")
    return tables


def lake_tables_from_pylist(ndjson_lines: Iterable[bytes]) -> dict[str, pa.Table]:
    """Naive routing of events into the five lake tables (typed columns, ``payload`` JSON)."""
    from chalicelib.tables import TABLES

    rows: dict[str, list[dict[str, Any]]] = {name: [] for name in TABLES}
    for line in ndjson_lines:
        ev = _loads(line)
        for name in _route(ev):
            if name == "events":
                rows[name].append(
                    {**ev, "payload": line.decode() if isinstance(line, bytes) else line}
                )
            else:
                rows[name].append(ev)
    arrow_type = {
        "string": pa.string(),
        "bigint": pa.int64(),
        "timestamp": pa.timestamp("us", "UTC"),
    }
    tables = {}
    for name, table in TABLES.items():
        cols = {}
        for col in table.columns:
            values = [r.get(col.name) for r in rows[name]]
            if col.type == "timestamp":
                cols[col.name] = pa.array(values, pa.string()).cast(arrow_type["timestamp"])
            else:
                cols[col.name] = pa.array(values, arrow_type[col.type])
        tables[name] = pa.table(cols)
    return tables


def lake_profile(ndjson_lines: list[bytes]) -> dict[str, Any]:
    """Snappy Parquet bytes per event: per table and per column (compressed, from metadata)."""
    n = len(ndjson_lines)
    json_bytes = sum(len(x) for x in ndjson_lines)
    out: dict[str, Any] = {"events": n, "json_bytes_per_event": json_bytes / n, "tables": {}}
    total = 0
    for name, table in lake_tables_from_pylist(ndjson_lines).items():
        sink = io.BytesIO()
        pq.write_table(table, sink, compression="snappy")
        size = len(sink.getvalue())
        total += size
        meta = pq.ParquetFile(io.BytesIO(sink.getvalue())).metadata
        per_col: dict[str, float] = {}
        for rg in range(meta.num_row_groups):
            group = meta.row_group(rg)
            for c in range(group.num_columns):
                col = group.column(c)
                per_col[col.path_in_schema] = (
                    per_col.get(col.path_in_schema, 0) + col.total_compressed_size
                )
        rows = max(table.num_rows, 1)
        out["tables"][name] = {
            "rows_per_event": table.num_rows / n,
            "file_bytes_per_row": size / rows,
            "column_bytes_per_row": {k: v / rows for k, v in per_col.items()},
        }
    out["lake_bytes_per_event"] = total / n
    return out


def reference_figures(
    ndjson_lines: list[bytes],
    *,
    bench: str,
    repeats: int = 3,
    threads: int = 2,
    workdir: str | Path | None = None,
) -> dict[str, Figure]:
    """Measure both references on ``ndjson_lines``: events/s figures keyed "naive", "duckdb".

    A script computes its ratios against these in the same run, e.g.
    ``Figure(bench, "consumer / naive", "ratio", [c / n for c, n in zip(mine, naive.values)])``.
    """
    import tempfile

    n = len(ndjson_lines)
    naive = Figure(bench, f"naive {JSON_LIB}+from_pylist events/s ({n:,})", "events/s",
                   note=f"bench.naive.naive_from_pylist, {JSON_LIB} loads")  # fmt: skip
    duck = Figure(bench, f"DuckDB read_json→COPY parquet events/s ({n:,})", "events/s",
                  note=f"bench.naive.duckdb_ceiling, {threads} threads (ceiling)")  # fmt: skip
    with tempfile.TemporaryDirectory(dir=workdir) as tmp:
        src = write_ndjson(ndjson_lines, Path(tmp) / "in.ndjson")
        for i in range(repeats):
            start = time.perf_counter()
            naive_from_pylist(ndjson_lines)
            naive.values.append(n / (time.perf_counter() - start))
            res = duckdb_ceiling(src, Path(tmp) / f"out{i}", threads)
            duck.values.append(res.events_per_s)
    return {"naive": naive, "duckdb": duck}
