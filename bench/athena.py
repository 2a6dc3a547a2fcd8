"""Query latency through the emulated Athena API vs the local engine directly.

``python -m bench.athena [--quick]``: the 7 questions over a compacted lake of 1M events
(quick: 100k) on the embedded stack (our moto server as a child process, the way
``gamepipe stack up`` runs it), each asked five ways:

* ``LocalEngine warm``: the engine ``gamepipe query`` uses, in this process, catalog cached
  (what a long-lived engine, e.g. a warm report Lambda locally, pays);
* ``LocalEngine, whole catalog re-read``: the same with all five tables re-read from Glue
  and S3 before each query
  (the emulator re-reads only the tables the query names, as Athena reads Glue each time);
* ``Athena API (boto3)``: StartQueryExecution, GetQueryExecution until done,
  GetQueryResults (every page) - the API path with no client library;
* ``awswrangler ctas_approach=False``: read_sql_query reading the CSV result;
* ``awswrangler default (CTAS)``: CTAS to Parquet, the manifest, the Parquet files, and
  the temporary Glue table dropped.

Plus one ``gamepipe query q1 --format json`` as a new process (imports, DuckDB start,
catalog, query). Each figure holds every (question, repeat) timing; the runs interleave the
questions and the ways round-robin after one untimed warm-up pass, so load from others on
the shared machine falls on all of them alike. awswrangler polls GetQueryExecution every
1 s; the emulator answers a poll as soon as the query finishes (up to 2 s), so these
figures are not padded to whole seconds.
"""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.common import Figure, main, stopwatch
from bench.queries import synth_events, upload_lake, write_lake
from chalicelib.query.params import ALL_APPLICATIONS, APPLICATION
from chalicelib.settings import Settings
from chalicelib.statements import STATEMENTS

BENCH = "athena"
QUESTIONS = tuple(f"q{i}" for i in range(1, 8))
OUTPUT = "s3://bench-athena-results/athena/"


def run(quick: bool) -> list[Figure]:
    """Figures for 1M events (quick: 100k)."""
    # quick: 2 repeats (14 timings per way) keep the CI-sized suite within its budget
    events, repeats = (100_000, 2) if quick else (1_000_000, 5)
    label = f"{events // 1000}k events" if events < 1_000_000 else f"{events // 1_000_000}M events"
    from chalicelib import aws
    from gamepipe.stack.targets import make_target

    with tempfile.TemporaryDirectory() as tmp:
        lake = Path(tmp) / "lake"
        files = write_lake(
            synth_events(events, users=max(1000, events // 100)), lake, 1, compact=True
        )
        target = make_target("embedded", Path(tmp) / "stack")
        saved = dict(os.environ)
        try:
            os.environ.update(target.start())
            aws.reset()
            settings = _load(lake)
            figures = _measure(settings, label, repeats)
            figures.append(_cli_figure(label, repeats))
        finally:
            target.stop()
            os.environ.clear()
            os.environ.update(saved)
            aws.reset()
    note = f"{files} compacted Parquet files on the embedded stack; shared 2-core machine"
    return [dataclasses.replace(f, note=f.note or note) for f in figures]


def _load(lake: Path) -> Settings:
    """Upload the lake to the stack's S3 and register its tables and partitions in Glue."""
    from chalicelib import aws
    from chalicelib.glue_catalog import ensure_catalog

    settings = Settings(data_bucket="bench-athena-lake", glue_database="bench_athena")
    s3, glue = aws.client("s3"), aws.client("glue")
    for bucket in (settings.data_bucket, OUTPUT.split("/")[2]):
        s3.create_bucket(Bucket=bucket)
    ensure_catalog(glue, settings)
    upload_lake(lake, settings, s3, glue)
    return settings


def _measure(settings: Settings, label: str, repeats: int) -> list[Figure]:
    import awswrangler as wr
    import boto3

    from gamepipe.athena.engine import LocalEngine

    session = boto3.session.Session()
    athena = session.client("athena")
    warm = LocalEngine(settings, ttl_seconds=3600)
    fresh = LocalEngine(settings, ttl_seconds=3600)

    def reread(sql: str) -> Any:
        fresh.refresh()
        return fresh.execute(sql)

    def wrangler(ctas: bool) -> Callable[[str], Any]:
        def read(sql: str) -> Any:
            return wr.athena.read_sql_query(
                sql,
                database=settings.glue_database,
                ctas_approach=ctas,
                s3_output=OUTPUT,
                boto3_session=session,
            )

        return read

    ways: dict[str, Callable[[str], Any]] = {
        "LocalEngine warm": warm.execute,
        "LocalEngine, whole catalog re-read per query": reread,
        "Athena API (boto3: start, poll, all result pages)": lambda sql: _api(
            athena, sql, settings
        ),
        "awswrangler ctas_approach=False": wrangler(False),
        "awswrangler default (CTAS)": wrangler(True),
    }
    # Every application: the filter bound as a literal, so each way runs the same text (the
    # Athena API's ExecutionParameters are positional; the engines bind :names client-side).
    sql = {q: _every_application(q) for q in QUESTIONS}
    timings: dict[str, list[float]] = {way: [] for way in ways}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pandas deprecation notes inside awswrangler
        for way in ways.values():  # warm-up: catalogs, DuckDB, boto3 models, imports
            for text in sql.values():
                way(text)
        for _ in range(repeats):
            for text in sql.values():
                for way, call in ways.items():
                    with stopwatch() as elapsed:
                        call(text)
                    timings[way].append(elapsed() * 1000)
    warm.close()
    fresh.close()
    figures = [
        Figure(BENCH, f"q1..q7 latency, {way}, {label}", "ms", values)
        for way, values in timings.items()
    ]
    base = Figure(BENCH, "", "ms", timings["LocalEngine warm"]).median
    for way in ("awswrangler ctas_approach=False", "awswrangler default (CTAS)"):
        ratio = Figure(BENCH, "", "ms", timings[way]).median / base
        figures.append(Figure(BENCH, f"{way} / LocalEngine warm, {label}", "ratio", [ratio]))
    return figures


def _every_application(name: str) -> str:
    """The registered statement's SQL with ``:application_id`` bound to every application."""
    statement = STATEMENTS[name]
    every = {**statement.bind, APPLICATION: ALL_APPLICATIONS}
    return dataclasses.replace(statement, bind=every).sql()


def _api(athena: Any, sql: str, settings: Settings) -> list[Any]:
    query_id = athena.start_query_execution(
        QueryString=sql,
        QueryExecutionContext={"Database": settings.glue_database},
        ResultConfiguration={"OutputLocation": OUTPUT},
    )["QueryExecutionId"]
    while True:
        status = athena.get_query_execution(QueryExecutionId=query_id)["QueryExecution"]["Status"]
        if status["State"] in ("SUCCEEDED", "FAILED", "CANCELLED"):
            break
        time.sleep(0.05)
    assert status["State"] == "SUCCEEDED", status
    rows: list[Any] = []
    for page in athena.get_paginator("get_query_results").paginate(QueryExecutionId=query_id):
        rows += page["ResultSet"]["Rows"]
    return rows


def _cli_figure(label: str, repeats: int) -> Figure:
    """``gamepipe query q1 --format json`` as a new process (what a shell user waits for)."""
    gamepipe = Path(sys.executable).parent / "gamepipe"
    env = {**os.environ, "GAMEPIPE_GLUE_DATABASE": "bench_athena"}
    values = []
    for _ in range(repeats):
        with stopwatch() as elapsed:
            subprocess.run(
                [str(gamepipe), "query", "q1", "--format", "json"],
                env=env,
                check=True,
                capture_output=True,
                timeout=120,
            )
        values.append(elapsed() * 1000)
    return Figure(BENCH, f"gamepipe query q1 --format json, new process, {label}", "ms", values)


if __name__ == "__main__":
    main(run)
