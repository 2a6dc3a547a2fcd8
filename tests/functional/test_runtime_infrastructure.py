"""The CloudFormation path: chalice package + infrastructure/merge.json (no deploy here)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from gamepipe.stack.deploy import DATA_PLANE_TYPES, package, resources_only


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The merged SAM template of the dev stage (chalice package needs only a region)."""
    mp = pytest.MonkeyPatch()
    mp.setenv("AWS_DEFAULT_REGION", "us-east-1")
    try:
        out: Path = package("dev", tmp_path_factory.mktemp("pkg"))
        return json.loads(out.read_text())  # type: ignore[no-any-return]
    finally:
        mp.undo()


def test_consumer_mapping_has_what_chalice_lacks(template: dict[str, Any]) -> None:
    # GIVEN the merged template WHEN looking at the consumer's Kinesis event source
    fn = template["Resources"]["ConsumeEvents"]
    props = fn["Properties"]["Events"]["ConsumeEventsKinesisEventSource"]["Properties"]
    # THEN partial batch responses, bisect, a retry cap and a failure destination are set
    assert props["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert props["BisectBatchOnFunctionError"] is True
    assert props["MaximumRetryAttempts"] == {"Ref": "MaximumRetryAttempts"}
    assert props["DestinationConfig"]["OnFailure"]["Destination"] == {
        "Fn::GetAtt": ["ConsumerFailures", "Arn"]
    }
    # AND chalice's own settings survive the merge, with one stream reference only
    assert props["BatchSize"] == 1000 and props["StartingPosition"] == "TRIM_HORIZON"
    assert list(props["Stream"]) == ["Fn::Sub"]
    assert "EventsStream" in fn["DependsOn"]


def test_template_adds_the_data_plane(template: dict[str, Any]) -> None:
    # GIVEN the merged template THEN the stream, buckets, Glue DB and queue are in it
    types = {r["Type"] for r in template["Resources"].values()}
    assert set(DATA_PLANE_TYPES) <= types
    env = template["Resources"]["ConsumeEvents"]["Properties"]["Environment"]["Variables"]
    assert env["GAMEPIPE_DATA_BUCKET"] == {"Ref": "DataBucket"}


def test_resources_only_is_self_contained(template: dict[str, Any]) -> None:
    # WHEN reduced to the data plane without Glue (what LocalStack can deploy)
    small = resources_only(template, ("AWS::Glue::Database",))
    # THEN no function, API, role or transform remains and every output refers to a kept resource
    assert "Transform" not in small
    assert {r["Type"] for r in small["Resources"].values()} == {
        "AWS::Kinesis::Stream",
        "AWS::S3::Bucket",
        "AWS::SQS::Queue",
    }
    assert set(small["Parameters"]) == {"ShardCount"}
    assert "StreamArn" in small["Outputs"]
