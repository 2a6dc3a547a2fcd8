"""One fault scenario's lake and its books: where every accepted event ended up.

A scenario runs in a stage of its own on the shared server (own stream, bucket, Glue
database). The consumer gets clients of its own, on which the faults are installed
(``gamepipe.fault_injection``); the books are read with clean ones.
"""

from __future__ import annotations

import contextlib
import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pyarrow.parquet as pq
from botocore.config import Config

from chalicelib import lake_state
from chalicelib.glue_catalog import Catalog
from chalicelib.settings import Settings
from chalicelib.tables import TABLES
from gamepipe.stack.resources import create_resources

# the consumer's clients fail fast: the trigger's retries are what is under test
_CLIENT = Config(retries={"max_attempts": 1, "mode": "standard"})


@dataclass
class Lake:
    """One scenario's stage on the shared server, and the consumer's (faulty) clients."""

    settings: Settings
    s3: Any  # the consumer's, hooks installed here
    glue: Any
    kinesis: Any
    clean_s3: Any  # for the books: never faulty
    checkpoint: Path
    invocations: int = 0
    injected: int = 0  # faults that fired

    def catalog(self) -> Catalog:
        """A fresh catalog cache, as a new Lambda container has."""
        return Catalog(self.glue, self.settings)

    def bodies(self, prefix: str) -> list[bytes]:
        """The bodies of the data bucket's objects under ``prefix`` (read cleanly)."""
        bucket = self.settings.data_bucket
        return [
            self.clean_s3.get_object(Bucket=bucket, Key=obj["Key"])["Body"].read()
            for obj in lake_state.list_keys(self.clean_s3, bucket, prefix)
        ]


def new_lake(stage: str, workdir: Path, shards: int = 2) -> Lake:
    """Create ``stage``'s stream, buckets and Glue tables on the current endpoint."""
    settings = Settings.from_env({"GAMEPIPE_STAGE": stage})
    session = boto3.session.Session()
    clean = session.client("s3")
    create_resources(
        settings,
        shards,
        kinesis=session.client("kinesis"),
        s3=clean,
        glue=session.client("glue"),
    )
    return Lake(
        settings,
        session.client("s3", config=_CLIENT),
        session.client("glue", config=_CLIENT),
        session.client("kinesis"),
        clean,
        workdir / f"{stage}-checkpoints.json",
    )


@dataclass
class Books:
    """Counts of one moment: what was accepted and where it is."""

    landed: int  # accepted event_ids in the `events` table
    dead_lettered: int  # accepted event_ids in the dead letters (with a reason)
    lost: int  # accepted event_ids in neither
    duplicated: int  # rows beyond one per event_id, summed over the five tables
    answers_equal_oracle: bool | None = None


def books(lake: Lake, accepted: list[str], truth: list[dict[str, Any]] | None = None) -> Books:
    """Where every accepted event is; with ``truth``, whether the answers equal the oracle."""
    per_table = {t: _table_ids(lake, t) for t in TABLES}
    landed = set(per_table["events"])
    dead = _dead_letter_ids(lake) - landed
    wanted = set(accepted)
    result = Books(
        landed=len(wanted & landed),
        dead_lettered=len(wanted & dead),
        lost=len(wanted - landed - dead),
        duplicated=sum(len(ids) - len(set(ids)) for ids in per_table.values()),
    )
    if truth is not None:
        result.answers_equal_oracle = answers_equal_oracle(lake, truth)
    return result


def _table_ids(lake: Lake, table: str) -> list[str]:
    ids: list[str] = []
    for body in lake.bodies(f"{lake.settings.data_prefix}/{table}/"):
        ids += pq.read_table(io.BytesIO(body), columns=["event_id"]).column(0).to_pylist()
    return ids


def _dead_letter_ids(lake: Lake) -> set[str]:
    out = set()
    for body in lake.bodies(f"{lake.settings.deadletter_prefix}/"):
        for line in body.splitlines():
            item = json.loads(line)
            with contextlib.suppress(ValueError, TypeError):
                if item.get("reason"):
                    out.add(str(json.loads(item["data"]).get("event_id")))
    return out


def answers_equal_oracle(lake: Lake, truth: list[dict[str, Any]]) -> bool:
    """The 7 questions on the local engine over the lake == the oracle over what was sent."""
    from chalicelib.query.answers import collect_answers
    from gamepipe.athena.engine import LocalEngine
    from gamepipe.oracle import compute_answers

    session = boto3.session.Session()
    engine = LocalEngine(
        lake.settings,
        glue_client=session.client("glue"),
        s3_client=lake.clean_s3,
        session=session,
    )
    try:
        return bool(collect_answers(lake.settings, engine) == compute_answers(truth))
    finally:
        engine.close()
