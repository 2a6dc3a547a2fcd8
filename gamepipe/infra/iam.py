"""Resolve a packaged template to concrete names, and check recorded AWS calls against IAM.

``StackModel`` plays CloudFormation for the sandbox: Ref, Fn::GetAtt and Fn::Sub of the
template's own resources, parameters and pseudo parameters become the names and ARNs the
stack would have (in the emulator's account and region).

``check_calls`` is a small IAM evaluator: each recorded call becomes an (action, resource
ARN) pair, allowed only if an ``Allow`` statement of the function's role matches both
(IAM wildcards ``*`` and ``?``). What it does not model: ``Condition`` blocks (a
conditional Allow counts as an Allow), ``NotAction``/``NotResource`` (rejected), resource
policies (bucket, key, queue policies), permission boundaries, SCPs, session policies, and
the exact resource list of actions that AWS documents per operation beyond what
``call_resources`` maps.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

PARTITION = "aws"
# Calls that need no IAM permission.
UNAUTHORISED_OK = {("sts", "GetCallerIdentity")}


class UnresolvableError(ValueError):
    """A template expression the model cannot resolve."""


@dataclass
class StackModel:
    """The names a packaged template's stack would have in ``account``/``region``."""

    template: dict[str, Any]
    account: str
    region: str
    stack: str
    parameters: dict[str, str] | None = None

    def pseudo(self, name: str) -> str:
        """AWS::AccountId, AWS::Region, ... for this stack."""
        values = {
            "AWS::AccountId": self.account,
            "AWS::Region": self.region,
            "AWS::Partition": PARTITION,
            "AWS::StackName": self.stack,
            "AWS::URLSuffix": "amazonaws.com",
        }
        if name not in values:
            raise UnresolvableError(name)
        return values[name]

    def physical_name(self, logical: str) -> str:
        """What CloudFormation names a resource: its name property, else <stack>-<id>-<rand>."""
        res = self.template["Resources"][logical]
        props = res.get("Properties", {})
        kind = res["Type"]
        named = {
            "AWS::Kinesis::Stream": props.get("Name"),
            "AWS::S3::Bucket": props.get("BucketName"),
            "AWS::Glue::Database": props.get("DatabaseInput", {}).get("Name"),
            "AWS::SQS::Queue": props.get("QueueName"),
            "AWS::Athena::WorkGroup": props.get("Name"),
            "AWS::Logs::LogGroup": props.get("LogGroupName"),
            "AWS::DynamoDB::Table": props.get("TableName"),
        }.get(kind)
        if named is not None:
            return str(self.resolve(named))
        return f"{self.stack}-{logical}-SANDBOX"

    def ref(self, name: str) -> str:
        """``{"Ref": name}``."""
        if name.startswith("AWS::"):
            return self.pseudo(name)
        params = self.template.get("Parameters", {})
        if name in params:
            if self.parameters and name in self.parameters:
                return self.parameters[name]
            return str(params[name].get("Default"))
        res = self.template["Resources"].get(name)
        if res is None:
            raise UnresolvableError(f"Ref {name}: no such parameter or resource")
        if res["Type"] == "AWS::SQS::Queue":
            return (
                f"https://sqs.{self.region}.amazonaws.com/{self.account}/{self.physical_name(name)}"
            )
        return self.physical_name(name)

    def get_att(self, logical: str, attr: str) -> str:
        """``{"Fn::GetAtt": [logical, attr]}`` (Arn of the resource types we use)."""
        kind = self.template["Resources"][logical]["Type"]
        name = self.physical_name(logical)
        where = f"{self.region}:{self.account}"
        arns = {
            "AWS::Kinesis::Stream": f"arn:{PARTITION}:kinesis:{where}:stream/{name}",
            "AWS::S3::Bucket": f"arn:{PARTITION}:s3:::{name}",
            "AWS::SQS::Queue": f"arn:{PARTITION}:sqs:{where}:{name}",
            "AWS::IAM::Role": f"arn:{PARTITION}:iam::{self.account}:role/{name}",
            "AWS::Serverless::Function": f"arn:{PARTITION}:lambda:{where}:function:{name}",
            "AWS::DynamoDB::Table": f"arn:{PARTITION}:dynamodb:{where}:table/{name}",
        }
        if attr != "Arn" or kind not in arns:
            raise UnresolvableError(f"GetAtt {logical}.{attr} ({kind})")
        return arns[kind]

    def resolve(self, node: Any) -> Any:
        """``node`` with every intrinsic function replaced by its value."""
        if isinstance(node, list):
            return [self.resolve(n) for n in node]
        if not isinstance(node, dict):
            return node
        if len(node) == 1:
            ((key, value),) = node.items()
            if key == "Ref":
                return self.ref(value)
            if key == "Fn::GetAtt":
                logical, attr = value if isinstance(value, list) else value.split(".", 1)
                return self.get_att(logical, attr)
            if key == "Fn::Sub":
                return self._sub(value)
            if key == "Fn::Join":
                sep, parts = value
                return sep.join(str(p) for p in self.resolve(parts))
            if key.startswith("Fn::"):
                raise UnresolvableError(key)
        return {k: self.resolve(v) for k, v in node.items()}

    def _sub(self, value: Any) -> str:
        text, variables = (value, {}) if isinstance(value, str) else value
        variables = {k: self.resolve(v) for k, v in variables.items()}

        def one(match: re.Match[str]) -> str:
            name = match.group(1)
            if name in variables:
                return str(variables[name])
            if "." in name and not name.startswith("AWS::"):
                logical, attr = name.split(".", 1)
                return self.get_att(logical, attr)
            return self.ref(name)

        return re.sub(r"\$\{([^}!]+)\}", one, text)

    def role_statements(self, function: str) -> list[dict[str, Any]]:
        """The resolved policy statements of the role a function runs with."""
        role = self.template["Resources"][function]["Properties"]["Role"]
        if not (isinstance(role, dict) and "Fn::GetAtt" in role):
            raise UnresolvableError(f"{function}: Role {role!r} is not a role of this stack")
        logical = role["Fn::GetAtt"][0]
        statements = []
        for policy in self.template["Resources"][logical]["Properties"].get("Policies", []):
            doc = self.resolve(policy["PolicyDocument"])
            found = doc["Statement"]
            statements += found if isinstance(found, list) else [found]
        return statements


@dataclass(frozen=True)
class Denied:
    """A call the role does not allow."""

    service: str
    operation: str
    action: str
    resource: str

    def __str__(self) -> str:
        return f"{self.service}.{self.operation}: {self.action} on {self.resource}"


_S3_OBJECT_ACTIONS = {
    "PutObject": "s3:PutObject",
    "CreateMultipartUpload": "s3:PutObject",
    "UploadPart": "s3:PutObject",
    "CompleteMultipartUpload": "s3:PutObject",
    "GetObject": "s3:GetObject",
    "HeadObject": "s3:GetObject",
    "DeleteObject": "s3:DeleteObject",
    "AbortMultipartUpload": "s3:AbortMultipartUpload",
    "ListParts": "s3:ListMultipartUploadParts",
}
_S3_BUCKET_ACTIONS = {
    "ListObjectsV2": "s3:ListBucket",
    "ListObjects": "s3:ListBucket",
    "HeadBucket": "s3:ListBucket",
    "GetBucketLocation": "s3:GetBucketLocation",
}
# Glue operations that act on a database (the rest act on a table, or the catalog).
_GLUE_DATABASE_OPS = {"GetDatabase", "CreateDatabase", "UpdateDatabase", "GetTables"}


def call_resources(call: dict[str, Any], account: str, region: str) -> list[tuple[str, str]]:
    """The (IAM action, resource ARN) pairs AWS authorises for one recorded call."""
    service, op, p = call["service"], call["operation"], call["params"]
    if service == "s3":
        bucket = f"arn:{PARTITION}:s3:::{p.get('Bucket', '')}"
        if op == "DeleteObjects":
            return [("s3:DeleteObject", f"{bucket}/{k}") for k in p.get("Keys", [])]
        if op in _S3_OBJECT_ACTIONS:
            return [(_S3_OBJECT_ACTIONS[op], f"{bucket}/{p.get('Key', '')}")]
        return [(_S3_BUCKET_ACTIONS.get(op, f"s3:{op}"), bucket)]
    if service == "kinesis":
        arn = p.get("StreamARN") or (
            f"arn:{PARTITION}:kinesis:{region}:{account}:stream/{p.get('StreamName', '')}"
        )
        return [(f"kinesis:{op}", arn)]
    if service == "glue":
        base = f"arn:{PARTITION}:glue:{region}:{account}"
        found = [(f"glue:{op}", f"{base}:catalog")]
        db = p.get("DatabaseName") or (
            p.get("DatabaseInput.Name") if op == "CreateDatabase" else None
        )
        if op in ("GetDatabase",) and not db:
            db = p.get("Name")
        if db:
            found.append((f"glue:{op}", f"{base}:database/{db}"))
        table = p.get("TableName") or p.get("TableInput.Name")
        if not table and op not in _GLUE_DATABASE_OPS:
            table = p.get("Name")
        if op == "GetTables" and db:
            table = "*"
        if db and table:
            found.append((f"glue:{op}", f"{base}:table/{db}/{table}"))
        return found
    if service == "athena":
        workgroup = p.get("WorkGroup") or p.get("Name") or "primary"
        return [
            (f"athena:{op}", f"arn:{PARTITION}:athena:{region}:{account}:workgroup/{workgroup}")
        ]
    if service == "sqs":
        name = p.get("QueueUrl", "").rstrip("/").rsplit("/", 1)[-1]
        return [(f"sqs:{op}", f"arn:{PARTITION}:sqs:{region}:{account}:{name}")]
    if service == "logs":
        return [(f"logs:{op}", p["Resource"])]
    if service == "dynamodb":
        table = p.get("TableName", "")
        return [(f"dynamodb:{op}", f"arn:{PARTITION}:dynamodb:{region}:{account}:table/{table}")]
    return [(f"{service}:{op}", "*")]


@functools.cache
def _pattern(glob: str) -> re.Pattern[str]:
    return re.compile(
        "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in glob), re.S
    )


def _matches(patterns: Any, value: str, *, case: bool) -> bool:
    items = patterns if isinstance(patterns, list) else [patterns]
    if not case:
        value = value.lower()
    return any(_pattern(p if case else p.lower()).fullmatch(value) for p in items)


def allows(statements: Iterable[dict[str, Any]], action: str, resource: str) -> bool:
    """Whether the statements allow ``action`` on ``resource`` (an explicit Deny wins)."""
    allowed = False
    for st in statements:
        if "NotAction" in st or "NotResource" in st:
            raise ValueError(f"NotAction/NotResource are not modelled: {st}")
        if _matches(st.get("Action", []), action, case=False) and _matches(
            st.get("Resource", []), resource, case=True
        ):
            if st.get("Effect") == "Deny":
                return False
            allowed = True
    return allowed


def check_calls(
    statements: list[dict[str, Any]], calls: Iterable[dict[str, Any]], account: str, region: str
) -> list[Denied]:
    """Every recorded call the statements do not allow."""
    denied: list[Denied] = []
    for call in calls:
        if (call["service"], call["operation"]) in UNAUTHORISED_OK:
            continue
        for action, resource in call_resources(call, account, region):
            if not allows(statements, action, resource):
                denied.append(Denied(call["service"], call["operation"], action, resource))
    return list(dict.fromkeys(denied))
