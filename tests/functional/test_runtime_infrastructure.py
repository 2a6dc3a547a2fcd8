"""The packaged SAM template of every stage: what ``make package STAGE=<stage>`` writes."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from chalicelib.applications import new_key
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
    # (and API Gateway's account-wide logging role, which no function uses)
    assert kinds.count("AWS::IAM::Role") == len(FUNCTIONS) + 1 == 7
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
    # the failed batch kept whole in S3 (SQS would get pointers into a 7-day stream)
    assert props["DestinationConfig"]["OnFailure"]["Destination"] == {
        "Fn::GetAtt": ["DataBucket", "Arn"]
    }
    stream = template["Resources"]["EventsStream"]["Properties"]
    assert stream["RetentionPeriodHours"] == {"Ref": "StreamRetentionHours"}
    assert template["Parameters"]["StreamRetentionHours"]["Default"] >= 168
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
        "AWS::DynamoDB::Table",
    }
    assert set(small["Parameters"]) == {
        "ShardCount",
        "StreamRetentionHours",
        "NoncurrentVersionDays",
    }
    assert {"StreamName", "StreamArn", "DataBucketName"} <= set(small["Outputs"])
    assert set(DATA_PLANE_TYPES) <= {r["Type"] for r in template["Resources"].values()}


def test_alarms_on_an_sns_topic_and_a_dashboard(template: dict[str, Any]) -> None:
    res = template["Resources"]
    alarms = {k: v for k, v in res.items() if v["Type"] == "AWS::CloudWatch::Alarm"}
    # THEN at least six alarms, each notifying the topic, on what must not go unnoticed
    assert len(alarms) >= 6
    assert {
        "IteratorAgeAlarm", "ConsumerErrorsAlarm", "FailedBatchesStoredAlarm",
        "DeadLetterRateAlarm", "Api5xxRateAlarm", "ThrottlesAlarm", "FreshnessAlarm",
    } <= set(alarms)  # fmt: skip
    for alarm in alarms.values():
        assert alarm["Properties"]["AlarmActions"] == [{"Ref": "AlarmTopic"}]
    assert res["AlarmTopic"]["Type"] == "AWS::SNS::Topic"
    # AND the e-mail is optional: subscribed only when the parameter is set
    assert res["AlarmEmailSubscription"]["Condition"] == "HasAlarmEmail"
    assert template["Parameters"]["AlarmEmail"]["Default"] == ""
    # AND the alarms on our own metrics read the names and dimensions the code emits
    from chalicelib import metrics

    dead = alarms["DeadLetterRateAlarm"]["Properties"]["Metrics"]
    names = {m["MetricStat"]["Metric"]["MetricName"] for m in dead if "MetricStat" in m}
    assert names == {metrics.DEAD_LETTERS, metrics.EVENTS_IN}
    dims = dead[0]["MetricStat"]["Metric"]["Dimensions"]
    assert [d["Name"] for d in dims] == ["stage", "service"]
    # AND a dashboard shows the same picture
    body = res["Dashboard"]["Properties"]["DashboardBody"]["Fn::Sub"]
    assert metrics.FRESHNESS in body and metrics.DEAD_LETTERS_BY_REASON in body


# --- hardening (issue 13): storage, the applications table, the API ----------------------


def _resources(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {n: r for n, r in template["Resources"].items() if r["Type"] == kind}


def test_every_bucket_is_private_sse_s3_tls_only_and_the_lake_is_logged(
    template: dict[str, Any],
) -> None:
    buckets = _resources(template, "AWS::S3::Bucket")
    policies = {
        p["Properties"]["Bucket"]["Ref"]: p["Properties"]["PolicyDocument"]["Statement"]
        for p in _resources(template, "AWS::S3::BucketPolicy").values()
    }
    assert set(buckets) == {"DataBucket", "ReportsBucket", "LogsBucket"}
    for name, bucket in buckets.items():
        props = bucket["Properties"]
        # THEN explicit SSE-S3, no public access, no ACLs
        (rule,) = props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
        assert rule["ServerSideEncryptionByDefault"] == {"SSEAlgorithm": "AES256"}, name
        assert all(props["PublicAccessBlockConfiguration"].values()), name
        assert props["OwnershipControls"]["Rules"][0]["ObjectOwnership"] == "BucketOwnerEnforced"
        # AND a policy denying every request without TLS, on the bucket and its objects
        deny = policies[name][0]
        assert deny["Effect"] == "Deny" and deny["Principal"] == "*" and deny["Action"] == "s3:*"
        assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
        assert deny["Resource"] == [
            {"Fn::GetAtt": [name, "Arn"]},
            {"Fn::Sub": f"${{{name}.Arn}}/*"},
        ]
    # AND the data and reports buckets' access logs go to the logs bucket, which only the S3
    # logging service may write to, and only for this account's two buckets
    for name, prefix in (("DataBucket", "data/"), ("ReportsBucket", "reports/")):
        logging = buckets[name]["Properties"]["LoggingConfiguration"]
        assert logging == {"DestinationBucketName": {"Ref": "LogsBucket"}, "LogFilePrefix": prefix}
    delivery = policies["LogsBucket"][1]
    assert delivery["Principal"] == {"Service": "logging.s3.amazonaws.com"}
    assert delivery["Action"] == "s3:PutObject"
    assert delivery["Condition"]["StringEquals"] == {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}


def test_the_data_bucket_is_versioned_and_old_versions_expire(template: dict[str, Any]) -> None:
    props = template["Resources"]["DataBucket"]["Properties"]
    assert props["VersioningConfiguration"] == {"Status": "Enabled"}
    (rule,) = [r for r in props["LifecycleConfiguration"]["Rules"]
               if "NoncurrentVersionExpiration" in r]  # fmt: skip
    assert rule["NoncurrentVersionExpiration"] == {
        "NoncurrentDays": {"Ref": "NoncurrentVersionDays"}
    }
    assert rule["ExpiredObjectDeleteMarker"] is True and rule["Status"] == "Enabled"
    assert template["Parameters"]["NoncurrentVersionDays"]["Default"] == 7


def test_the_applications_table_is_encrypted_with_pitr_and_only_the_authorizer_reads_it(
    template: dict[str, Any],
) -> None:
    table = template["Resources"]["ApplicationsTable"]
    assert table["DeletionPolicy"] == "Retain"
    assert table["Properties"]["SSESpecification"] == {"SSEEnabled": True, "SSEType": "KMS"}
    assert table["Properties"]["PointInTimeRecoverySpecification"] == {
        "PointInTimeRecoveryEnabled": True
    }
    # THEN the authorizer's role may GetItem on that table and nothing else (besides logs)
    statements = template["Resources"]["ApiKeyAuthorizerRole"]["Properties"]["Policies"][0][
        "PolicyDocument"
    ]["Statement"]
    data = [s for s in statements if not s["Action"][0].startswith("logs:")]
    assert data == [
        {
            "Effect": "Allow",
            "Action": ["dynamodb:GetItem"],
            "Resource": [{"Fn::GetAtt": ["ApplicationsTable", "Arn"]}],
        }
    ]
    # AND no other role mentions DynamoDB
    for name, role in _resources(template, "AWS::IAM::Role").items():
        if name != "ApiKeyAuthorizerRole":
            assert "dynamodb:" not in str(role), name
    # AND the authorizer is small and quick
    fn = template["Resources"]["ApiKeyAuthorizer"]["Properties"]
    assert (fn["MemorySize"], fn["Timeout"]) == (256, 10) and not fn.get("Layers")


def test_the_api_is_throttled_per_stage_and_per_application_with_json_errors_and_logs(
    template: dict[str, Any],
) -> None:
    api = template["Resources"]["RestAPI"]
    props, body = api["Properties"], api["Properties"]["DefinitionBody"]
    # THEN every method has the stage's rate and burst
    (settings,) = props["MethodSettings"]
    assert (settings["ResourcePath"], settings["HttpMethod"]) == ("/*", "*")
    assert settings["ThrottlingRateLimit"] == {"Ref": "StageThrottleRate"}
    assert settings["ThrottlingBurstLimit"] == {"Ref": "StageThrottleBurst"}
    # AND the ingest routes need the authorizer and a usage-plan key, which the authorizer
    # supplies; the usage plan limits each application's key
    assert body["x-amazon-apigateway-api-key-source"] == "AUTHORIZER"
    # AND the gateway refuses a header not shaped like a key before invoking the authorizer
    authorizer = body["securityDefinitions"]["api_key_authorizer"]
    pattern = authorizer["x-amazon-apigateway-authorizer"]["identityValidationExpression"]
    assert authorizer["x-amazon-apigateway-authorizer"]["type"] == "token"
    key, _ = new_key("6b1c8a52-7a3e-4c1e-9f0e-0000000000aa")
    assert re.match(pattern, key) and re.match(pattern, f"Bearer {key}")
    assert not re.match(pattern, key + "x") and not re.match(pattern, "' OR 1=1")
    for path in ("/v1/events", "/v1/events/{event_type}"):
        security = body["paths"][path]["post"]["security"]
        assert {"api_key": []} in security and {"api_key_authorizer": []} in security
    assert "security" not in body["paths"]["/health"]["get"]
    plan = template["Resources"]["ApplicationsUsagePlan"]["Properties"]
    assert plan["Throttle"] == {"RateLimit": {"Ref": "ApplicationThrottleRate"},
                                "BurstLimit": {"Ref": "ApplicationThrottleBurst"}}  # fmt: skip
    assert plan["ApiStages"] == [{"ApiId": {"Ref": "RestAPI"}, "Stage": {"Ref": "RestAPI.Stage"}}]
    params = template["Parameters"]
    assert params["ApplicationThrottleRate"]["Default"] < params["StageThrottleRate"]["Default"]
    # AND 401, 403, 429 and the defaults are JSON with a reason; a failing authorizer is 503
    responses = props["GatewayResponses"]
    for kind, status in (("UNAUTHORIZED", "401"), ("ACCESS_DENIED", "403"),
                         ("THROTTLED", "429"), ("AUTHORIZER_FAILURE", "503")):  # fmt: skip
        assert responses[kind]["StatusCode"] == status
        assert json.loads(responses[kind]["ResponseTemplates"]["application/json"])["error"]
    for kind in ("DEFAULT_4XX", "DEFAULT_5XX"):
        template_text = responses[kind]["ResponseTemplates"]["application/json"]
        assert json.loads(template_text.replace("$context.error.messageString", '"m"'))
    # AND every request is logged as a JSON line (no header, so never the key) for 30 days
    log = props["AccessLogSetting"]
    assert log["DestinationArn"] == {"Fn::GetAtt": ["ApiAccessLogs", "Arn"]}
    fields = json.loads(log["Format"])
    assert {"requestId", "ip", "status", "application"} <= set(fields)
    assert "Authorization" not in log["Format"] and "header" not in log["Format"]
    assert template["Resources"]["ApiAccessLogs"]["Properties"]["RetentionInDays"] == 30
    assert api["DependsOn"] == ["ApiGatewayAccount"]
    # AND the CLI learns the usage plan from the stack's outputs
    assert template["Outputs"]["UsagePlanId"]["Value"] == {"Ref": "ApplicationsUsagePlan"}


def test_the_consumer_keeps_one_concurrent_execution_per_shard(template: dict[str, Any]) -> None:
    # GIVEN an API flood using up the account's concurrency THEN the consumer still runs
    props = template["Resources"]["ConsumeEvents"]["Properties"]
    assert props["ReservedConcurrentExecutions"] == {"Ref": "ShardCount"}
