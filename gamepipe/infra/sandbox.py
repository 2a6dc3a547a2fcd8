"""The Lambda sandbox: run each packaged function as Lambda would, against the emulator.

From a :class:`~gamepipe.infra.package.Package` (the same ``chalice package`` output that
``make deploy`` ships): the zip unzipped as the task root, the stand-in of each layer the
function declares, and the runtime's own boto3 (``infrastructure/lambda-layer.lock``), in a
fresh ``python -I -S`` of the template's Python version whose ``sys.path`` is only those.
Each function gets the environment the template gives it, with every Ref/Sub resolved to
the names the stack would create (:class:`~gamepipe.infra.iam.StackModel`); the calls it
makes are recorded and checked against its role (:func:`~gamepipe.infra.iam.check_calls`).
"""

from __future__ import annotations

import glob
import json
import os
import shutil
import subprocess
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gamepipe.infra import layer
from gamepipe.infra.iam import Denied, StackModel, check_calls
from gamepipe.infra.package import Package

RUNNER = Path(__file__).with_name("sandbox_runner.py")
ACCOUNT = "123456789012"  # moto's default account
LAYER_PARAMETER = "PandasLayerArn"
CACHE = layer.ROOT / "build" / "sandbox"


class SandboxError(RuntimeError):
    """A function failed in the sandbox (import error, exception, or a failed batch)."""


@dataclass
class Outcome:
    """What one invocation returned, raised and called."""

    function: str
    result: Any
    error: dict[str, str] | None
    calls: list[dict[str, Any]] = field(default_factory=list)
    stderr: str = ""

    def ok(self) -> Any:
        """The result; raises SandboxError if the function failed."""
        if self.error:
            raise SandboxError(
                f"{self.function}: {self.error['type']}: {self.error['message']}\n"
                f"{self.error['traceback']}"
            )
        return self.result


def runtime_python(template: dict[str, Any]) -> str:
    """The interpreter of the functions' runtime (``python3.11`` -> pyenv's 3.11.x)."""
    runtimes = {
        r["Properties"]["Runtime"]
        for r in template["Resources"].values()
        if r["Type"] == "AWS::Serverless::Function"
    }
    if len(runtimes) != 1:
        raise SandboxError(f"functions use several runtimes: {sorted(runtimes)}")
    version = runtimes.pop().removeprefix("python")
    pyenv = sorted(glob.glob(f"/root/.pyenv/versions/{version}.*/bin/python{version}"))
    found = pyenv[-1] if pyenv else shutil.which(f"python{version}")
    if not found:
        raise SandboxError(f"no Python {version} interpreter (pyenv or PATH) for the sandbox")
    return found


@dataclass
class Sandbox:
    """An unzipped package, its layer and runtime libraries, and the stack's names."""

    package: Package
    task_dir: Path
    layer_dir: Path
    runtime_dir: Path
    python: str
    model: StackModel
    endpoint: str

    @classmethod
    def prepare(
        cls, package: Package, work: Path, endpoint: str, *, cache: Path = CACHE
    ) -> Sandbox:
        """Unzip the package under ``work`` and install the layer and runtime stand-ins."""
        template = package.template()
        python = runtime_python(template)
        version = template_python(template)
        task = work / "task"
        if task.exists():
            shutil.rmtree(task)
        with zipfile.ZipFile(package.zip_path) as zf:
            zf.extractall(task)
        layer_dir = layer.install("layer", cache / f"layer-py{version}", version)
        runtime_dir = layer.install("runtime", cache / f"runtime-py{version}", version)
        model = StackModel(
            template, ACCOUNT, os.environ.get("AWS_DEFAULT_REGION", "us-east-1"),
            stack=f"gamepipe-{package.stage}",
            parameters={LAYER_PARAMETER: "arn:aws:lambda:sandbox:layer:aws-sdk-pandas:1"},
        )  # fmt: skip
        return cls(package, task, layer_dir, runtime_dir, python, model, endpoint)

    def functions(self) -> list[str]:
        """Logical ids of the template's functions."""
        return [
            name
            for name, r in self.model.template["Resources"].items()
            if r["Type"] == "AWS::Serverless::Function"
        ]

    def sys_path(self, function: str, task_dir: Path | None = None) -> list[str]:
        """Lambda's order: the task root, then the function's layers, then the runtime."""
        props = self.model.template["Resources"][function]["Properties"]
        layers = [
            self.layer_dir for ref in props.get("Layers", []) if ref == {"Ref": LAYER_PARAMETER}
        ]
        if len(layers) != len(props.get("Layers", [])):
            raise SandboxError(f"{function}: a layer the sandbox has no stand-in for")
        return [str(task_dir or self.task_dir), *map(str, layers), str(self.runtime_dir)]

    def environment(self, function: str) -> dict[str, str]:
        """The function's variables from the template, resolved, plus what Lambda sets."""
        props = self.model.template["Resources"][function]["Properties"]
        variables = self.model.resolve(props.get("Environment", {}).get("Variables", {}))
        name = self.model.physical_name(function)
        return {
            **{k: str(v) for k, v in variables.items()},
            "AWS_REGION": self.model.region,
            "AWS_DEFAULT_REGION": self.model.region,
            "AWS_ACCESS_KEY_ID": "sandbox",
            "AWS_SECRET_ACCESS_KEY": "sandbox",
            "AWS_SESSION_TOKEN": "sandbox",
            "AWS_LAMBDA_FUNCTION_NAME": name,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(props.get("MemorySize", 128)),
            "AWS_EXECUTION_ENV": f"AWS_Lambda_{props['Runtime']}",
            "LAMBDA_TASK_ROOT": str(self.task_dir),
            "TZ": ":UTC",
            "LANG": "en_US.UTF-8",
            "PATH": "/usr/local/bin:/usr/bin:/bin",
            # Only the endpoint differs from AWS: boto3 reads it like any other setting.
            "AWS_ENDPOINT_URL": self.endpoint,
            "SANDBOX_FUNCTION_ARN": self.model.get_att(function, "Arn"),
            "SANDBOX_TIMEOUT": str(props.get("Timeout", 3)),
        }

    def invoke(
        self,
        function: str,
        event: Any,
        work: Path,
        *,
        task_dir: Path | None = None,
        imports: list[str] | None = None,
    ) -> Outcome:
        """Run ``function``'s handler with ``event`` in a fresh isolated interpreter."""
        props = self.model.template["Resources"][function]["Properties"]
        work.mkdir(parents=True, exist_ok=True)
        spec_path = work / f"{function}-spec.json"
        outcome_path = work / f"{function}-outcome.json"
        outcome_path.unlink(missing_ok=True)
        env = self.environment(function)
        env["TMPDIR"] = env["HOME"] = str(work)
        spec = {
            "sys_path": self.sys_path(function, task_dir),
            "env": env,
            "handler": props["Handler"],
            "function_name": self.model.physical_name(function),
            "memory": props.get("MemorySize", 128),
            "event": event,
            "outcome_path": str(outcome_path),
            "imports": imports,
        }
        spec_path.write_text(json.dumps(spec))
        run = subprocess.run(
            [self.python, "-I", "-S", str(RUNNER), str(spec_path)],
            env={"PATH": env["PATH"]}, capture_output=True, text=True, timeout=600, check=False,
        )  # fmt: skip
        if not outcome_path.exists():
            raise SandboxError(f"{function}: the sandbox did not run:\n{run.stderr[-3000:]}")
        data = json.loads(outcome_path.read_text())
        return Outcome(function, data["result"], data["error"], data["calls"], run.stderr)

    def platform_calls(self, function: str, calls: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Calls made with the function's role that the handler does not make itself: logs,
        the Kinesis mapping's reads and failure destination, Athena's reads and writes."""
        props = self.model.template["Resources"][function]["Properties"]
        m = self.model
        group = (
            f"arn:aws:logs:{m.region}:{m.account}:log-group:/aws/lambda/{m.physical_name(function)}"
        )
        found = [
            {"service": "logs", "operation": op, "params": {"Resource": f"{group}:log-stream:s"}}
            for op in ("CreateLogStream", "PutLogEvents")
        ]
        for source in props.get("Events", {}).values():
            if source.get("Type") != "Kinesis":
                continue
            stream = m.resolve(source["Properties"]["Stream"])
            found += [
                {"service": "kinesis", "operation": op, "params": {"StreamARN": stream}}
                for op in ("DescribeStream", "DescribeStreamSummary", "GetShardIterator",
                           "GetRecords", "ListShards")
            ]  # fmt: skip
            dest = source["Properties"].get("DestinationConfig", {}).get("OnFailure", {})
            if dest:  # an S3 bucket: Lambda lists it and puts aws/lambda/<uuid>/<shard>/...
                bucket = m.resolve(dest["Destination"]).rsplit(":", 1)[-1]
                key = "aws/lambda/uuid/shardId-000000000000/2026/01/10/2026-01-10T00.00.00-x"
                found += [
                    {"service": "s3", "operation": "PutObject",
                     "params": {"Bucket": bucket, "Key": key}},
                    {"service": "s3", "operation": "ListObjectsV2", "params": {"Bucket": bucket}},
                ]  # fmt: skip
        env = self.environment(function)
        for call in calls:
            if (call["service"], call["operation"]) == ("athena", "StartQueryExecution"):
                found += self._athena_on_behalf(call["params"].get("WorkGroup", "primary"), env)
        return found

    def _athena_on_behalf(self, workgroup: str, env: dict[str, str]) -> list[dict[str, Any]]:
        """Athena reads the catalog and the lake and writes results with the caller's role."""
        from chalicelib.tables import TABLES

        output = ""
        for res in self.model.template["Resources"].values():
            if res["Type"] == "AWS::Athena::WorkGroup" and self.model.resolve(
                res["Properties"]["Name"]
            ) == workgroup:  # fmt: skip
                config = res["Properties"]["WorkGroupConfiguration"]["ResultConfiguration"]
                output = self.model.resolve(config["OutputLocation"])
        out_bucket, _, out_prefix = output.removeprefix("s3://").partition("/")
        db, lake = env["GAMEPIPE_GLUE_DATABASE"], env["GAMEPIPE_DATA_BUCKET"]
        calls = [
            {
                "service": "s3",
                "operation": op,
                "params": {"Bucket": out_bucket, "Key": f"{out_prefix}q.csv"},
            }
            for op in ("PutObject", "GetObject")
        ] + [{"service": "s3", "operation": "GetBucketLocation", "params": {"Bucket": out_bucket}}]
        for table in TABLES:
            calls += [
                {"service": "glue", "operation": op,
                 "params": {"DatabaseName": db, "TableName": table}}
                for op in ("GetTable", "GetPartitions")
            ]  # fmt: skip
            calls.append({"service": "s3", "operation": "GetObject", "params": {
                "Bucket": lake, "Key": f"tables/{table}/dt=2000-01-01/x.parquet"}})  # fmt: skip
        calls.append({"service": "s3", "operation": "ListObjectsV2", "params": {"Bucket": lake}})
        return calls

    def denied(self, outcome: Outcome) -> list[Denied]:
        """Calls of ``outcome`` (and the platform's on its behalf) its role does not allow."""
        statements = self.model.role_statements(outcome.function)
        calls = outcome.calls + self.platform_calls(outcome.function, outcome.calls)
        return check_calls(statements, calls, self.model.account, self.model.region)


def create_data_plane(model: StackModel, clients: Any) -> dict[str, str]:
    """Create the template's stream, buckets, Glue database, queues, workgroups and tables in
    the emulator under the names the stack would give them; return logical id -> name."""
    created: dict[str, str] = {}
    for logical, res in model.template["Resources"].items():
        kind, props = res["Type"], res.get("Properties", {})
        if kind == "AWS::Kinesis::Stream":
            name = model.physical_name(logical)
            clients("kinesis").create_stream(
                StreamName=name, ShardCount=int(model.resolve(props["ShardCount"]))
            )
            clients("kinesis").get_waiter("stream_exists").wait(
                StreamName=name, WaiterConfig={"Delay": 0.2, "MaxAttempts": 100}
            )
        elif kind == "AWS::S3::Bucket":
            clients("s3").create_bucket(Bucket=model.physical_name(logical))
        elif kind == "AWS::Glue::Database":
            clients("glue").create_database(DatabaseInput=model.resolve(props["DatabaseInput"]))
        elif kind == "AWS::SQS::Queue":
            clients("sqs").create_queue(QueueName=model.physical_name(logical))
        elif kind == "AWS::DynamoDB::Table":
            clients("dynamodb").create_table(
                TableName=model.physical_name(logical),
                AttributeDefinitions=props["AttributeDefinitions"],
                KeySchema=props["KeySchema"],
                BillingMode=props["BillingMode"],
            )
        elif kind == "AWS::Athena::WorkGroup":
            config = model.resolve(props["WorkGroupConfiguration"])
            config["BytesScannedCutoffPerQuery"] = int(config["BytesScannedCutoffPerQuery"])
            clients("athena").create_work_group(
                Name=model.physical_name(logical), Configuration=config
            )
        else:
            continue
        created[logical] = model.physical_name(logical)
    return created


def template_python(template: dict[str, Any]) -> str:
    """``3.11`` for functions on ``python3.11``."""
    for r in template["Resources"].values():
        if r["Type"] == "AWS::Serverless::Function":
            return str(r["Properties"]["Runtime"]).removeprefix("python")
    raise SandboxError("no function in the template")
