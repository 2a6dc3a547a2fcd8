"""The packaged SAM template of every stage: what ``make package STAGE=<stage>`` writes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from gamepipe.infra import checks
from gamepipe.infra.package import Package, package
from gamepipe.infra.template import FUNCTIONS, LAYERED
from gamepipe.stack.deploy import DATA_PLANE_TYPES, resources_only

STAGES = ("dev", "prod")


@pytest.fixture(scope="module", params=STAGES)
def packaged(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Package:
    """The stage's package (chalice package needs only a region)."""
    out = tmp_path_factory.mktemp("pkg") / request.param
    return package(request.param, out, region="eu-west-1")


@pytest.fixture(scope="module")
def template(packaged: Package) -> dict[str, Any]:
    return packaged.template()


def test_one_role_per_function_and_no_shared_default_role(template: dict[str, Any]) -> None:
    # GIVEN the packaged template WHEN looking at each function's Role
    fns = checks.functions(template)
    roles = {name: checks.role_of(fn) for name, fn in fns.items()}
    # THEN the six functions (the API's authorizer one of them) each run with their own
    # role of this stack
    assert set(fns) == set(FUNCTIONS)
    assert sorted(roles.values()) == sorted(f"{name}Role" for name in FUNCTIONS)
    kinds = [r["Type"] for r in template["Resources"].values()]
    assert kinds.count("AWS::IAM::Role") == len(FUNCTIONS) == 6
    assert "DefaultRole" not in template["Resources"]


def test_no_data_action_on_every_resource(template: dict[str, Any]) -> None:
    # THEN no role allows an S3/Kinesis/Glue/Athena/SQS action on Resource "*"
    assert checks.wildcard_data_statements(template) == []


def test_api_role_only_puts_records(template: dict[str, Any]) -> None:
    # GIVEN the API's role THEN besides its logs it may only put records on the stack's stream
    statements = template["Resources"]["APIHandlerRole"]["Properties"]["Policies"][0][
        "PolicyDocument"
    ]["Statement"]
    data = [s for s in statements if not s["Action"][0].startswith("logs:")]
    assert data == [
        {
            "Effect": "Allow",
            "Action": ["kinesis:PutRecord", "kinesis:PutRecords"],
            "Resource": [{"Fn::GetAtt": ["EventsStream", "Arn"]}],
        }
    ]


def test_every_resource_name_is_a_reference_to_the_stack(template: dict[str, Any]) -> None:
    # THEN every GAMEPIPE_* resource name of every function is a Ref/GetAtt/Sub
    assert checks.literal_resource_names(template) == {}
    env = template["Resources"]["CompactLake"]["Properties"]["Environment"]["Variables"]
    assert env["GAMEPIPE_DATA_BUCKET"] == {"Ref": "DataBucket"}


def test_layer_from_ssm_for_the_functions_that_need_it(template: dict[str, Any]) -> None:
    # GIVEN the layer parameter THEN CloudFormation resolves it from the public SSM parameter
    param = template["Parameters"]["PandasLayerArn"]
    runtime = template["Resources"]["ConsumeEvents"]["Properties"]["Runtime"]
    assert param["Type"] == "AWS::SSM::Parameter::Value<String>"
    assert param["Default"] == (
        f"/aws/service/aws-sdk-pandas/3.17.1/eu-west-1/py{runtime.removeprefix('python')}"
        "/x86_64/layer-arn"
    )
    # AND the functions using pyarrow/pandas have it; the API does not need it
    for name, fn in checks.functions(template).items():
        expected = [{"Ref": "PandasLayerArn"}] if name in LAYERED else None
        assert fn["Properties"].get("Layers") == expected, name


def test_api_timeout_within_api_gateway_limit(template: dict[str, Any]) -> None:
    # THEN the API function never outlives API Gateway's 29 s integration timeout
    assert template["Resources"]["APIHandler"]["Properties"]["Timeout"] <= 29


def test_athena_workgroup_has_results_encryption_and_a_cutoff(template: dict[str, Any]) -> None:
    config = template["Resources"]["AthenaWorkGroup"]["Properties"]["WorkGroupConfiguration"]
    assert config["EnforceWorkGroupConfiguration"] is True
    assert config["ResultConfiguration"]["OutputLocation"] == {
        "Fn::Sub": "s3://${ReportsBucket}/athena-results/"
    }
    assert config["ResultConfiguration"]["EncryptionConfiguration"] == {
        "EncryptionOption": "SSE_S3"
    }
    assert config["BytesScannedCutoffPerQuery"] == {"Ref": "AthenaBytesScannedCutoff"}


def test_consumer_mapping_has_what_chalice_lacks(template: dict[str, Any]) -> None:
    fn = template["Resources"]["ConsumeEvents"]
    props = fn["Properties"]["Events"]["ConsumeEventsKinesisEventSource"]["Properties"]
    assert props["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert props["BisectBatchOnFunctionError"] is True
    assert props["MaximumRetryAttempts"] == {"Ref": "MaximumRetryAttempts"}
    assert props["DestinationConfig"]["OnFailure"]["Destination"] == {
        "Fn::GetAtt": ["ConsumerFailures", "Arn"]
    }
    # AND the mapping reads the stack's stream, not a name Chalice formatted in
    assert props["Stream"] == {"Fn::Sub": "${EventsStream.Arn}"}


def test_names_are_stage_scoped(template: dict[str, Any], packaged: Package) -> None:
    res = template["Resources"]
    stage = packaged.stage
    assert res["EventsStream"]["Properties"]["Name"] == f"gamepipe-{stage}-events"
    assert res["DataBucket"]["Properties"]["BucketName"] == {
        "Fn::Sub": f"gamepipe-{stage}-data-${{AWS::AccountId}}-${{AWS::Region}}"
    }
    assert res["GlueDatabase"]["Properties"]["DatabaseInput"]["Name"] == f"gamepipe_{stage}"


def test_cfn_lint_finds_nothing(packaged: Package) -> None:
    # WHEN the pinned cfn-lint checks the packaged template (offline)
    run = subprocess.run(
        [str(Path(sys.executable).with_name("cfn-lint")), str(packaged.template_path)],
        capture_output=True,
        text=True,
        check=False,
    )
    # THEN it reports no error and no warning (exit 0; 2 = errors, 4 = warnings)
    assert run.returncode == 0, run.stdout + run.stderr


def test_resources_only_is_self_contained(template: dict[str, Any]) -> None:
    # WHEN reduced to what LocalStack can deploy (no Glue, no Athena there)
    small = resources_only(template, ("AWS::Glue::Database", "AWS::Athena::WorkGroup"))
    # THEN no function, API, role or transform remains and every output refers to a kept resource
    assert "Transform" not in small
    assert {r["Type"] for r in small["Resources"].values()} == {
        "AWS::Kinesis::Stream",
        "AWS::S3::Bucket",
        "AWS::SQS::Queue",
        "AWS::DynamoDB::Table",
    }
    assert set(small["Parameters"]) == {"ShardCount"}
    assert {"StreamName", "StreamArn", "DataBucketName"} <= set(small["Outputs"])
    assert set(DATA_PLANE_TYPES) <= {r["Type"] for r in template["Resources"].values()}
