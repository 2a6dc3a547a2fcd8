"""Operations in the template: CloudWatch alarms on an SNS topic, and a dashboard.

Sources: Lambda's own metrics (IteratorAge, Errors, Throttles), Kinesis' write throttling,
S3 request metrics on the failed-batch prefix, and the EMF metrics the API and the consumer
print (namespace ``gamepipe``, dimensions ``stage`` + ``service``; chalicelib/metrics.py).
A consumer that fails every batch returns ``batchItemFailures`` instead of raising, which
Lambda's Errors metric does not count: the consumer-errors alarm adds ``RecordsToRedeliver``.
"""

from __future__ import annotations

import json
from typing import Any

from chalicelib import metrics

FAILED_BATCHES_FILTER = "FailedBatches"  # the data bucket's request-metrics filter id
PERIOD = 300  # s: Lambda and EMF metrics are per minute; 5 minutes smooths one slow batch


def parameters() -> dict[str, Any]:
    """Thresholds and the optional e-mail of the alarms."""
    return {
        "AlarmEmail": {
            "Type": "String",
            "Default": "",
            "Description": "E-mail subscribed to the alarm topic (empty: no subscription).",
        },
        "IteratorAgeAlarmMs": {
            "Type": "Number",
            "Default": 600000,
            "Description": "Alarm when the oldest unread record is older (ms) for 15 minutes.",
        },
        "FreshnessTargetSeconds": {
            "Type": "Number",
            "Default": 300,
            "Description": "Alarm when events take longer to reach the lake (received -> written).",
        },
        "DeadLetterRatePercent": {
            "Type": "Number",
            "Default": 1,
            "Description": "Alarm when more of the consumer's events are dead-lettered (%).",
        },
        "Api5xxRatePercent": {
            "Type": "Number",
            "Default": 1,
            "Description": "Alarm when more of the API's replies are 5xx (%).",
        },
    }


def conditions() -> dict[str, Any]:
    """``HasAlarmEmail``: subscribe the e-mail only when one is given."""
    return {"HasAlarmEmail": {"Fn::Not": [{"Fn::Equals": [{"Ref": "AlarmEmail"}, ""]}]}}


def _own(stage: str, name: str, service: str, stat: str = "Sum") -> dict[str, Any]:
    return {
        "Metric": {
            "Namespace": metrics.NAMESPACE,
            "MetricName": name,
            "Dimensions": [
                {"Name": "stage", "Value": stage},
                {"Name": "service", "Value": service},
            ],
        },
        "Period": PERIOD,
        "Stat": stat,
    }


def _aws(namespace: str, name: str, dims: dict[str, Any], stat: str = "Sum") -> dict[str, Any]:
    return {
        "Metric": {
            "Namespace": namespace,
            "MetricName": name,
            "Dimensions": [{"Name": k, "Value": v} for k, v in dims.items()],
        },
        "Period": PERIOD,
        "Stat": stat,
    }


def _lambda(function: str, name: str, stat: str = "Sum") -> dict[str, Any]:
    return _aws("AWS/Lambda", name, {"FunctionName": {"Ref": function}}, stat)


def _alarm(
    description: str,
    threshold: Any,
    *,
    stat: dict[str, Any] | None = None,
    expression: str | None = None,
    inputs: dict[str, dict[str, Any]] | None = None,
    periods: int = 3,
    comparison: str = "GreaterThanThreshold",
) -> dict[str, Any]:
    props: dict[str, Any] = {
        "AlarmDescription": description,
        "ComparisonOperator": comparison,
        "Threshold": threshold,
        "EvaluationPeriods": periods,
        "DatapointsToAlarm": periods,
        "TreatMissingData": "notBreaching",
        "AlarmActions": [{"Ref": "AlarmTopic"}],
        "OKActions": [{"Ref": "AlarmTopic"}],
    }
    if expression is None:
        assert stat is not None
        props["Metrics"] = [{"Id": "m", "MetricStat": stat, "ReturnData": True}]
    else:
        props["Metrics"] = [
            {"Id": key, "MetricStat": value, "ReturnData": False}
            for key, value in (inputs or {}).items()
        ] + [{"Id": "e", "Expression": expression, "Label": description, "ReturnData": True}]
    return {"Type": "AWS::CloudWatch::Alarm", "Properties": props}


def _rate(
    stage: str, description: str, percent_param: str, part_whole: tuple[str, str, str]
) -> dict[str, Any]:
    """An alarm on ``100 * part / whole`` (0 when there is no traffic) over a parameter."""
    part, whole, service = part_whole
    return _alarm(
        description,
        {"Ref": percent_param},
        expression="IF(whole > 0, 100 * FILL(part, 0) / whole, 0)",
        inputs={"part": _own(stage, part, service), "whole": _own(stage, whole, service)},
    )


def alarms(stage: str) -> dict[str, Any]:
    """Seven alarms, each a question an operator would otherwise ask too late."""
    return {
        "IteratorAgeAlarm": _alarm(
            "consumer falling behind: oldest unread record older than IteratorAgeAlarmMs",
            {"Ref": "IteratorAgeAlarmMs"},
            stat=_lambda("ConsumeEvents", "IteratorAge", "Maximum"),
        ),
        "ConsumerErrorsAlarm": _alarm(
            "consumer failing: invocation errors or batches reporting failed records",
            0,
            expression="FILL(errors, 0) + FILL(redeliver, 0)",
            inputs={
                "errors": _lambda("ConsumeEvents", "Errors"),
                "redeliver": _own(stage, metrics.FAILED_RECORDS, "consumer"),
            },
        ),
        "FailedBatchesStoredAlarm": _alarm(
            "failed batches stored in S3 (aws/lambda/): run `gamepipe replay failed`",
            0,
            stat=_aws(
                "AWS/S3",
                "PutRequests",
                {"BucketName": {"Ref": "DataBucket"}, "FilterId": FAILED_BATCHES_FILTER},
            ),
            periods=1,
        ),
        "DeadLetterRateAlarm": _rate(
            stage,
            "dead-letter rate over DeadLetterRatePercent of the consumer's events",
            "DeadLetterRatePercent",
            (metrics.DEAD_LETTERS, metrics.EVENTS_IN, "consumer"),
        ),
        "Api5xxRateAlarm": _rate(
            stage,
            "API 5xx rate over Api5xxRatePercent of its replies",
            "Api5xxRatePercent",
            (metrics.SERVER_ERRORS, metrics.REQUESTS, "api"),
        ),
        "ThrottlesAlarm": _alarm(
            "throttling: the API or consumer Lambda, or writes to the stream",
            0,
            expression="FILL(api, 0) + FILL(consumer, 0) + FILL(stream, 0)",
            inputs={
                "api": _lambda("APIHandler", "Throttles"),
                "consumer": _lambda("ConsumeEvents", "Throttles"),
                "stream": _aws(
                    "AWS/Kinesis",
                    "WriteProvisionedThroughputExceeded",
                    {"StreamName": {"Ref": "EventsStream"}},
                ),
            },
        ),
        "FreshnessAlarm": _alarm(
            "freshness: events older than FreshnessTargetSeconds when written to the lake",
            {"Ref": "FreshnessTargetSeconds"},
            stat=_own(stage, metrics.FRESHNESS, "consumer", "Maximum"),
        ),
    }


def dashboard_body(stage: str, alarm_ids: list[str]) -> dict[str, Any]:
    """The dashboard's JSON (``Fn::Sub`` fills in function, stream and alarm names)."""
    own = ["stage", stage, "service"]
    region = "${AWS::Region}"

    def widget(title: str, metrics_: list[list[Any]], x: int, y: int, stat: str = "Sum") -> Any:
        return {
            "type": "metric",
            "x": x,
            "y": y,
            "width": 12,
            "height": 6,
            "properties": {
                "title": title,
                "region": region,
                "stat": stat,
                "period": 60,
                "view": "timeSeries",
                "metrics": metrics_,
            },
        }

    def search(name: str, dimension: str, label: str) -> list[Any]:
        query = (
            f"SEARCH('{{{metrics.NAMESPACE},stage,service,{dimension}}} "
            f'MetricName="{name}" stage="{stage}"\', \'Sum\', 60)'
        )
        return [{"expression": query, "label": label, "id": f"s{len(name)}"}]

    return {
        "widgets": [
            widget(
                "events: accepted by the API, in to the consumer, rows written",
                [
                    [metrics.NAMESPACE, metrics.ACCEPTED, *own, "api"],
                    [metrics.NAMESPACE, metrics.REJECTED, *own, "api"],
                    [metrics.NAMESPACE, metrics.EVENTS_IN, *own, "consumer"],
                    [metrics.NAMESPACE, metrics.ROWS, *own, "consumer"],
                ],
                0,
                0,
            ),
            widget(
                "rows written per table",
                [search(metrics.ROWS_BY_TABLE, "table", "rows")],
                12,
                0,
            ),
            widget(
                "consumer lag: iterator age (ms) and freshness (s)",
                [
                    ["AWS/Lambda", "IteratorAge", "FunctionName", "${ConsumeEvents}"],
                    [metrics.NAMESPACE, metrics.FRESHNESS, *own, "consumer", {"yAxis": "right"}],
                ],
                0,
                6,
                "Maximum",
            ),
            widget(
                "dead letters by reason, duplicates dropped",
                [
                    search(metrics.DEAD_LETTERS_BY_REASON, "reason", "dead letters"),
                    [metrics.NAMESPACE, metrics.DUPLICATES, *own, "consumer"],
                ],
                12,
                6,
            ),
            widget(
                "errors: API 5xx, consumer errors and records to redeliver, throttles",
                [
                    [metrics.NAMESPACE, metrics.SERVER_ERRORS, *own, "api"],
                    ["AWS/Lambda", "Errors", "FunctionName", "${ConsumeEvents}"],
                    [metrics.NAMESPACE, metrics.FAILED_RECORDS, *own, "consumer"],
                    ["AWS/Lambda", "Throttles", "FunctionName", "${APIHandler}"],
                    ["AWS/Lambda", "Throttles", "FunctionName", "${ConsumeEvents}"],
                ],
                0,
                12,
            ),
            widget(
                "consumer batch time (ms)",
                [[metrics.NAMESPACE, metrics.BATCH_MS, *own, "consumer"]],
                12,
                12,
                "p95",
            ),
            {
                "type": "alarm",
                "x": 0,
                "y": 18,
                "width": 24,
                "height": 3,
                "properties": {
                    "title": "alarms",
                    "alarms": [f"${{{a}.Arn}}" for a in alarm_ids],
                },
            },
        ]
    }


def resources(stage: str) -> dict[str, Any]:
    """The alarm topic (and its optional e-mail subscription), the alarms, the dashboard."""
    found = alarms(stage)
    out: dict[str, Any] = {
        "AlarmTopic": {
            "Type": "AWS::SNS::Topic",
            "Properties": {
                "TopicName": f"gamepipe-{stage}-alarms",
                "KmsMasterKeyId": "alias/aws/sns",
            },
        },
        "AlarmEmailSubscription": {
            "Type": "AWS::SNS::Subscription",
            "Condition": "HasAlarmEmail",
            "Properties": {
                "TopicArn": {"Ref": "AlarmTopic"},
                "Protocol": "email",
                "Endpoint": {"Ref": "AlarmEmail"},
            },
        },
        **found,
        "Dashboard": {
            "Type": "AWS::CloudWatch::Dashboard",
            "Properties": {
                "DashboardName": f"gamepipe-{stage}",
                "DashboardBody": {"Fn::Sub": json.dumps(dashboard_body(stage, sorted(found)))},
            },
        },
    }
    return out
