"""Run one Lambda handler the way the Lambda Python runtime would; started by sandbox.py.

Run as ``python -I -S sandbox_runner.py SPEC.json``: no site-packages, no PYTHONPATH, no user
site, and not this file's directory either, so the only importable code is what the spec's
``sys_path`` lists (the unzipped package, the function's layers, the runtime's boto3). This
file therefore imports nothing but the standard library before it sets ``sys.path``.

Every AWS call the handler makes is recorded (service, operation, the parameters that name
resources) through a botocore event hook, for the IAM check.
"""

import json
import os
import sys
import time
import traceback
import uuid

# Parameters that name the resource a call acts on (the rest is data).
RESOURCE_PARAMS = (
    "Bucket", "Key", "Prefix", "StreamName", "StreamARN", "DatabaseName", "Name", "TableName",
    "WorkGroup", "QueryExecutionId", "QueueUrl", "CatalogId",
)  # fmt: skip


class Context:
    """The parts of Lambda's context object handlers use."""

    def __init__(self, name, memory):
        self.function_name = name
        self.function_version = "$LATEST"
        self.memory_limit_in_mb = memory
        self.aws_request_id = str(uuid.uuid4())
        self.invoked_function_arn = os.environ.get("SANDBOX_FUNCTION_ARN", "")
        self.log_group_name = f"/aws/lambda/{name}"
        self.log_stream_name = "sandbox"
        self._deadline = time.monotonic() + float(os.environ.get("SANDBOX_TIMEOUT", "300"))

    def get_remaining_time_in_millis(self):
        """Milliseconds left before the function's timeout."""
        return int(max(0.0, self._deadline - time.monotonic()) * 1000)


def install_recorder(calls):
    """Record every botocore call made from any session created after this."""
    import botocore.session

    query_workgroups = {}

    def before(params, model, **_):
        entry = {
            "service": model.service_model.signing_name,
            "operation": model.name,
            "params": {k: params[k] for k in RESOURCE_PARAMS if isinstance(params.get(k), str)},
        }
        for nested in ("DatabaseInput", "TableInput"):
            if isinstance(params.get(nested), dict) and "Name" in params[nested]:
                entry["params"][f"{nested}.Name"] = params[nested]["Name"]
        if model.name == "DeleteObjects":
            entry["params"]["Keys"] = [
                o["Key"] for o in params.get("Delete", {}).get("Objects", [])
            ]
        qid = params.get("QueryExecutionId")
        if qid in query_workgroups and "WorkGroup" not in entry["params"]:
            entry["params"]["WorkGroup"] = query_workgroups[qid]
        calls.append(entry)

    def after(parsed, model, **_):
        # Athena's later calls name only the query id; remember its workgroup.
        if model.name == "StartQueryExecution" and calls:
            query_workgroups[parsed.get("QueryExecutionId")] = calls[-1]["params"].get(
                "WorkGroup", "primary"
            )

    original_init = botocore.session.Session.__init__

    def init(self, *args, **kwargs):
        original_init(self, *args, **kwargs)
        self.register("provide-client-params", before)
        self.register("after-call.athena.StartQueryExecution", after)

    botocore.session.Session.__init__ = init


def main():
    """Load the spec, set sys.path and the environment, call the handler, write the outcome."""
    with open(sys.argv[1]) as f:
        spec = json.load(f)
    sys.path[:0] = spec["sys_path"]
    os.environ.clear()
    os.environ.update(spec["env"])
    os.chdir(spec["sys_path"][0])  # Lambda's working directory is the package (/var/task)
    outcome = {"calls": [], "result": None, "error": None}
    try:
        install_recorder(outcome["calls"])
        module_name, _, attr = spec["handler"].rpartition(".")
        if spec.get("imports"):
            outcome["result"] = import_all(spec["imports"])
        else:
            module = __import__(module_name, fromlist=[attr])
            handler = getattr(module, attr)
            context = Context(spec["function_name"], spec.get("memory", 128))
            outcome["result"] = handler(spec["event"], context)
    except BaseException as exc:  # the harness reports it; Lambda would log it
        outcome["error"] = {
            "type": type(exc).__name__,
            "message": str(exc),
            "traceback": traceback.format_exc(),
        }
    with open(spec["outcome_path"], "w") as f:
        json.dump(outcome, f, default=str)
    sys.exit(1 if outcome["error"] else 0)


def import_all(modules):
    """Import each module; the error of each that fails."""
    failures = {}
    for name in modules:
        try:
            __import__(name)
        except Exception as exc:
            failures[name] = f"{type(exc).__name__}: {exc}"
    return failures


if __name__ == "__main__":
    main()
