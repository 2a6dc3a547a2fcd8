"""A deployed stack feeds the CLI: `gamepipe stack env --target aws` reads its outputs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pytest
from click.testing import CliRunner
from moto import mock_aws

from chalicelib import aws
from gamepipe.cli import main
from gamepipe.commands.stack import stack
from gamepipe.infra.package import package
from gamepipe.stack.deploy import deploy_stack, resources_only


@pytest.fixture(scope="module")
def dev_template(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return package("dev", tmp_path_factory.mktemp("pkg") / "dev", region="us-east-1").template()


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AWS_ENDPOINT_URL", "AWS_PROFILE", "GAMEPIPE_BUCKET_OWNER"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    aws.reset()
    yield
    aws.reset()


@mock_aws
def test_stack_env_prints_the_deployed_stacks_names(
    dev_template: dict[str, Any], aws_env: None
) -> None:
    # GIVEN the dev stage's data plane deployed through (moto's) CloudFormation
    # (moto's CloudFormation has neither Glue databases nor Athena workgroups)
    small = resources_only(dev_template, ("AWS::Glue::Database", "AWS::Athena::WorkGroup"))
    outputs = deploy_stack(boto3.client("cloudformation"), "gamepipe-dev", small)
    # WHEN the CLI is asked for the AWS stack's environment
    result = CliRunner().invoke(stack, ["env", "--target", "aws", "--stage", "dev"])
    # THEN it prints the stack's own names as exports, with Athena as the engine
    assert result.exit_code == 0, result.output
    lines = dict(line.removeprefix("export ").split("=", 1) for line in result.output.splitlines())
    assert lines["GAMEPIPE_STREAM_NAME"] == outputs["StreamName"] == "gamepipe-dev-events"
    assert lines["GAMEPIPE_DATA_BUCKET"] == "gamepipe-dev-data-123456789012-us-east-1"
    assert lines["GAMEPIPE_BUCKET_OWNER"] == "123456789012"
    assert lines["GAMEPIPE_QUERY_ENGINE"] == "athena"
    assert lines["GAMEPIPE_STAGE"] == "dev"


@mock_aws
def test_stack_env_without_a_stack_says_how_to_deploy(aws_env: None) -> None:
    result = CliRunner().invoke(main, ["stack", "env", "--target", "aws", "--stage", "prod"])
    assert result.exit_code != 0
    assert "gamepipe-prod" in result.output and "make deploy STAGE=prod" in result.output
    assert "Traceback" not in result.output


@mock_aws
def test_s3_calls_name_the_expected_bucket_owner(
    aws_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN the owner account set (as the template and `--target aws` do)
    monkeypatch.setenv("GAMEPIPE_BUCKET_OWNER", "123456789012")
    aws.reset()
    s3 = aws.client("s3")
    s3.create_bucket(Bucket="bucket-b")
    seen: list[dict[str, Any]] = []
    s3.meta.events.register("provide-client-params.s3", lambda params, **_: seen.append(params))
    # WHEN the code puts and lists objects
    s3.put_object(Bucket="bucket-b", Key="k", Body=b"x")
    s3.list_objects_v2(Bucket="bucket-b")
    # THEN each request carries ExpectedBucketOwner
    assert [p.get("ExpectedBucketOwner") for p in seen] == ["123456789012"] * 2


@mock_aws
def test_a_bucket_name_taken_by_another_account_is_an_error(aws_env: None) -> None:
    from botocore.exceptions import ClientError
    from botocore.stub import Stubber

    from gamepipe.stack.resources import ensure_bucket

    s3 = boto3.client("s3")
    with Stubber(s3) as stub:
        stub.add_client_error("create_bucket", "BucketAlreadyExists")
        with pytest.raises(ClientError, match="BucketAlreadyExists"):
            ensure_bucket(s3, "gamepipe-data", "us-east-1")


def test_stack_template_outputs_cover_the_cli(dev_template: dict[str, Any], tmp_path: Path) -> None:
    from gamepipe.stack.deploy import OUTPUT_ENV

    # THEN every output the CLI maps exists in the packaged template
    assert set(OUTPUT_ENV) <= set(dev_template["Outputs"])
    json.dumps(dev_template)  # serialisable as the CloudFormation body
