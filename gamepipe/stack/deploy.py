"""CloudFormation path: ``make package`` output (gamepipe/infra/package.py) -> a deployed stack.

Full deploy (AWS): SAM template with the functions, the API and the data plane. On
LocalStack without Docker, Lambda cannot run (its only executor is Docker), so there the
useful part is ``resources_only``: the data plane (stream, buckets, failure queue) through
LocalStack's CloudFormation; Glue and Athena are skipped there (501 in LocalStack's free
tier). ``stack_env`` turns a deployed stack's outputs into the CLI's environment.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from gamepipe.infra import package as packager

ROOT = Path(__file__).resolve().parents[2]
DATA_PLANE_TYPES = (
    "AWS::Kinesis::Stream",
    "AWS::S3::Bucket",
    "AWS::Glue::Database",
    "AWS::Athena::WorkGroup",
    "AWS::DynamoDB::Table",
)
# Stack outputs -> the variables the CLI reads (chalicelib/settings.py).
OUTPUT_ENV = {
    "Stage": "GAMEPIPE_STAGE",
    "StreamName": "GAMEPIPE_STREAM_NAME",
    "DataBucketName": "GAMEPIPE_DATA_BUCKET",
    "ReportsBucketName": "GAMEPIPE_REPORTS_BUCKET",
    "GlueDatabaseName": "GAMEPIPE_GLUE_DATABASE",
    "AthenaWorkGroupName": "GAMEPIPE_ATHENA_WORKGROUP",
    "ApplicationsTableName": "GAMEPIPE_APPLICATIONS_TABLE",
    "UsagePlanId": "GAMEPIPE_USAGE_PLAN_ID",
    "AccountId": "GAMEPIPE_BUCKET_OWNER",
    "EndpointURL": "GAMEPIPE_API_URL",
    "ConsumeEventsName": "GAMEPIPE_CONSUMER_FUNCTION",  # gamepipe status: its IteratorAge
}


def package(stage: str, out_dir: Path, region: str | None = None) -> Path:
    """``make package`` into ``out_dir``; return the path of the merged SAM template."""
    return packager.package(stage, out_dir, region=region).template_path


def stack_name(stage: str) -> str:
    """The CloudFormation stack of a stage (chalicelib/names.py)."""
    from chalicelib.names import resource_names

    return resource_names(stage).stack


def stack_outputs(cfn: Any, name: str) -> dict[str, str]:
    """A deployed stack's outputs; a clear error when it does not exist."""
    try:
        stack = cfn.describe_stacks(StackName=name)["Stacks"][0]
    except ClientError as exc:
        raise LookupError(f"no CloudFormation stack {name!r} here ({exc})") from exc
    return {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}


def stack_env(cfn: Any, stage: str, region: str) -> dict[str, str]:
    """The environment that points the CLI at a deployed stage (its outputs, Athena, region)."""
    outputs = stack_outputs(cfn, stack_name(stage))
    env = {var: outputs[key] for key, var in OUTPUT_ENV.items() if key in outputs}
    missing = [k for k in ("StreamName", "DataBucketName") if k not in outputs]
    if missing:
        raise LookupError(f"stack {stack_name(stage)} has no outputs {missing}")
    if "GAMEPIPE_API_URL" in env:
        env["GAMEPIPE_API_URL"] = env["GAMEPIPE_API_URL"].rstrip("/")
    env.setdefault("GAMEPIPE_STAGE", stage)
    env.update(GAMEPIPE_QUERY_ENGINE="athena", AWS_DEFAULT_REGION=region)
    return env


def _refs(node: Any) -> set[str]:
    """Logical ids a template fragment refers to (Ref, GetAtt, ${Sub} names)."""
    found: set[str] = set()
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "Ref" and isinstance(value, str):
                found.add(value)
            elif key == "Fn::GetAtt":
                found.add(value[0] if isinstance(value, list) else str(value).split(".")[0])
            elif key == "Fn::Sub":
                text = value[0] if isinstance(value, list) else value
                for part in str(text).split("${")[1:]:
                    found.add(part.split("}")[0].split(".")[0])
            found |= _refs(value)
    elif isinstance(node, list):
        for item in node:
            found |= _refs(item)
    return found


def resources_only(
    template: dict[str, Any], skip_types: tuple[str, ...] = (), *, roles: bool = False
) -> dict[str, Any]:
    """The template without functions, API, schedules and transform: the data plane, and
    with ``roles`` the functions' IAM roles too (what runs without a Lambda service). A
    resource that refers to one left out is left out as well."""
    wanted = DATA_PLANE_TYPES + (("AWS::IAM::Role",) if roles else ())
    function_roles = {
        str(role["Fn::GetAtt"][0])
        for res in template["Resources"].values()
        if res.get("Type") == "AWS::Serverless::Function"
        and isinstance(role := res.get("Properties", {}).get("Role"), dict)
        and "Fn::GetAtt" in role
    }
    kept = {
        name: res
        for name, res in template["Resources"].items()
        if res.get("Type") in wanted
        and res.get("Type") not in skip_types
        # roles: the functions' own (not API Gateway's account-wide logging role)
        and (res.get("Type") != "AWS::IAM::Role" or name in function_roles)
    }
    params = set(template.get("Parameters", {}))
    while True:  # drop whatever refers to a resource that is gone, until nothing changes
        gone = [
            n for n, r in kept.items() if any(
                ref not in kept and ref not in params and not ref.startswith("AWS::")
                for ref in _refs(r)
            )
        ]  # fmt: skip
        if not gone:
            break
        for name in gone:
            del kept[name]
    used = _refs(kept)
    outputs = {
        name: out
        for name, out in template.get("Outputs", {}).items()
        if _refs(out) <= set(kept) | {n for n in _refs(out) if n.startswith("AWS::")}
    }
    return {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": "gamepipe data plane (stream, buckets, failure queue) and roles",
        "Parameters": {k: v for k, v in template.get("Parameters", {}).items() if k in used},
        "Resources": kept,
        "Outputs": outputs,
    }


def artifacts_bucket(s3: Any, sts: Any, stage: str, region: str) -> str:
    """The stage's bucket for deployment.zip (``gamepipe-<stage>-artifacts-<account>-<region>``),
    created when missing; an error if another account owns the name."""
    from chalicelib.names import resource_names
    from gamepipe.stack.resources import ensure_bucket

    account = sts.get_caller_identity()["Account"]
    name = resource_names(stage, account, region).artifacts_bucket
    ensure_bucket(s3, name, region)
    s3.head_bucket(Bucket=name, ExpectedBucketOwner=account)
    return name


def upload_code(template: dict[str, Any], package_dir: Path, s3: Any, bucket: str) -> None:
    """Upload deployment.zip and point every function's CodeUri at it (what `sam package` does)."""
    zip_path = package_dir / "deployment.zip"
    key = f"gamepipe/deployment-{int(time.time())}.zip"
    s3.upload_file(str(zip_path), bucket, key)
    for res in template["Resources"].values():
        if res.get("Type") == "AWS::Serverless::Function":
            res["Properties"]["CodeUri"] = f"s3://{bucket}/{key}"


def deploy_stack(
    cfn: Any, stack_name: str, template: dict[str, Any], *, timeout: float = 900
) -> dict[str, str]:
    """Create or update ``stack_name``; wait for it; return its outputs."""
    body = json.dumps(template)
    caps = ["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND"]
    try:
        cfn.describe_stacks(StackName=stack_name)
        exists = True
    except ClientError:
        exists = False
    try:
        if exists:
            cfn.update_stack(StackName=stack_name, TemplateBody=body, Capabilities=caps)
        else:
            cfn.create_stack(StackName=stack_name, TemplateBody=body, Capabilities=caps)
    except ClientError as exc:
        if "No updates are to be performed" not in str(exc):
            raise
    deadline = time.monotonic() + timeout
    while True:
        stack = cfn.describe_stacks(StackName=stack_name)["Stacks"][0]
        status = stack["StackStatus"]
        if status.endswith("_COMPLETE") and "ROLLBACK" not in status:
            return {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
        if status.endswith("_FAILED") or "ROLLBACK" in status:
            events = cfn.describe_stack_events(StackName=stack_name)["StackEvents"][:10]
            reasons = [
                e.get("ResourceStatusReason", "") for e in events if "FAILED" in e["ResourceStatus"]
            ]
            raise RuntimeError(f"stack {stack_name}: {status}: {reasons}")
        if time.monotonic() > deadline:
            raise TimeoutError(f"stack {stack_name} still {status}")
        time.sleep(1.0)


def deployed_env(stage: str) -> dict[str, str]:
    """The deployed stage's environment from its stack outputs (UserError if absent)."""
    from chalicelib import aws
    from gamepipe.errors import UserError

    region = aws.session().region_name
    if not region:
        raise UserError("no AWS region: set AWS_DEFAULT_REGION or AWS_PROFILE")
    try:
        return stack_env(aws.client("cloudformation"), stage, region)
    except LookupError as exc:
        raise UserError(f"{exc}; deploy it first: make deploy STAGE={stage}") from exc


def deployed_resources(settings: Any) -> dict[str, Any]:
    """What the demo reports of a deployed stack's resources (it creates none)."""
    from chalicelib import aws

    arn = aws.client("kinesis").describe_stream_summary(StreamName=settings.stream_name)
    return {
        "stream_arn": arn["StreamDescriptionSummary"]["StreamARN"],
        "buckets": [settings.data_bucket, settings.reports_bucket],
        "glue_database": settings.glue_database,
        "glue_tables": [],
    }


class DeployedPoller:
    """Stands in for the local Kinesis trigger when the deployed consumer Lambda consumes:
    ``drain`` waits until the lake holds every event the API accepted (asked via Athena)."""

    def __init__(self, settings: Any, generator_summary: Path, interval: float = 10.0) -> None:
        self.settings = settings
        self.summary = generator_summary
        self.interval = interval

    def follow(self, stop: Any = None) -> None:
        """Nothing to run locally: the deployed event source mapping delivers the records."""

    def drain(self, timeout: float = 300.0) -> Any:
        """Wait for the deployed consumer to have written every accepted event."""
        from chalicelib.query import run_query
        from gamepipe.runtime.kinesis_poller import PollStats

        accepted = json.loads(self.summary.read_text()).get("accepted", 0)
        sql = "SELECT count(DISTINCT event_id) AS n FROM events"
        deadline = time.monotonic() + timeout
        while True:
            rows = run_query(sql, settings=self.settings).to_pylist()
            seen = int(rows[0]["n"]) if rows else 0
            if seen >= accepted:
                return PollStats(records_delivered=seen)
            if time.monotonic() > deadline:
                raise TimeoutError(f"the deployed consumer wrote {seen} of {accepted} events")
            time.sleep(self.interval)
