"""The stack's storage, hardened: the data, reports and access-logs buckets.

* **Encryption, explicit: SSE-S3 (AES-256, S3-managed keys)** on every bucket. Why not
  SSE-KMS: the consumer writes one object per table partition per batch (thousands a day)
  and Athena reads them back; with KMS every PUT/GET is also a KMS call (cost, and KMS
  request quotas shared with the account) and every reader needs key-policy grants, while
  the threat SSE protects against here (disks, not principals) is the same. Access is
  controlled by IAM and the bucket policies below. Server access logs can only be
  delivered to an SSE-S3 bucket anyway. Move to SSE-KMS with S3 Bucket Keys when an
  auditor wants key-level control and CloudTrail records of key use.
* **TLS only**: each bucket's policy denies every request made without TLS
  (``aws:SecureTransport`` false), whoever makes it; the queue's policy the same.
* **Versioning on the data bucket**: compaction deletes and overwrites objects, and a
  redelivered batch overwrites its file; the previous versions stay recoverable for
  ``NoncurrentVersionDays`` (7), then expire (and the delete markers left alone go too).
* **Server access logs** of the data and reports buckets go to a logs bucket (private,
  SSE-S3, TLS only, 90 days), delivered by the S3 logging service as its policy allows.
* **Failed batches** need no queue: the Kinesis mapping's on-failure destination is the
  data bucket (``aws/lambda/...``), so they are versioned, SSE-S3 and TLS-only like the lake;
  S3 request metrics on that prefix feed the "failed batches stored" alarm.
"""

from __future__ import annotations

from typing import Any

from chalicelib.lake_state import FAILED_PREFIX
from chalicelib.names import ResourceNames
from gamepipe.infra import operations

ACCESS_LOG_DAYS = 90


def _sub(text: str) -> dict[str, str]:
    return {"Fn::Sub": text}


def private_bucket(
    name: str,
    lifecycle: list[dict[str, Any]],
    *,
    logs_prefix: str | None = None,
    versioned: bool = False,
) -> dict[str, Any]:
    """A bucket no one outside the account reaches: public access blocked, ACLs off, SSE-S3."""
    props: dict[str, Any] = {
        "BucketName": _sub(name),
        "PublicAccessBlockConfiguration": {
            "BlockPublicAcls": True,
            "BlockPublicPolicy": True,
            "IgnorePublicAcls": True,
            "RestrictPublicBuckets": True,
        },
        "OwnershipControls": {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]},
        "BucketEncryption": {
            "ServerSideEncryptionConfiguration": [
                {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}
            ]
        },
        "LifecycleConfiguration": {"Rules": lifecycle},
    }
    if versioned:
        props["VersioningConfiguration"] = {"Status": "Enabled"}
    if logs_prefix is not None:
        props["LoggingConfiguration"] = {
            "DestinationBucketName": {"Ref": "LogsBucket"},
            "LogFilePrefix": f"{logs_prefix}/",
        }
    return {"Type": "AWS::S3::Bucket", "Properties": props}


def _with_failed_batch_metrics(bucket: dict[str, Any]) -> dict[str, Any]:
    # S3 request metrics on the failed-batch prefix: the "failed batches stored" alarm
    bucket["Properties"]["MetricsConfigurations"] = [
        {"Id": operations.FAILED_BATCHES_FILTER, "Prefix": FAILED_PREFIX}
    ]
    return bucket


def _deny_without_tls(actions: str, resources: list[Any]) -> dict[str, Any]:
    return {
        "Sid": "DenyWithoutTLS",
        "Effect": "Deny",
        "Principal": "*",
        "Action": actions,
        "Resource": resources,
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }


def bucket_policy(logical: str, extra: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """The bucket's policy: TLS only (plus ``extra`` statements)."""
    arn = {"Fn::GetAtt": [logical, "Arn"]}
    objects = _sub(f"${{{logical}.Arn}}/*")
    return {
        "Type": "AWS::S3::BucketPolicy",
        "Properties": {
            "Bucket": {"Ref": logical},
            "PolicyDocument": {
                "Version": "2012-10-17",
                "Statement": [_deny_without_tls("s3:*", [arn, objects]), *(extra or [])],
            },
        },
    }


def _log_delivery(sources: list[str]) -> dict[str, Any]:
    """The S3 logging service may write the given buckets' access logs, nothing else."""
    return {
        "Sid": "S3ServerAccessLogs",
        "Effect": "Allow",
        "Principal": {"Service": "logging.s3.amazonaws.com"},
        "Action": "s3:PutObject",
        "Resource": _sub("${LogsBucket.Arn}/*"),
        "Condition": {
            "ArnLike": {"aws:SourceArn": [{"Fn::GetAtt": [s, "Arn"]} for s in sources]},
            "StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}},
        },
    }


def storage_resources(
    names: ResourceNames, athena_results_prefix: str, abort_uploads: dict[str, Any]
) -> dict[str, Any]:
    """The data, reports and logs buckets with their policies."""
    noncurrent = {
        "Id": "expire-noncurrent-versions",
        "Status": "Enabled",
        "NoncurrentVersionExpiration": {"NoncurrentDays": {"Ref": "NoncurrentVersionDays"}},
        "ExpiredObjectDeleteMarker": True,
    }
    athena_results = {
        "Id": "expire-athena-results",
        "Status": "Enabled",
        "Prefix": f"{athena_results_prefix}/",
        "ExpirationInDays": 7,
    }
    logs_expiry = {"Id": "expire-logs", "Status": "Enabled", "ExpirationInDays": ACCESS_LOG_DAYS}
    logged = ["DataBucket", "ReportsBucket"]
    return {
        "DataBucket": _with_failed_batch_metrics(
            private_bucket(
                names.data_bucket, [abort_uploads, noncurrent], logs_prefix="data", versioned=True
            )
        ),
        "ReportsBucket": private_bucket(
            names.reports_bucket, [abort_uploads, athena_results], logs_prefix="reports"
        ),
        "LogsBucket": private_bucket(names.logs_bucket, [abort_uploads, logs_expiry]),
        "DataBucketPolicy": bucket_policy("DataBucket"),
        "ReportsBucketPolicy": bucket_policy("ReportsBucket"),
        "LogsBucketPolicy": bucket_policy("LogsBucket", [_log_delivery(logged)]),
    }


STORAGE_PARAMETERS: dict[str, Any] = {
    "NoncurrentVersionDays": {
        "Type": "Number",
        "Default": 7,
        "MinValue": 1,
        "Description": (
            "Days a replaced or deleted lake object stays recoverable (the data bucket is "
            "versioned: compaction deletes and overwrites)."
        ),
    },
}
