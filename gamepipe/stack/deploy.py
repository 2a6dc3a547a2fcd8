"""CloudFormation path: ``chalice package`` + ``infrastructure/merge.json`` -> a deployed stack.

Full deploy (AWS): SAM template with the functions, the API and the data plane. On
LocalStack without Docker, Lambda cannot run (its only executor is Docker), so there the
useful part is ``resources_only``: the data plane (stream, buckets, failure queue) through
LocalStack's CloudFormation; Glue is skipped there (501 in LocalStack's free tier).
"""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from gamepipe.stack.api import chalice_executable

ROOT = Path(__file__).resolve().parents[2]
MERGE_TEMPLATE = ROOT / "infrastructure" / "merge.json"
DATA_PLANE_TYPES = (
    "AWS::Kinesis::Stream",
    "AWS::S3::Bucket",
    "AWS::SQS::Queue",
    "AWS::Glue::Database",
)


def package(stage: str, out_dir: Path, *, merge_template: Path = MERGE_TEMPLATE) -> Path:
    """Run ``chalice package --merge-template``; return the path of the SAM template."""
    out_dir.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [
            chalice_executable(),
            "package",
            "--stage",
            stage,
            "--merge-template",
            str(merge_template),
            str(out_dir),
        ],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    return out_dir / "sam.json"


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


def resources_only(template: dict[str, Any], skip_types: tuple[str, ...] = ()) -> dict[str, Any]:
    """The data-plane part of the template (no functions, API, roles, transform)."""
    kept = {
        name: res
        for name, res in template["Resources"].items()
        if res.get("Type") in DATA_PLANE_TYPES and res.get("Type") not in skip_types
    }
    used = _refs(kept)
    outputs = {
        name: out
        for name, out in template.get("Outputs", {}).items()
        if _refs(out) <= set(kept) | {n for n in _refs(out) if n.startswith("AWS::")}
    }
    return {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": "gamepipe data plane (stream, buckets, failure queue)",
        "Parameters": {k: v for k, v in template.get("Parameters", {}).items() if k in used},
        "Resources": kept,
        "Outputs": outputs,
    }


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
