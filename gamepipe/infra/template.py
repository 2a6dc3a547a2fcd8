"""The CloudFormation template merged into ``chalice package`` output, generated per stage.

What Chalice cannot express: the data plane (stream, buckets, Glue database, Athena
workgroup, applications table; hardened storage: ``gamepipe/infra/storage.py``), the API's
throttling, usage plan, JSON errors and access logs (``gamepipe/infra/api.py``), one
least-privilege role per function, the AWS SDK for pandas layer (its ARN resolved by
CloudFormation from the public SSM parameter), every GAMEPIPE_* name as a reference to the
stack's own resources, the Kinesis mapping's partial-batch response, bisect, retry cap and
S3 on-failure destination (the data bucket: Lambda stores the whole failed batch under
``aws/lambda/``), the stream's retention, and operations: CloudWatch alarms on an SNS topic
and a dashboard, over Lambda's own metrics and the EMF metrics the API and the consumer
print (chalicelib/metrics.py; ``gamepipe/infra/operations.py``).

Chalice deep-merges this over its template: a value here replaces Chalice's when the two
are not both objects, so ``Role`` (Chalice: the placeholder ARN from .chalice/config.json)
and ``Stream`` (both ``Fn::Sub``) are replaced, not mixed.
"""

from __future__ import annotations

import sys
from typing import Any

from chalicelib.lake_state import DIRTY_PREFIX, FAILED_PREFIX, MAINTENANCE_PREFIX
from chalicelib.names import ENV_BY_NAME, REPORTS_PREFIX, ResourceNames, resource_names
from gamepipe.infra import operations
from gamepipe.infra.api import API_PARAMETERS, api_resources, rest_api_properties
from gamepipe.infra.layer import ssm_parameter
from gamepipe.infra.storage import STORAGE_PARAMETERS, storage_resources

# Chalice's logical id of each function (app.py names -> CamelCase).
FUNCTIONS = (
    "APIHandler",
    "ApiKeyAuthorizer",
    "ConsumeEvents",
    "CompactLake",
    "DailyReport",
    "ReportNow",
)
# Those whose modules import numpy/pyarrow/pandas/awswrangler: they get the layer.
LAYERED = ("ConsumeEvents", "CompactLake", "DailyReport", "ReportNow")
# Services whose actions read or write data: never on Resource "*".
DATA_SERVICES = ("s3", "kinesis", "glue", "athena", "sqs", "dynamodb", "kms")
ATHENA_RESULTS_PREFIX = "athena-results"
BUCKET_OWNER_ENV = "GAMEPIPE_BUCKET_OWNER"  # chalicelib.aws passes it as ExpectedBucketOwner


def _sub(text: str) -> dict[str, str]:
    return {"Fn::Sub": text}


def _arn(service: str, resource: str) -> dict[str, str]:
    return _sub(
        f"arn:${{AWS::Partition}}:{service}:${{AWS::Region}}:${{AWS::AccountId}}:{resource}"
    )


def _allow(actions: list[str], resources: list[Any]) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": sorted(actions), "Resource": resources}


def _glue_resources(names: ResourceNames) -> list[Any]:
    db = names.glue_database
    return [_arn("glue", "catalog"), _arn("glue", f"database/{db}"), _arn("glue", f"table/{db}/*")]


def _bucket(logical: str, prefix: str | None = None) -> Any:
    if prefix is None:
        return {"Fn::GetAtt": [logical, "Arn"]}
    return _sub(f"${{{logical}.Arn}}/{prefix}/*")


def policies(names: ResourceNames, data_prefix: str, deadletter_prefix: str) -> dict[str, list]:
    """Each function's statements: only the calls it makes (the sandbox check proves it)."""
    stream = {"Fn::GetAtt": ["EventsStream", "Arn"]}
    lake = _bucket("DataBucket", data_prefix)
    report_reader = [
        _allow(
            [
                f"athena:{a}"
                for a in (
                    "StartQueryExecution",
                    "GetQueryExecution",
                    "GetQueryResults",
                    "StopQueryExecution",
                    "GetWorkGroup",
                )
            ],
            [_arn("athena", "workgroup/${AthenaWorkGroup}")],
        ),
        _allow(
            [
                f"glue:{a}"
                for a in (
                    "GetDatabase",
                    "GetTable",
                    "GetTables",
                    "GetPartition",
                    "GetPartitions",
                    "BatchGetPartition",
                )
            ],
            _glue_resources(names),
        ),
        _allow(["s3:GetObject"], [lake]),
        _allow(
            ["s3:ListBucket", "s3:GetBucketLocation"],
            [_bucket("DataBucket"), _bucket("ReportsBucket")],
        ),
        # Athena writes the results with the caller's permissions; the report reads them back.
        _allow(
            [
                "s3:GetObject",
                "s3:PutObject",
                "s3:AbortMultipartUpload",
                "s3:ListMultipartUploadParts",
            ],
            [_bucket("ReportsBucket", ATHENA_RESULTS_PREFIX)],
        ),
        _allow(["s3:PutObject"], [_bucket("ReportsBucket", REPORTS_PREFIX)]),
    ]
    return {
        "APIHandler": [_allow(["kinesis:PutRecord", "kinesis:PutRecords"], [stream])],
        # One consistent GetItem per key lookup (chalicelib/auth.py); nothing else.
        "ApiKeyAuthorizer": [
            _allow(["dynamodb:GetItem"], [{"Fn::GetAtt": ["ApplicationsTable", "Arn"]}])
        ],
        "ConsumeEvents": [
            # The event source mapping reads the stream with the function's role.
            _allow(
                [
                    f"kinesis:{a}"
                    for a in (
                        "DescribeStream",
                        "DescribeStreamSummary",
                        "GetRecords",
                        "GetShardIterator",
                        "ListShards",
                        "SubscribeToShard",
                    )
                ],
                [stream],
            ),
            _allow(
                ["s3:PutObject", "s3:DeleteObject"],
                [lake, _bucket("DataBucket", deadletter_prefix)],
            ),
            # the batch's dirty marker, after its objects (chalicelib/lake_state.py)
            _allow(["s3:PutObject"], [_bucket("DataBucket", DIRTY_PREFIX.rstrip("/"))]),
            _allow(
                [
                    f"glue:{a}"
                    for a in (
                        "GetDatabase",
                        "CreateDatabase",
                        "GetTable",
                        "CreateTable",
                        "UpdateTable",
                        "GetPartitions",
                        "BatchCreatePartition",
                        "CreatePartition",
                    )
                ],
                _glue_resources(names),
            ),
            # The mapping's S3 on-failure destination, written with the function's role.
            _allow(["s3:PutObject"], [_bucket("DataBucket", FAILED_PREFIX.rstrip("/"))]),
            _allow(["s3:ListBucket"], [_bucket("DataBucket")]),
        ],
        "CompactLake": [
            _allow(["s3:ListBucket"], [_bucket("DataBucket")]),
            _allow(
                ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
                [lake, _bucket("DataBucket", MAINTENANCE_PREFIX)],
            ),
        ],
        "DailyReport": report_reader,
        "ReportNow": report_reader,
    }


def _role(function: str, statements: list[dict[str, Any]]) -> dict[str, Any]:
    logs = _allow(
        ["logs:CreateLogStream", "logs:PutLogEvents"],
        # CloudFormation names a function <stack>-<logical id>-<random>; its log group follows.
        [_arn("logs", f"log-group:/aws/lambda/${{AWS::StackName}}-{function}-*")],
    )
    return {
        "Type": "AWS::IAM::Role",
        "Properties": {
            "Description": f"gamepipe {function}: only the calls this function makes",
            "AssumeRolePolicyDocument": {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"Service": "lambda.amazonaws.com"},
                        "Action": "sts:AssumeRole",
                    }
                ],
            },
            "Policies": [
                {
                    "PolicyName": f"{function}Access",
                    "PolicyDocument": {"Version": "2012-10-17", "Statement": [logs, *statements]},
                }
            ],
        },
    }


def _function_env() -> dict[str, Any]:
    refs: dict[str, Any] = {
        "stream": {"Ref": "EventsStream"},
        "data_bucket": {"Ref": "DataBucket"},
        "reports_bucket": {"Ref": "ReportsBucket"},
        "glue_database": {"Ref": "GlueDatabase"},
        "athena_workgroup": {"Ref": "AthenaWorkGroup"},
        "applications_table": {"Ref": "ApplicationsTable"},
    }
    assert set(refs) == set(ENV_BY_NAME)
    env = {ENV_BY_NAME[k]: v for k, v in refs.items()}
    env[BUCKET_OWNER_ENV] = {"Ref": "AWS::AccountId"}
    return env


def merge_template(
    stage: str,
    region: str,
    *,
    python: str | None = None,
    data_prefix: str = "tables",
    deadletter_prefix: str = "deadletter",
) -> dict[str, Any]:
    """The merge template for ``stage`` in ``region`` (the layer's SSM name is per region)."""
    python = python or f"{sys.version_info.major}.{sys.version_info.minor}"
    names = resource_names(stage, account="${AWS::AccountId}", region="${AWS::Region}")
    abort_uploads = {
        "Id": "abort-incomplete-uploads",
        "Status": "Enabled",
        "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1},
    }
    resources: dict[str, Any] = {
        "EventsStream": {
            "Type": "AWS::Kinesis::Stream",
            "Properties": {
                "Name": names.stream,
                "ShardCount": {"Ref": "ShardCount"},
                "RetentionPeriodHours": {"Ref": "StreamRetentionHours"},
                "StreamEncryption": {"EncryptionType": "KMS", "KeyId": "alias/aws/kinesis"},
            },
        },
        **storage_resources(names, ATHENA_RESULTS_PREFIX, abort_uploads),
        **api_resources(),
        "GlueDatabase": {
            "Type": "AWS::Glue::Database",
            "Properties": {
                "CatalogId": {"Ref": "AWS::AccountId"},
                "DatabaseInput": {
                    "Name": names.glue_database,
                    "Description": "gamepipe lake tables (created by the consumer's glue_catalog)",
                },
            },
        },
        "ApplicationsTable": {
            "Type": "AWS::DynamoDB::Table",
            # The API keys' hashes: keep the table (and its backups) if the stack goes.
            "DeletionPolicy": "Retain",
            "UpdateReplacePolicy": "Retain",
            "Properties": {
                "TableName": names.applications_table,
                "AttributeDefinitions": [{"AttributeName": "application_id", "AttributeType": "S"}],
                "KeySchema": [{"AttributeName": "application_id", "KeyType": "HASH"}],
                "BillingMode": "PAY_PER_REQUEST",
                # KMS with the AWS managed key (aws/dynamodb): key use shows in CloudTrail.
                "SSESpecification": {"SSEEnabled": True, "SSEType": "KMS"},
                "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
            },
        },
        "AthenaWorkGroup": {
            "Type": "AWS::Athena::WorkGroup",
            "Properties": {
                "Name": names.athena_workgroup,
                "Description": "gamepipe reports: results in the reports bucket, scan cap",
                "RecursiveDeleteOption": True,
                "WorkGroupConfiguration": {
                    "EnforceWorkGroupConfiguration": True,
                    "PublishCloudWatchMetricsEnabled": True,
                    "BytesScannedCutoffPerQuery": {"Ref": "AthenaBytesScannedCutoff"},
                    "ResultConfiguration": {
                        "OutputLocation": _sub(f"s3://${{ReportsBucket}}/{ATHENA_RESULTS_PREFIX}/"),
                        "EncryptionConfiguration": {"EncryptionOption": "SSE_S3"},
                    },
                },
            },
        },
    }
    resources.update(operations.resources(stage))
    statements = policies(names, data_prefix, deadletter_prefix)
    env = _function_env()
    for function in FUNCTIONS:
        resources[f"{function}Role"] = _role(function, statements[function])
        props: dict[str, Any] = {
            "Role": {"Fn::GetAtt": [f"{function}Role", "Arn"]},
            "Environment": {"Variables": env},
        }
        if function in LAYERED:
            props["Layers"] = [{"Ref": "PandasLayerArn"}]
        resources[function] = {"Properties": props}
        resources[f"{function}Logs"] = {
            "Type": "AWS::Logs::LogGroup",
            "Properties": {
                "LogGroupName": _sub(f"/aws/lambda/${{{function}}}"),
                "RetentionInDays": 30,
            },
        }
    # An API flood cannot take the consumer's concurrency: one poller per shard (the
    # mapping's parallelization factor is 1) is always reserved for it.
    resources["ConsumeEvents"]["Properties"]["ReservedConcurrentExecutions"] = {"Ref": "ShardCount"}
    # The authorizer does one GetItem (or nothing, cached): small and quick.
    resources["ApiKeyAuthorizer"]["Properties"].update(MemorySize=256, Timeout=10)
    resources["RestAPI"] = rest_api_properties()
    resources["ConsumeEvents"]["Properties"]["Events"] = {
        "ConsumeEventsKinesisEventSource": {
            "Properties": {
                # Fn::Sub like Chalice's own value, so the merge replaces it.
                "Stream": _sub("${EventsStream.Arn}"),
                "FunctionResponseTypes": ["ReportBatchItemFailures"],
                "BisectBatchOnFunctionError": True,
                "MaximumRetryAttempts": {"Ref": "MaximumRetryAttempts"},
                # -1: records are retried until the retry cap, never dropped for their age
                # (the stream's retention is the limit, 7 days by default)
                "MaximumRecordAgeInSeconds": -1,
                # S3 keeps the whole failed batch (SQS/SNS only get shard/sequence pointers,
                # useless once the records leave the stream): `gamepipe replay failed`
                "DestinationConfig": {
                    "OnFailure": {"Destination": {"Fn::GetAtt": ["DataBucket", "Arn"]}}
                },
            }
        }
    }
    outputs = {
        "StreamName": ("EventsStream", "Ref"),
        "StreamArn": ("EventsStream", "Arn"),
        "DataBucketName": ("DataBucket", "Ref"),
        "ReportsBucketName": ("ReportsBucket", "Ref"),
        "GlueDatabaseName": ("GlueDatabase", "Ref"),
        "AthenaWorkGroupName": ("AthenaWorkGroup", "Ref"),
        "AlarmTopicArn": ("AlarmTopic", "Ref"),
        "DashboardName": ("Dashboard", "Ref"),
        "ApplicationsTableName": ("ApplicationsTable", "Ref"),
        "UsagePlanId": ("ApplicationsUsagePlan", "Ref"),
        "LogsBucketName": ("LogsBucket", "Ref"),
        "ApiAccessLogGroup": ("ApiAccessLogs", "Ref"),
        "ReportNowName": ("ReportNow", "Ref"),
        "ConsumeEventsName": ("ConsumeEvents", "Ref"),
    }
    return {
        "Description": (
            f"gamepipe {stage}: Chalice app (API, Kinesis consumer, compaction, reports) plus "
            "the data plane it needs. Generated by gamepipe/infra/template.py and merged into "
            "`chalice package` output by gamepipe/infra/package.py (make package)."
        ),
        "Parameters": {
            "ShardCount": {
                "Type": "Number",
                "Default": 4,
                "Description": "Kinesis shards (1 MB/s or 1,000 records/s in each).",
            },
            "MaximumRetryAttempts": {
                "Type": "Number",
                "Default": 3,
                "Description": "Retries of a failing record before its batch is stored in S3.",
            },
            "StreamRetentionHours": {
                "Type": "Number",
                "Default": 168,
                "MinValue": 24,
                "MaxValue": 8760,
                "Description": "Kinesis retention: how long a stuck shard can wait (7 days).",
            },
            **operations.parameters(),
            "PandasLayerArn": {
                "Type": "AWS::SSM::Parameter::Value<String>",
                "Default": ssm_parameter(region, python),
                "Description": (
                    "SSM parameter holding the AWS SDK for pandas layer ARN (public, per "
                    "region/Python/architecture); point it at your own parameter to override."
                ),
            },
            **STORAGE_PARAMETERS,
            **API_PARAMETERS,
            "AthenaBytesScannedCutoff": {
                "Type": "Number",
                "Default": 10 * 1024**3,
                "MinValue": 10 * 1024**2,
                "Description": "Athena cancels a report query that would scan more bytes.",
            },
        },
        "Conditions": operations.conditions(),
        "Resources": resources,
        "Outputs": {
            key: {"Value": {"Ref": res} if attr == "Ref" else {"Fn::GetAtt": [res, attr]}}
            for key, (res, attr) in outputs.items()
        }
        | {"AccountId": {"Value": {"Ref": "AWS::AccountId"}}, "Stage": {"Value": stage}},
    }
