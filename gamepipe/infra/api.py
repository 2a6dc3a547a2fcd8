"""The REST API's protection on AWS: throttling, the per-application limit, JSON errors, access
logs (merged into Chalice's ``RestAPI`` and beside it).

* **Stage throttling** (every method): ``StageThrottleRate`` requests/s, ``StageThrottleBurst``
  at once — the whole API's ceiling, below the account's 10,000 req/s so one stage cannot
  starve the account's other APIs.
* **Per application**: a usage plan with ``ApplicationThrottleRate``/``Burst`` per key. The
  API takes its usage-plan key from the authorizer (``x-amazon-apigateway-api-key-source:
  AUTHORIZER``; the authorizer returns the application's ``usageIdentifierKey``) and the
  ingest routes require one (``api_key_required``), so each application has its own bucket
  and one game cannot use up the stage. ``gamepipe apps create`` registers the key in the
  plan (``GAMEPIPE_USAGE_PLAN_ID``, a stack output).
* **Key shape**: API Gateway matches the header against the key's pattern before invoking
  the authorizer, so garbage costs no Lambda call (401).
* **JSON errors**: gateway responses give 401/403 (missing, invalid or revoked key), 429
  (throttled) and the defaults a JSON body with a reason; an authorizer that cannot check a
  key (DynamoDB unavailable) is a 503 with ``Retry-After``, never a 403.
* **Access logs**: one JSON line per request (no headers: the key never reaches the log)
  in ``/aws/apigateway/<stack>-access``, 30 days. API Gateway writes logs through an
  account-wide role per region (``AWS::ApiGateway::Account``); the stack sets it, and
  keeps it when deleted (another API may rely on it).
"""

from __future__ import annotations

import json
from typing import Any

from chalicelib.applications import IDENTITY_PATTERN

LOG_RETENTION_DAYS = 30
ACCESS_LOG_FORMAT = json.dumps(
    {
        "requestId": "$context.requestId",
        "ip": "$context.identity.sourceIp",
        "time": "$context.requestTime",
        "method": "$context.httpMethod",
        "path": "$context.resourcePath",
        "status": "$context.status",
        "bytes": "$context.responseLength",
        "application": "$context.authorizer.principalId",
        "usageKeyId": "$context.identity.apiKeyId",
        "error": "$context.error.message",
        "authorizerLatencyMs": "$context.authorizer.integrationLatency",
        "latencyMs": "$context.responseLatency",
    },
    separators=(",", ":"),
)


def _json_error(status: int, message: str, retry: bool = False) -> dict[str, Any]:
    response: dict[str, Any] = {
        "StatusCode": str(status),
        "ResponseTemplates": {"application/json": json.dumps({"error": message})},
    }
    if retry:
        response["ResponseParameters"] = {"Headers": {"Retry-After": "'1'"}}
    return response


# $context.error.messageString is API Gateway's own message, already a quoted JSON string.
_OWN_MESSAGE = {
    "ResponseTemplates": {"application/json": '{"error": $context.error.messageString}'}
}
GATEWAY_RESPONSES: dict[str, Any] = {
    "UNAUTHORIZED": _json_error(
        401, "missing API key: send the application's key in the Authorization header"
    ),
    "ACCESS_DENIED": _json_error(403, "invalid or revoked API key"),
    "INVALID_API_KEY": _json_error(
        403, "the application has no usage-plan key: create it with `gamepipe apps create`"
    ),
    "AUTHORIZER_FAILURE": _json_error(503, "the API key could not be checked; retry", True),
    "AUTHORIZER_CONFIGURATION_ERROR": _json_error(
        503, "the API key could not be checked; retry", True
    ),
    "THROTTLED": _json_error(429, "too many requests for this application; retry later", True),
    "QUOTA_EXCEEDED": _json_error(429, "this application's quota is used up", True),
    # Anything else API Gateway answers itself (missing route, bad content...): JSON too.
    "DEFAULT_4XX": _OWN_MESSAGE,
    "DEFAULT_5XX": _OWN_MESSAGE,
}


def rest_api_properties() -> dict[str, Any]:
    """What the merge adds to Chalice's ``RestAPI`` (a SAM ``AWS::Serverless::Api``)."""
    return {
        "DependsOn": ["ApiGatewayAccount"],  # the logging role must be set before the stage
        "Properties": {
            "MethodSettings": [
                {
                    "ResourcePath": "/*",
                    "HttpMethod": "*",
                    "ThrottlingRateLimit": {"Ref": "StageThrottleRate"},
                    "ThrottlingBurstLimit": {"Ref": "StageThrottleBurst"},
                    "MetricsEnabled": True,
                }
            ],
            "AccessLogSetting": {
                "DestinationArn": {"Fn::GetAtt": ["ApiAccessLogs", "Arn"]},
                "Format": ACCESS_LOG_FORMAT,
            },
            "GatewayResponses": GATEWAY_RESPONSES,
            # Deep-merged into Chalice's swagger: usage-plan keys come from the authorizer,
            # and a header that is not shaped like a key is refused (401) without invoking it.
            "DefinitionBody": {
                "x-amazon-apigateway-api-key-source": "AUTHORIZER",
                "securityDefinitions": {
                    "api_key_authorizer": {
                        "x-amazon-apigateway-authorizer": {
                            "identityValidationExpression": IDENTITY_PATTERN
                        }
                    }
                },
            },
        },
    }


def api_resources() -> dict[str, Any]:
    """The usage plan, the access log group and API Gateway's account logging role."""
    return {
        "ApplicationsUsagePlan": {
            "Type": "AWS::ApiGateway::UsagePlan",
            "Properties": {
                "UsagePlanName": {"Fn::Sub": "${AWS::StackName}-applications"},
                "Description": "Per-application throttle: one key per application (gamepipe apps)",
                "ApiStages": [{"ApiId": {"Ref": "RestAPI"}, "Stage": {"Ref": "RestAPI.Stage"}}],
                "Throttle": {
                    "RateLimit": {"Ref": "ApplicationThrottleRate"},
                    "BurstLimit": {"Ref": "ApplicationThrottleBurst"},
                },
            },
        },
        "ApiAccessLogs": {
            "Type": "AWS::Logs::LogGroup",
            "Properties": {
                "LogGroupName": {"Fn::Sub": "/aws/apigateway/${AWS::StackName}-access"},
                "RetentionInDays": LOG_RETENTION_DAYS,
            },
        },
        "ApiGatewayLoggingRole": {
            "Type": "AWS::IAM::Role",
            "DeletionPolicy": "Retain",
            "UpdateReplacePolicy": "Retain",
            "Properties": {
                "Description": "API Gateway (account-wide, this region): write API logs",
                "AssumeRolePolicyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {"Service": "apigateway.amazonaws.com"},
                            "Action": "sts:AssumeRole",
                        }
                    ],
                },
                "ManagedPolicyArns": [
                    {
                        "Fn::Sub": "arn:${AWS::Partition}:iam::aws:policy/service-role/"
                        "AmazonAPIGatewayPushToCloudWatchLogs"
                    }
                ],
            },
        },
        "ApiGatewayAccount": {
            "Type": "AWS::ApiGateway::Account",
            "DeletionPolicy": "Retain",
            "UpdateReplacePolicy": "Retain",
            "Properties": {"CloudWatchRoleArn": {"Fn::GetAtt": ["ApiGatewayLoggingRole", "Arn"]}},
        },
    }


API_PARAMETERS: dict[str, Any] = {
    "StageThrottleRate": {
        "Type": "Number",
        "Default": 1000,
        "MinValue": 1,
        "Description": "Requests/s the whole API accepts (steady).",
    },
    "StageThrottleBurst": {
        "Type": "Number",
        "Default": 2000,
        "MinValue": 1,
        "Description": "Requests the whole API accepts at once (burst).",
    },
    "ApplicationThrottleRate": {
        "Type": "Number",
        "Default": 250,
        "MinValue": 1,
        "Description": "Requests/s one application's key may send (usage plan, per key).",
    },
    "ApplicationThrottleBurst": {
        "Type": "Number",
        "Default": 500,
        "MinValue": 1,
        "Description": "Requests one application's key may send at once.",
    },
}
