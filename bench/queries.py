"""The 7 questions on the local engine, at 1M and 10M events, on local Parquet and over
emulated S3, compacted and live (many small files).

``python -m bench.queries [--quick]``. The matrix (``FULL_PLAN`` / ``QUICK_PLAN``):

===========  ===================  ===========  =====================  ==============
events       local, compacted     local, live  emulated S3, compacted  emulated S3, live
===========  ===================  ===========  =====================  ==============
full: 1M     yes                  yes          yes (target <= 300)    yes
full: 10M    yes (target <= 100)  yes          yes                    yes
quick: 1M    yes (target <= 100)  yes          --                     --
quick: 100k  --                   --           yes (target <= 300)    --
===========  ===================  ===========  =====================  ==============

The targets are issue 4's (every question <= 100 ms at 10M compacted local, <= 300 ms at
1M compacted over emulated S3); the quick run (CI-sized, 15-25 s) keeps them on its
smaller stand-ins; every other cell is informational. The quick run has no live S3 cell:
at 100k it alone took ~24 s (560 objects, each statement ~0.3 s over HTTP), more than the
rest of the quick run. 10M live over S3 is in the full run: its
560 objects are 0.65 GB, uploaded in ~6 s, and its questions take 0.4-1.3 s each (~1 min
for the cell); peak RSS stays ~5 GB (of 23 GiB), set by synthesising the 10M events, not
by moto, because each S3 lake is deleted once timed.

Data is synthesised column-wise with numpy/pyarrow straight into the lake layout
(``<table>/dt=YYYY-MM-DD/*.parquet``, 7 days, ~1% resent duplicates so dedupe matters),
once per size, and written in two states: "compacted" (every partition merged by
compaction's own ``merge_files``: one file, each event_id once, ``compacted = true``) and
"live, many small files" (20 batch-like files per partition without the ``compacted``
column, resends still in). Local cells read the directory as the catalog
(``LocalEngine(lake_root=...)``); S3 cells upload the same files to the in-process moto
server and register the partitions in its Glue through the consumer's
``glue_catalog.Catalog`` — DuckDB then reads the objects over real HTTP.

Every figure is the warm median of 5 runs after one untimed warm-up pass over every
statement of its group (which also loads the catalog); the timed runs of a group are
interleaved round-robin, so load on the shared machine falls on all of them alike.
Reference figures, on the largest local lakes: the seed's verbatim SQL (no dedupe, wrong
semantics), the exact-dedupe-everywhere SQL the questions used before merge-on-read, and
alternative dedupe and latest-row forms, so the cost of each choice is visible.
"""

from __future__ import annotations

import binascii
import contextlib
import dataclasses
import shutil
import sys
import tempfile
from collections.abc import Mapping
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from bench.common import Figure, main, stopwatch
from chalicelib.compaction import (
    COMPACTED_NAME,
    compacted_bytes,
    dedupe_earliest,
    merge_files,
)
from chalicelib.query import run_query
from chalicelib.query.params import Params, as_of_params
from chalicelib.settings import Settings
from chalicelib.statements import QUESTION_NAMES
from chalicelib.tables import TABLES
from gamepipe.athena.engine import LocalEngine
from gamepipe.stack.moto_server import in_process as moto_server_in_process

BENCH = "queries"
QUESTIONS = QUESTION_NAMES
TYPES = (
    "purchase_sword", "purchase_shield", "purchase_potion", "join_guild", "find_treasure",
    "enemy_attack", "defeat_enemy", "take_potion", "level_up",
)  # fmt: skip
GUILDS = ("Castle of Rock", "Game of Thrones", "Knights of the Round Table")
DAYS = 7
REPEATS = 5
BASE_US = 1_764_201_600_000_000  # 2025-11-27T00:00:00Z in microseconds
AS_OF = as_of_params(date(2025, 11, 27) + timedelta(days=DAYS - 1))  # the last day

# Before merge-on-read: exact dedupe of every row (hash of every event_id), whatever
# compaction had already done. Same answers; measured on the same data as the questions.
EXACT_EVERYWHERE = {
    "q1": """
        WITH purchases AS (
            SELECT min_by(item_type, received_at) AS item_type,
                   min_by(amount_purchased, received_at) AS amount_purchased
            FROM purchase_events GROUP BY event_id)
        SELECT item_type, sum(amount_purchased) AS purchased FROM purchases
        GROUP BY item_type ORDER BY item_type""",
    "q4": """
        SELECT userid, count(DISTINCT event_id) AS defeats FROM character_events
        WHERE event_type = 'defeat_enemy' GROUP BY userid ORDER BY defeats DESC, userid
        LIMIT 10""",
    "q5": """
        WITH potion_counts AS (
            SELECT userid, count(DISTINCT event_id) AS potions FROM character_stats
            WHERE event_type = 'take_potion' GROUP BY userid)
        SELECT userid, potions FROM potion_counts
        WHERE potions = (SELECT max(potions) FROM potion_counts) ORDER BY userid""",
    "q6": """
        WITH treasure_counts AS (
            SELECT userid, count(DISTINCT event_id) AS treasures FROM character_events
            WHERE event_type = 'find_treasure' GROUP BY userid)
        SELECT userid, treasures FROM treasure_counts
        WHERE treasures = (SELECT max(treasures) FROM treasure_counts) ORDER BY userid""",
    "player_purchases": """
        WITH purchases AS (
            SELECT min_by(userid, received_at) AS userid,
                   min_by(item_type, received_at) AS item_type,
                   min_by(amount_purchased, received_at) AS amount_purchased,
                   min_by(price, received_at) AS price
            FROM purchase_events GROUP BY event_id)
        SELECT userid,
               sum(CASE WHEN item_type = 'sword' THEN amount_purchased ELSE 0 END) AS swords,
               sum(CASE WHEN item_type = 'shield' THEN amount_purchased ELSE 0 END) AS shields,
               sum(CASE WHEN item_type = 'potion' THEN amount_purchased ELSE 0 END) AS potions,
               sum(price * amount_purchased) AS gold_spent
        FROM purchases GROUP BY userid ORDER BY gold_spent DESC, userid""",
}

# Alternative SQL forms: counting each event_id once (vs no dedupe at all) and picking a
# player's latest row (q2: exact with the tie rule except where marked wrong).
DEDUPE_FORMS = {
    "q1 sum, no dedupe (wrong with resends)": """
        SELECT item_type, sum(amount_purchased) AS purchased FROM purchase_events
        GROUP BY item_type ORDER BY item_type""",
    "q1 sum, merge-on-read (ours)": None,  # = questions/q1
    "q1 sum, GROUP BY event_id + min_by everywhere (before)": EXACT_EVERYWHERE["q1"],
    "q1 sum, GROUP BY event_id + arbitrary": """
        WITH p AS (SELECT arbitrary(item_type) AS item_type,
                          arbitrary(amount_purchased) AS amount_purchased
                   FROM purchase_events GROUP BY event_id)
        SELECT item_type, sum(amount_purchased) AS purchased FROM p
        GROUP BY item_type ORDER BY item_type""",
    "q1 sum, row_number() = 1": """
        WITH p AS (SELECT item_type, amount_purchased,
                          row_number() OVER (PARTITION BY event_id ORDER BY received_at) AS rn
                   FROM purchase_events)
        SELECT item_type, sum(amount_purchased) AS purchased FROM p WHERE rn = 1
        GROUP BY item_type ORDER BY item_type""",
    "q4 count, count(*) (no dedupe)": """
        SELECT userid, count(*) AS defeats FROM character_events
        WHERE event_type = 'defeat_enemy' GROUP BY userid ORDER BY defeats DESC, userid
        LIMIT 10""",
    "q4 count, merge-on-read (ours)": None,  # = questions/q4
    "q4 count, count(DISTINCT event_id) everywhere (before)": EXACT_EVERYWHERE["q4"],
    "q4 count, row_number() = 1": """
        WITH d AS (SELECT userid,
                          row_number() OVER (PARTITION BY event_id ORDER BY received_at) AS rn
                   FROM character_events WHERE event_type = 'defeat_enemy')
        SELECT userid, count(*) AS defeats FROM d WHERE rn = 1
        GROUP BY userid ORDER BY defeats DESC, userid LIMIT 10""",
    "q2 latest guild, one aggregate + tied players looked up again (ours)": None,  # = q2
    "q2 latest guild, max(event_ts) joined back for every player (before)": """
        WITH last_join AS (
            SELECT userid, max(event_ts) AS event_ts FROM guild_events GROUP BY userid),
        current_guild AS (
            SELECT g.userid, max_by(g.guild_name, g.event_id) AS guild_name
            FROM guild_events AS g
            JOIN last_join AS l ON g.userid = l.userid AND g.event_ts = l.event_ts
            GROUP BY g.userid)
        SELECT guild_name, count(*) AS members FROM current_guild
        GROUP BY guild_name ORDER BY members DESC, guild_name""",
    "q2 latest guild, max_by(guild_name, ROW(event_ts, event_id))": """
        WITH current_guild AS (
            SELECT userid, max_by(guild_name, ROW(event_ts, event_id)) AS guild_name
            FROM guild_events GROUP BY userid)
        SELECT guild_name, count(*) AS members FROM current_guild
        GROUP BY guild_name ORDER BY members DESC, guild_name""",
    "q2 latest guild, max_by(guild_name, event_ts) (wrong: arbitrary on ties)": """
        WITH current_guild AS (
            SELECT userid, max_by(guild_name, event_ts) AS guild_name
            FROM guild_events GROUP BY userid)
        SELECT guild_name, count(*) AS members FROM current_guild
        GROUP BY guild_name ORDER BY members DESC, guild_name""",
    "q2 latest guild, row_number() = 1": """
        WITH latest AS (
            SELECT guild_name,
                   row_number() OVER (PARTITION BY userid
                                      ORDER BY event_ts DESC, event_id DESC) AS rn
            FROM guild_events)
        SELECT guild_name, count(*) AS members FROM latest WHERE rn = 1
        GROUP BY guild_name ORDER BY members DESC, guild_name""",
}


# --- data ------------------------------------------------------------------------------


def _strings(vocab: list[str], idx: np.ndarray) -> pa.Array:
    return pa.array(vocab, pa.string()).take(pa.array(idx))


def _hex_ids(rng: np.random.Generator, n: int) -> pa.Array:
    # 32 hex chars per id straight into a StringArray's buffers: no Python objects.
    data = binascii.hexlify(rng.bytes(16 * n))
    offsets = np.arange(0, 32 * (n + 1), 32, dtype=np.int32)
    return pa.StringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(data))


def synth_events(
    n: int, users: int, seed: int = 42, dup_fraction: float = 0.01
) -> dict[str, pa.Table]:
    """The four question tables (with a ``dt`` column) for ``n`` events; ~dup_fraction resent."""
    rng = np.random.default_rng(seed)
    kind = rng.integers(0, len(TYPES), n)
    ts = BASE_US + rng.integers(0, DAYS * 86_400, n) * 1_000_000
    received = ts + rng.integers(0, 5_000_000, n)
    user_idx = rng.integers(0, users, n)
    vocab_users = [f"user-{i:06d}" for i in range(users)]
    days = [
        str(np.datetime64(BASE_US + d * 86_400_000_000, "us").astype("datetime64[D]"))
        for d in range(DAYS)
    ]
    base = {
        "event_ts": pa.array(ts, pa.timestamp("us")),
        "userid": _strings(vocab_users, user_idx),
        "host": _strings([f"h{i}.example.com" for i in range(16)], user_idx % 16),
        "event_type": _strings(list(TYPES), kind),
        "description": _strings([t.replace("_", " ") for t in TYPES], kind),
        "event_id": _hex_ids(rng, n),
        "received_at": pa.array(received, pa.timestamp("us")),
        "dt": _strings(days, (ts - BASE_US) // 86_400_000_000),
        "item_type": _strings(["sword", "shield", "potion"], np.minimum(kind, 2)),
        "amount_purchased": pa.array(rng.integers(1, 11, n)),
        "price": pa.array(np.choose(np.minimum(kind, 2), [100, 80, 10]) + rng.integers(0, 6, n)),
        "guild_name": _strings(list(GUILDS), rng.integers(0, 3, n)),
        "level": pa.array(rng.integers(1, 60, n)),
        "attack": pa.array(rng.integers(0, 1000, n)),
        "defense": pa.array(rng.integers(0, 1000, n)),
        "health": pa.array(rng.integers(0, 100, n)),
        # one game: the questions' application filter ('' = all) reads this column too
        "application_id": _strings(["bench-game"], np.zeros(n, dtype=np.int64)),
    }
    return route(pa.table(base), kind, rng, dup_fraction, stats_share=0.5)


def route(
    everything: pa.Table,
    kind: np.ndarray,
    rng: np.random.Generator,
    dup_fraction: float,
    *,
    stats_share: float,
    tables: tuple[str, ...] = (
        "purchase_events",
        "guild_events",
        "character_events",
        "character_stats",
    ),
    extra: Mapping[str, tuple[str, ...]] | None = None,
) -> dict[str, pa.Table]:
    """Each table's rows (``kind`` = index into ``TYPES``; ``stats_share`` of the enemy
    attacks carry stats; ``extra`` columns beyond a table's batch-file columns), plus
    ~``dup_fraction`` resent copies received an hour later."""
    with_stats = rng.random(len(kind)) < stats_share
    masks = {
        "purchase_events": kind <= 2,
        "guild_events": kind == 3,
        "character_events": (kind >= 4) & (kind <= 6),
        "character_stats": (kind >= 7) | ((kind == 5) & with_stats),
        "events": np.ones(len(kind), dtype=bool),
    }
    out = {}
    for name in tables:
        cols = [c.name for c in TABLES[name].columns] + [*(extra or {}).get(name, ()), "dt"]
        table = everything.filter(pa.array(masks[name])).select(cols)
        dups = table.take(pa.array(rng.choice(len(table), int(len(table) * dup_fraction))))
        later = pc.add(dups["received_at"], pa.scalar(3_600_000_000, pa.duration("us")))
        dups = dups.set_column(cols.index("received_at"), "received_at", later)
        out[name] = pa.concat_tables([table, dups]).sort_by([("dt", "ascending")])
    return out


def write_lake(
    tables: dict[str, pa.Table], root: Path, files_per_partition: int, *, compact: bool = False
) -> int:
    """Write ``<root>/<table>/dt=<day>/part-<i>.parquet``; returns the number of files.

    ``compact``: one file per partition as compaction writes it (``merge_files`` +
    ``compacted_bytes``: each event_id once, sorted, ``compacted = true``).
    """
    count = 0
    for name, table in tables.items():
        days = pc.unique(table["dt"]).to_pylist()
        for day in days:
            part = table.filter(pc.equal(table["dt"], day)).drop_columns(["dt"])
            folder = root / name / f"dt={day}"
            folder.mkdir(parents=True, exist_ok=True)
            if compact:
                (folder / COMPACTED_NAME).write_bytes(compacted_bytes(_compacted(name, part)))
                count += 1
                continue
            step = -(-len(part) // files_per_partition)
            for i in range(files_per_partition):
                chunk = part.slice(i * step, step)
                if len(chunk):
                    pq.write_table(chunk, folder / f"part-{i:04d}.parquet", compression="snappy")
                    count += 1
    return count


def _compacted(name: str, part: pa.Table) -> pa.Table:
    """``merge_files``' output, keeping the table's pending columns when the part has them
    (a lake as it will be once the consumer writes them; compaction keeps only the columns
    the consumer writes today)."""
    merged = merge_files(name, [part])
    pending = [c.name for c in TABLES[name].pending if c.name in part.column_names]
    if not pending:
        return merged
    # merge_files keeps each event_id's earliest copy and sorts by (userid, event_ts); the
    # pending values of the kept rows are those of that copy
    firsts = dedupe_earliest(part, np.zeros(len(part), np.int64))
    by_id = firsts.select(["event_id", *pending])
    return merged.join(by_id, "event_id").sort_by(
        [("userid", "ascending"), ("event_ts", "ascending")]
    )


# --- timing ----------------------------------------------------------------------------


def interleaved_ms(
    statements: dict[str, str],
    engine: LocalEngine,
    settings: Settings,
    repeats: int = REPEATS,
    params: dict[str, Params] | None = None,
) -> dict[str, list[float]]:
    """Each statement's ``repeats`` timings in ms, run round-robin after one warm-up pass.

    Every statement runs once before any is timed (an engine's first queries over a lake
    were up to 2x slower than later ones, which would favour whatever is timed last), and
    the timed runs interleave the statements, so load from other processes on the shared
    machine falls on all of them alike rather than on whichever ran during a burst.
    ``params`` binds values per statement name (the reports' ``:as_of``).
    """
    bound = params or {}
    for name, sql in statements.items():
        run_query(sql, bound.get(name), settings=settings, engine=engine)
    values: dict[str, list[float]] = {name: [] for name in statements}
    for _ in range(repeats):
        for name, sql in statements.items():
            with stopwatch() as elapsed:
                run_query(sql, bound.get(name), settings=settings, engine=engine)
            values[name].append(elapsed() * 1000)
    return values


def time_questions(
    engine: LocalEngine, settings: Settings, label: str, target: str, note: str
) -> list[Figure]:
    """Warm medians of q1..q7 and player_purchases on ``engine``, each next to the
    exact-dedupe-everywhere SQL it replaced (before merge-on-read), if any."""
    statements: dict[str, str] = {}  # figure name -> SQL or query name
    targets: dict[str, str] = {}
    for q in (*QUESTIONS, "player_purchases"):
        statements[f"{q} {label}"] = q
        targets[f"{q} {label}"] = target if q in QUESTIONS else ""
        if q in EXACT_EVERYWHERE:
            statements[f"{q} exact dedupe everywhere (before) {label}"] = EXACT_EVERYWHERE[q]
    # The report as of the last synthesised day: every partition counts.
    params: dict[str, Params] = {f"player_purchases {label}": AS_OF}
    values = interleaved_ms(statements, engine, settings, params=params)
    return [
        Figure(BENCH, name, "ms", values[name], target=targets.get(name, ""), note=note)
        for name in statements
    ]


# --- the matrix ------------------------------------------------------------------------

COMPACTED = "compacted"
LIVE = "live, many small files"
LIVE_FILES_PER_PARTITION = 20  # batch-like files per dt partition of a live lake


@dataclasses.dataclass(frozen=True)
class Cell:
    """One lake the questions are timed on: events, storage ("local" or "s3"), state."""

    events: int
    storage: str
    state: str  # COMPACTED or LIVE
    target: str = ""  # the target where it applies; the rest is informational

    @property
    def size(self) -> str:
        """``10M``, ``1M``, ``100k``."""
        n = self.events
        return f"{n // 1_000_000}M" if n >= 1_000_000 else f"{n // 1000}k"

    @property
    def label(self) -> str:
        """The figure-name suffix, e.g. ``local 10M compacted`` or ``emulated S3 1M``."""
        if self.storage == "local":
            return f"local {self.size} {self.state}"
        # The compacted S3 lake predates the live one: its figures keep their short name.
        return f"emulated S3 {self.size}" + ("" if self.state == COMPACTED else f" {self.state}")


# Targets (issue 4): <= 100 ms each at 10M on compacted local Parquet, <= 300 ms each at 1M
# over emulated S3. The quick run keeps them on its smaller stand-ins (1M local, 100k S3).
QUICK_PLAN = (
    Cell(1_000_000, "local", COMPACTED, "<= 100"),
    Cell(1_000_000, "local", LIVE),
    Cell(100_000, "s3", COMPACTED, "<= 300"),
)
FULL_PLAN = (
    Cell(1_000_000, "local", COMPACTED),
    Cell(1_000_000, "local", LIVE),
    Cell(1_000_000, "s3", COMPACTED, "<= 300"),
    Cell(1_000_000, "s3", LIVE),
    Cell(10_000_000, "local", COMPACTED, "<= 100"),
    Cell(10_000_000, "local", LIVE),
    Cell(10_000_000, "s3", COMPACTED),
    Cell(10_000_000, "s3", LIVE),
)


def run(quick: bool) -> list[Figure]:
    """Every cell of the plan; seed and SQL-form references on the largest local lakes."""
    plan = QUICK_PLAN if quick else FULL_PLAN
    largest = max(c.events for c in plan if c.storage == "local")
    root = Path(tempfile.mkdtemp(prefix="bench-queries-"))
    figures: list[Figure] = []
    try:
        with contextlib.ExitStack() as stack:
            if any(c.storage == "s3" for c in plan):
                stack.enter_context(moto_server_in_process())
            for events in dict.fromkeys(c.events for c in plan):  # each size synthesised once
                cells = [c for c in plan if c.events == events]
                figures += size_figures(cells, root, references=events == largest)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return figures


def size_figures(cells: list[Cell], root: Path, *, references: bool) -> list[Figure]:
    """The cells of one size: one synthesised data set, each state written once and timed
    on every storage the plan asks for."""
    events = cells[0].events
    with stopwatch() as elapsed:
        tables = synth_events(events, users=max(events // 100, 100))
    rows = sum(len(t) for t in tables.values())
    print(f"synthesised {events:,} events -> {rows:,} rows in {elapsed():.1f}s", file=sys.stderr)
    figures = []
    for state in dict.fromkeys(c.state for c in cells):
        lake = root / f"{cells[0].size}-{state.split(',')[0]}"
        with stopwatch() as elapsed:
            per_part = 1 if state == COMPACTED else LIVE_FILES_PER_PARTITION
            files = write_lake(tables, lake, per_part, compact=state == COMPACTED)
        print(f"wrote {state}: {files} files in {elapsed():.1f}s", file=sys.stderr)
        for cell in (c for c in cells if c.state == state):
            print(f"timing {cell.label}", file=sys.stderr, flush=True)
            if cell.storage == "local":
                figures += local_figures(cell, lake, files, references=references)
            else:
                figures += s3_figures(cell, lake, files)
        shutil.rmtree(lake, ignore_errors=True)
    return figures


def local_figures(cell: Cell, lake: Path, files: int, *, references: bool) -> list[Figure]:
    """q1..q7 over a local lake directory; with ``references``, the seed's SQL and the
    alternative SQL forms too (all of them on a compacted lake, the q2 forms on a live one)."""
    settings = Settings()
    engine = LocalEngine(settings, lake_root=lake, ttl_seconds=3600)
    rows = "each event_id once" if cell.state == COMPACTED else "~1% resent rows"
    note = f"{files} files, {DAYS} dt partitions, {rows}; shared 2-core machine"
    figures = time_questions(engine, settings, cell.label, cell.target, note)
    if references and cell.state == COMPACTED:
        seed = {f"seed q{i} verbatim {cell.label} (reference)": f"seed/q{i}" for i in range(1, 8)}
        for name, values in interleaved_ms(seed, engine, settings).items():
            figures.append(
                Figure(BENCH, name, "ms", values,
                       note="the seed's SQL: no dedupe, SUM(level), LIMIT 1 ties")
            )  # fmt: skip
        figures += dedupe_figures(engine, settings, f"local {cell.size}")
    elif references:  # the latest-guild forms also where resends make "ties" common
        figures += dedupe_figures(engine, settings, cell.label, "q2")
    engine.close()
    return figures


def dedupe_figures(
    engine: LocalEngine, settings: Settings, where: str, prefix: str = ""
) -> list[Figure]:
    """The cost of counting each event_id once (and of picking the latest row), by SQL form;
    only the forms whose label starts with ``prefix``."""
    statements = {
        f"dedupe {label}, {where}": sql or label[:2]
        for label, sql in DEDUPE_FORMS.items()
        if label.startswith(prefix)
    }
    values = interleaved_ms(statements, engine, settings)
    return [Figure(BENCH, name, "ms", values[name]) for name in statements]


# --- emulated S3 -----------------------------------------------------------------------


def s3_figures(cell: Cell, lake: Path, files: int) -> list[Figure]:
    """q1..q7 over ``lake`` uploaded to the moto server (DuckDB reads over HTTP); the
    objects are deleted afterwards (moto keeps them in this process's memory)."""
    from chalicelib import aws

    name = f"bench-{cell.size}-{cell.state.split(',')[0]}".lower()
    settings = dataclasses.replace(Settings(), data_bucket=name, glue_database=name)
    s3, glue = aws.client("s3"), aws.client("glue")
    s3.create_bucket(Bucket=settings.data_bucket)
    with stopwatch() as elapsed:
        upload_lake(lake, settings, s3, glue)
    print(f"uploaded {files} objects in {elapsed():.1f}s", file=sys.stderr)
    engine = LocalEngine(settings, ttl_seconds=3600)
    with stopwatch() as elapsed:
        run_query("q7", settings=settings, engine=engine)
    cold = elapsed() * 1000
    note = f"{files} {cell.state} objects on a moto server; shared 2-core machine"
    figures = time_questions(engine, settings, cell.label, cell.target, note)
    figures.append(
        Figure(BENCH, f"cold first query {cell.label} (Glue + S3 listing + q7)", "ms", [cold])
    )
    engine.close()
    _drop_lake(s3, glue, settings)
    return figures


def upload_lake(lake: Path, settings: Settings, s3: Any, glue: Any) -> None:
    """Upload a local lake's Parquet files to ``settings``' data bucket and register each
    (table, dt) partition in Glue (the tables must exist)."""
    from chalicelib.glue_catalog import Catalog

    partitions = []
    for path in sorted(lake.rglob("*.parquet")):
        rel = path.relative_to(lake)
        s3.upload_file(str(path), settings.data_bucket, f"{settings.data_prefix}/{rel}")
        partitions.append((rel.parts[0], rel.parts[1].split("=", 1)[1]))
    failed = Catalog(glue, settings).register(sorted(set(partitions)))
    assert not failed, failed


def _drop_lake(s3: Any, glue: Any, settings: Settings) -> None:
    """Delete the bucket's objects, the bucket and the Glue database (frees moto's memory)."""
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=settings.data_bucket)
    for page in pages:
        keys = [{"Key": o["Key"]} for o in page.get("Contents", [])]
        if keys:
            s3.delete_objects(Bucket=settings.data_bucket, Delete={"Objects": keys, "Quiet": True})
    s3.delete_bucket(Bucket=settings.data_bucket)
    glue.delete_database(Name=settings.glue_database)


if __name__ == "__main__":
    main(run)
