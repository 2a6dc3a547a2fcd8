"""Every packaged function runs from its package, as on Lambda, against a moto server.

The package is ``make package STAGE=prod``'s output (the same function builds both). Each
handler runs in a fresh ``python -I -S`` of the template's Python with only the unzipped
package, its declared layer's stand-in and the runtime's boto3 on sys.path, with the
environment the template gives it (Refs resolved to the names the stack would create),
and every AWS call it makes is checked against its own role.

Reports: the moto server is ours (``gamepipe.stack.moto_server``), whose Athena runs the
SQL through the local engine over the same Glue catalog and S3 objects: the report
functions' real path (awswrangler -> StartQueryExecution -> result CSV -> render ->
publish) runs from the package, and their rows are the lake's.
"""

from __future__ import annotations

import copy
import io
import json
import shutil
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pyarrow.parquet as pq
import pytest

from chalicelib.query.kpi import KPI_NAMES
from gamepipe.infra.package import Package, package
from gamepipe.infra.sandbox import Outcome, Sandbox, SandboxError, create_data_plane

ROOT = Path(__file__).resolve().parents[2]
STAGE = "prod"
# Yesterday and today (UTC): the API refuses events outside its event-time window.
NEXT_DAY = datetime.now(UTC).date().isoformat()
DAY = (datetime.now(UTC).date() - timedelta(days=1)).isoformat()
METHOD_ARN = "arn:aws:execute-api:us-east-1:123456789012:abcdef1234/api/POST/v1/events"


@pytest.fixture(scope="module")
def packaged(tmp_path_factory: pytest.TempPathFactory) -> Package:
    """What ``make package STAGE=prod`` writes."""
    return package(STAGE, tmp_path_factory.mktemp("package") / STAGE, region="us-east-1")


@pytest.fixture(scope="module")
def sandbox(packaged: Package, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    """The unzipped package, layer and runtime, and the stack's resources in a moto server."""
    from gamepipe.stack.moto_server import in_process

    with in_process() as endpoint:
        box = Sandbox.prepare(packaged, tmp_path_factory.mktemp("sandbox"), endpoint)
        create_data_plane(box.model, boto3.client)
        yield box


def _events(count: int, first: int) -> list[dict[str, Any]]:
    """Valid events of every type (the contract's examples) on DAY, with fresh ids."""
    samples = [
        json.loads(p.read_text()) for p in sorted((ROOT / "tests/events/valid").glob("*.json"))
    ]
    out = []
    for i in range(count):
        event = dict(samples[i % len(samples)])
        event["event_id"] = str(uuid.UUID(int=first + i))
        event["userid"] = f"user-{(first + i) % 7:04d}"
        event["event_ts"] = f"{DAY}T0{i % 10}:00:00.000Z"
        out.append(event)
    return out


def _token_event(token: str) -> dict[str, Any]:
    """The event API Gateway sends a TOKEN authorizer (the Authorization header's value)."""
    return {"type": "TOKEN", "authorizationToken": token, "methodArn": METHOD_ARN}


def _api_event(events: list[dict[str, Any]], authorizer: dict[str, Any]) -> dict[str, Any]:
    """An API Gateway (REST, proxy) event for POST /v1/events, as API Gateway sends it once
    the authorizer allowed the request (its context, plus principalId)."""
    return {
        "resource": "/v1/events",
        "path": "/v1/events",
        "httpMethod": "POST",
        "headers": {"Content-Type": "application/json", "User-Agent": "sandbox/1.0"},
        "multiValueHeaders": {"Content-Type": ["application/json"]},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": None,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": "/v1/events",
            "httpMethod": "POST",
            "path": "/api/v1/events",
            "stage": "api",
            "requestId": str(uuid.uuid4()),
            "identity": {"sourceIp": "203.0.113.7", "userAgent": "sandbox/1.0"},
            "authorizer": authorizer,
        },
        "body": json.dumps({"events": events}),
        "isBase64Encoded": False,
    }


def _scheduled(time: str) -> dict[str, Any]:
    """An EventBridge scheduled event (the real payload, tests/events/schedule/) at ``time``."""
    event = json.loads((ROOT / "tests/events/schedule/daily_report.json").read_text())
    return {**event, "time": time}


def _kinesis_events(sandbox: Sandbox) -> list[dict[str, Any]]:
    """What the event source mapping would deliver: one event per shard, from the stream."""
    from gamepipe.runtime.kinesis_events import kinesis_event

    kinesis = boto3.client("kinesis")
    stream = sandbox.model.physical_name("EventsStream")
    arn = sandbox.model.get_att("EventsStream", "Arn")
    out = []
    for shard in kinesis.list_shards(StreamName=stream)["Shards"]:
        it = kinesis.get_shard_iterator(
            StreamName=stream, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        records = kinesis.get_records(ShardIterator=it, Limit=10000)["Records"]
        if records:
            role = sandbox.model.get_att("ConsumeEventsRole", "Arn")
            out.append(kinesis_event(records, shard_id=shard["ShardId"], stream_arn=arn,
                                     region="us-east-1", role_arn=role))  # fmt: skip
    return out


def _run(sandbox: Sandbox, tmp_path: Path, function: str, event: Any, **kw: Any) -> Outcome:
    outcome = sandbox.invoke(function, event, tmp_path / function, **kw)
    outcome.ok()
    return outcome


def _assert_allowed(sandbox: Sandbox, outcome: Outcome) -> None:
    denied = sandbox.denied(outcome)
    assert not denied, f"{outcome.function}'s role does not allow:\n" + "\n".join(map(str, denied))


def _lake_objects(sandbox: Sandbox, prefix: str) -> list[str]:
    bucket = sandbox.model.physical_name("DataBucket")
    pages = (
        boto3.client("s3").get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
    )
    return [o["Key"] for page in pages for o in page.get("Contents", [])]


def _rows(sandbox: Sandbox, table: str) -> int:
    bucket = sandbox.model.physical_name("DataBucket")
    s3 = boto3.client("s3")
    return sum(
        pq.read_metadata(io.BytesIO(s3.get_object(Bucket=bucket, Key=k)["Body"].read())).num_rows
        for k in _lake_objects(sandbox, f"tables/{table}/dt={DAY}/")
    )


@pytest.fixture(scope="module")
def pipeline(sandbox: Sandbox, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Outcome]:
    """API -> stream -> consumer -> compaction -> both reports, each from the package."""
    work = tmp_path_factory.mktemp("runs")
    done: dict[str, Outcome] = {}
    # an application registered as `gamepipe apps create` does (the user's credentials)
    from chalicelib.applications import ApplicationStore

    store = ApplicationStore(boto3.client("dynamodb"), sandbox.model.ref("ApplicationsTable"))
    app, key = store.create("sandbox game")
    done["application_id"] = app.application_id  # type: ignore[assignment]
    allowed = _run(sandbox, work / "auth", "ApiKeyAuthorizer", _token_event(key))
    done["ApiKeyAuthorizer"] = allowed
    done["ApiKeyAuthorizer#denied"] = _run(
        sandbox, work / "auth-denied", "ApiKeyAuthorizer", _token_event(key[:-4] + "AAAA")
    )
    context = {**allowed.result["context"], "principalId": allowed.result["principalId"]}
    # two requests: the consumer then writes several files per partition (a dirty partition)
    for n, batch in enumerate((_events(13, 0), _events(13, 100))):
        event = _api_event(batch, context)
        done[f"APIHandler#{n}"] = _run(sandbox, work / str(n), "APIHandler", event)
    for n, event in enumerate(_kinesis_events(sandbox)):
        done[f"ConsumeEvents#{n}"] = _run(sandbox, work / f"c{n}", "ConsumeEvents", event)
    done["lake_before_compaction"] = _lake_objects(sandbox, f"tables/events/dt={DAY}/")  # type: ignore[assignment]
    done["CompactLake"] = _run(sandbox, work, "CompactLake", _scheduled(f"{NEXT_DAY}T00:30:00Z"))
    done["DailyReport"] = _run(sandbox, work, "DailyReport", _scheduled(f"{NEXT_DAY}T00:15:00Z"))
    done["ReportNow"] = _run(sandbox, work, "ReportNow", {"date": DAY})
    return done


def test_api_handler_runs_without_the_layer_and_puts_to_the_stream(
    sandbox: Sandbox, pipeline: dict[str, Outcome]
) -> None:
    # GIVEN the API function (no layer: its sys.path is the package and the runtime only)
    assert not sandbox.model.template["Resources"]["APIHandler"]["Properties"].get("Layers")
    # THEN each POST was accepted in full and went to the stack's stream with PutRecords
    for n in (0, 1):
        outcome = pipeline[f"APIHandler#{n}"]
        assert outcome.result["statusCode"] == 200, outcome.result
        assert json.loads(outcome.result["body"])["accepted"] == 13
        assert {(c["service"], c["operation"]) for c in outcome.calls} == {
            ("kinesis", "PutRecords")
        }
        _assert_allowed(sandbox, outcome)


def test_authorizer_allows_the_key_and_denies_another_with_only_getitem(
    sandbox: Sandbox, pipeline: dict[str, Outcome]
) -> None:
    # GIVEN the authorizer function run with the application's key and with a wrong one
    allowed, denied = pipeline["ApiKeyAuthorizer"], pipeline["ApiKeyAuthorizer#denied"]
    # THEN the key is allowed on the ingest routes, as its application
    assert allowed.result["principalId"] == pipeline["application_id"]
    assert allowed.result["context"]["application_id"] == pipeline["application_id"]
    statement = allowed.result["policyDocument"]["Statement"][0]
    assert statement["Effect"] == "Allow"
    assert statement["Resource"] == [
        "arn:aws:execute-api:us-east-1:123456789012:abcdef1234/api/POST/v1/events",
        "arn:aws:execute-api:us-east-1:123456789012:abcdef1234/api/POST/v1/events/*",
    ]
    # AND the wrong key is denied
    assert denied.result["policyDocument"]["Statement"][0]["Effect"] == "Deny"
    # AND each run read the applications table once, which its role allows (and nothing else)
    for outcome in (allowed, denied):
        assert [(c["service"], c["operation"]) for c in outcome.calls] == [("dynamodb", "GetItem")]
        _assert_allowed(sandbox, outcome)


def test_consumer_writes_rows_and_glue_partitions(
    sandbox: Sandbox, pipeline: dict[str, Outcome]
) -> None:
    consumers = [o for k, o in pipeline.items() if k.startswith("ConsumeEvents#")]
    # GIVEN the stream's records delivered per shard, as the event source mapping does
    assert len(consumers) >= 2
    # THEN no batch reported a failure, and every call was allowed by the consumer's role
    for outcome in consumers:
        assert outcome.result == {"batchItemFailures": []}, outcome.stderr[-2000:]
        _assert_allowed(sandbox, outcome)
    # AND the raw table holds every event sent, and the Glue catalog has the day's partitions
    assert _rows(sandbox, "events") == 26
    db = sandbox.model.physical_name("GlueDatabase")
    glue = boto3.client("glue")
    for table in ("events", "purchase_events", "guild_events", "character_events"):
        values = [
            p["Values"] for p in glue.get_partitions(DatabaseName=db, TableName=table)["Partitions"]
        ]
        assert [DAY] in values, table


def test_compaction_merges_the_dirty_partition(
    sandbox: Sandbox, pipeline: dict[str, Outcome]
) -> None:
    # GIVEN the day's raw partition in several files (one per shard batch)
    assert len(pipeline["lake_before_compaction"]) >= 2  # type: ignore[arg-type]
    # WHEN compact_lake ran for the next day (the closed day is in its lookback)
    outcome = pipeline["CompactLake"]
    # THEN it compacted partitions, one file remains, with every row, within its role
    assert outcome.result["partitions_compacted"] >= 1
    assert len(_lake_objects(sandbox, f"tables/events/dt={DAY}/")) == 1
    assert _rows(sandbox, "events") == 26
    _assert_allowed(sandbox, outcome)


@pytest.mark.parametrize("function", ["DailyReport", "ReportNow"])
def test_report_functions_query_render_and_publish(
    sandbox: Sandbox, pipeline: dict[str, Outcome], function: str
) -> None:
    outcome = pipeline[function]
    # THEN the queries (three reports, the dashboard's KPIs) went to Athena in the stack's
    # workgroup
    starts = [c for c in outcome.calls if c["operation"] == "StartQueryExecution"]
    assert [c["params"]["WorkGroup"] for c in starts] == ["gamepipe-prod"] * (3 + len(KPI_NAMES))
    # AND index.html and the CSVs were written to the reports bucket
    bucket = sandbox.model.physical_name("ReportsBucket")
    keys = {k.rsplit("/", 1)[-1] for k in outcome.result["keys"]}
    assert {"index.html", "player_standings.csv", "player_purchases.csv",
            "guild_membership.csv"} <= keys  # fmt: skip
    page = boto3.client("s3").get_object(Bucket=bucket, Key=f"{outcome.result['prefix']}index.html")
    assert b"<html" in page["Body"].read().lower()
    # AND every call, Athena's own reads and writes included, was allowed by its role
    _assert_allowed(sandbox, outcome)


def test_reports_count_the_lake_rows(sandbox: Sandbox, pipeline: dict[str, Outcome]) -> None:
    # THEN the report's purchase rows are those of the lake (Athena ran the SQL)
    purchases = pipeline["ReportNow"].result["row_counts"]["player_purchases"]
    assert purchases == len({e["userid"] for e in _events(13, 0) + _events(13, 100)
                             if e["event_type"].startswith("purchase_")})  # fmt: skip


def test_every_shipped_module_imports_with_the_layer(sandbox: Sandbox, tmp_path: Path) -> None:
    # GIVEN every Python module in the package
    paths = [
        p.relative_to(sandbox.task_dir) for p in (sandbox.task_dir / "chalicelib").rglob("*.py")
    ]
    names = sorted(".".join(p.with_suffix("").parts).removesuffix(".__init__") for p in paths)
    modules = ["app", *names]
    # WHEN each is imported in the sandbox of a layered function
    outcome = sandbox.invoke("ReportNow", None, tmp_path, imports=modules)
    # THEN none fails
    assert not outcome.ok(), outcome.result


# --- the check turns red: each case breaks a copy on purpose ----------------------------


def _broken_copy(sandbox: Sandbox, tmp_path: Path) -> Sandbox:
    box = copy.copy(sandbox)
    box.model = copy.copy(sandbox.model)
    box.model.template = copy.deepcopy(sandbox.model.template)
    box.task_dir = tmp_path / "task"
    shutil.copytree(sandbox.task_dir, box.task_dir)
    return box


def _one_kinesis_event(sandbox: Sandbox) -> dict[str, Any]:
    record = {"SequenceNumber": "49000000000000000000000000000000000000000000000000000001",
              "PartitionKey": "user-0001", "ApproximateArrivalTimestamp": time.time(),
              "Data": json.dumps(_events(1, 900)[0]).encode()}  # fmt: skip
    from gamepipe.runtime.kinesis_events import kinesis_event

    return kinesis_event(
        [record], shard_id="shardId-000000000000", region="us-east-1",
        stream_arn=sandbox.model.get_att("EventsStream", "Arn"),
        role_arn=sandbox.model.get_att("ConsumeEventsRole", "Arn"),
    )  # fmt: skip


def test_a_module_missing_from_the_zip_is_red(
    sandbox: Sandbox, pipeline: dict[str, Outcome], tmp_path: Path
) -> None:
    # GIVEN a package without one of the consumer's modules
    box = _broken_copy(sandbox, tmp_path)
    (box.task_dir / "chalicelib" / "consumer" / "columns.py").unlink()
    # WHEN the consumer runs THEN the sandbox reports the import failure
    outcome = box.invoke("ConsumeEvents", _one_kinesis_event(box), tmp_path / "run")
    with pytest.raises(SandboxError, match="ModuleNotFoundError"):
        outcome.ok()


def test_a_literal_resource_name_is_red(
    sandbox: Sandbox, pipeline: dict[str, Outcome], tmp_path: Path
) -> None:
    # GIVEN a template whose consumer gets a literal bucket name instead of the stack's bucket
    box = _broken_copy(sandbox, tmp_path)
    env = box.model.template["Resources"]["ConsumeEvents"]["Properties"]["Environment"]
    env["Variables"]["GAMEPIPE_DATA_BUCKET"] = "gamepipe-data"
    # WHEN the consumer runs
    outcome = box.invoke("ConsumeEvents", _one_kinesis_event(box), tmp_path / "run")
    # THEN its batch fails (no such bucket) and its role does not allow the writes
    assert outcome.result["batchItemFailures"], outcome.result
    assert any("arn:aws:s3:::gamepipe-data/" in str(d) for d in box.denied(outcome))
    # AND the template check names it
    from gamepipe.infra.checks import literal_resource_names

    assert literal_resource_names(box.model.template) == {"ConsumeEvents": ["GAMEPIPE_DATA_BUCKET"]}


def test_a_missing_permission_is_red(sandbox: Sandbox, pipeline: dict[str, Outcome]) -> None:
    # GIVEN the consumer's role without s3:PutObject
    box = copy.copy(sandbox)
    box.model = copy.copy(sandbox.model)
    box.model.template = copy.deepcopy(sandbox.model.template)
    role = box.model.template["Resources"]["ConsumeEventsRole"]["Properties"]
    for st in role["Policies"][0]["PolicyDocument"]["Statement"]:
        st["Action"] = [a for a in st["Action"] if a != "s3:PutObject"]
    # WHEN the calls of a real consumer run are checked against it
    denied = box.denied(pipeline["ConsumeEvents#0"])
    # THEN each Parquet write is reported
    assert denied and {d.action for d in denied} == {"s3:PutObject"}


def test_the_kinesis_payload_is_what_the_api_wrote(pipeline: dict[str, Outcome]) -> None:
    # GIVEN the API's replies THEN the event ids it accepted are the ones the generator made
    accepted = set()
    for n in (0, 1):
        accepted |= set(json.loads(pipeline[f"APIHandler#{n}"].result["body"])["event_ids"])
    assert accepted == {e["event_id"] for e in _events(13, 0) + _events(13, 100)}
