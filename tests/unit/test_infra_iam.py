"""The sandbox's IAM evaluator and name resolver, on small hand-made policies and templates."""

from __future__ import annotations

import pytest

from chalicelib.names import resource_names
from chalicelib.settings import Settings
from gamepipe.infra.iam import StackModel, allows, call_resources, check_calls

ACCOUNT, REGION = "123456789012", "us-east-1"


def test_wildcards_match_like_iam() -> None:
    statements = [{"Effect": "Allow", "Action": ["s3:Get*"], "Resource": ["arn:aws:s3:::b/t/*"]}]
    assert allows(statements, "s3:GetObject", "arn:aws:s3:::b/t/x/y.parquet")
    assert allows(statements, "S3:getobject", "arn:aws:s3:::b/t/a")  # actions ignore case
    assert not allows(statements, "s3:PutObject", "arn:aws:s3:::b/t/a")
    assert not allows(statements, "s3:GetObject", "arn:aws:s3:::b/other")
    assert not allows(statements, "s3:GetObject", "arn:aws:s3:::B/t/a")  # resources do not


def test_an_explicit_deny_wins() -> None:
    statements = [
        {"Effect": "Allow", "Action": "s3:*", "Resource": "*"},
        {"Effect": "Deny", "Action": "s3:DeleteObject", "Resource": "arn:aws:s3:::b/*"},
    ]
    assert allows(statements, "s3:PutObject", "arn:aws:s3:::b/k")
    assert not allows(statements, "s3:DeleteObject", "arn:aws:s3:::b/k")


def test_not_action_is_refused_not_guessed() -> None:
    with pytest.raises(ValueError, match="NotAction"):
        allows([{"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}], "s3:GetObject", "x")


def test_calls_map_to_actions_and_arns() -> None:
    glue = {"service": "glue", "operation": "GetTable",
            "params": {"DatabaseName": "db", "Name": "events"}}  # fmt: skip
    assert call_resources(glue, ACCOUNT, REGION) == [
        ("glue:GetTable", f"arn:aws:glue:{REGION}:{ACCOUNT}:catalog"),
        ("glue:GetTable", f"arn:aws:glue:{REGION}:{ACCOUNT}:database/db"),
        ("glue:GetTable", f"arn:aws:glue:{REGION}:{ACCOUNT}:table/db/events"),
    ]
    delete = {"service": "s3", "operation": "DeleteObjects", "params": {"Bucket": "b",
              "Keys": ["a", "c"]}}  # fmt: skip
    assert call_resources(delete, ACCOUNT, REGION) == [
        ("s3:DeleteObject", "arn:aws:s3:::b/a"),
        ("s3:DeleteObject", "arn:aws:s3:::b/c"),
    ]
    put = {"service": "kinesis", "operation": "PutRecords", "params": {"StreamName": "s"}}
    assert call_resources(put, ACCOUNT, REGION) == [
        ("kinesis:PutRecords", f"arn:aws:kinesis:{REGION}:{ACCOUNT}:stream/s")
    ]


def test_check_calls_names_each_denied_call_once() -> None:
    statements = [{"Effect": "Allow", "Action": "s3:PutObject", "Resource": "arn:aws:s3:::b/*"}]
    calls = [
        {"service": "s3", "operation": "PutObject", "params": {"Bucket": "b", "Key": "k"}},
        {"service": "s3", "operation": "GetObject", "params": {"Bucket": "b", "Key": "k"}},
        {"service": "s3", "operation": "GetObject", "params": {"Bucket": "b", "Key": "k"}},
        {"service": "sts", "operation": "GetCallerIdentity", "params": {}},
    ]
    denied = check_calls(statements, calls, ACCOUNT, REGION)
    assert [str(d) for d in denied] == ["s3.GetObject: s3:GetObject on arn:aws:s3:::b/k"]


def test_stack_model_resolves_refs_subs_and_arns() -> None:
    template = {
        "Parameters": {"P": {"Type": "String", "Default": "d"}},
        "Resources": {
            "B": {"Type": "AWS::S3::Bucket",
                  "Properties": {"BucketName": {"Fn::Sub": "x-${AWS::AccountId}-${AWS::Region}"}}},
            "Q": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": "q"}},
        },
    }  # fmt: skip
    model = StackModel(template, ACCOUNT, REGION, "st")
    assert model.resolve({"Ref": "B"}) == f"x-{ACCOUNT}-{REGION}"
    assert model.resolve({"Fn::Sub": "${B.Arn}/k/*"}) == f"arn:aws:s3:::x-{ACCOUNT}-{REGION}/k/*"
    assert model.resolve({"Fn::GetAtt": ["Q", "Arn"]}) == f"arn:aws:sqs:{REGION}:{ACCOUNT}:q"
    assert model.resolve({"Fn::Sub": ["${P}-${V}", {"V": {"Ref": "AWS::StackName"}}]}) == "d-st"


def test_names_are_stage_scoped_and_suffixed_on_aws() -> None:
    local, prod = resource_names("local"), resource_names("prod", "123456789012", "eu-west-1")
    assert (local.stream, local.data_bucket, local.glue_database) == (
        "gamepipe-local-events", "gamepipe-local-data", "gamepipe_local",
    )  # fmt: skip
    assert prod.data_bucket == "gamepipe-prod-data-123456789012-eu-west-1"
    assert prod.reports_bucket != resource_names("dev", "123456789012", "eu-west-1").reports_bucket
    with pytest.raises(ValueError, match="stage"):
        resource_names("Prod_1")


def test_settings_default_to_the_stage_names() -> None:
    settings = Settings.from_env({"GAMEPIPE_STAGE": "dev", "GAMEPIPE_DATA_BUCKET": "mine"})
    assert settings.stream_name == "gamepipe-dev-events"
    assert settings.data_bucket == "mine"  # an explicit variable wins
    assert Settings.from_env({}).glue_database == "gamepipe_local"
