"""The demo on real LocalStack in host mode (no Docker), over real HTTP, against the oracle.

LocalStack runs from its own Python 3.13 venv (``localstack/.venv``, created on first use by
``localstack/run.sh install``, ~40-60 s, cached inside the checkout). Glue/Athena metadata
come from the moto sidecar. Select with ``-m localstack``.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers_runtime import assert_all_stopped, oracle_answers, run_demo

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.localstack


def test_demo_localstack_answers_equal_oracle(
    localstack_installed: None, tmp_path: Path, e2e_env: dict[str, str]
) -> None:
    # GIVEN the seed's workload with some invalid events
    # WHEN the demo runs with LocalStack for S3/Kinesis and moto for Glue/Athena
    proc, demo, truth = run_demo(tmp_path, e2e_env, target="localstack", seed=5, timeout=600)
    # THEN it exits 0 and its endpoints were LocalStack's (S3, Kinesis) and moto's (Glue)
    assert proc.returncode == 0, proc.stderr[-3000:]
    where = demo["locations"]
    assert where["AWS_ENDPOINT_URL_GLUE"] != where["AWS_ENDPOINT_URL"]
    assert ":000000000000:stream/" in where["stream"]  # LocalStack's default account
    # AND the answers equal the oracle's
    assert json.loads((tmp_path / "answers.json").read_text()) == oracle_answers(truth)
    # AND LocalStack, moto and chalice local are stopped
    assert set(demo["pids"]) == {"moto", "localstack", "api"}
    assert_all_stopped(demo["pids"])


def test_run_script_starts_inits_and_stops_localstack(
    localstack_installed: None, e2e_env: dict[str, str]
) -> None:
    # GIVEN a free port and a check that runs with the script's env
    from gamepipe.stack.procs import free_port

    port = free_port()
    check = (
        "import boto3, os\n"
        "k = boto3.client('kinesis')\n"
        "s = k.describe_stream_summary(StreamName='gamepipe-local-events')"
        "['StreamDescriptionSummary']\n"
        "b = sorted(x['Name'] for x in boto3.client('s3').list_buckets()['Buckets'])\n"
        "print(s['OpenShardCount'], ','.join(b), os.environ['AWS_ENDPOINT_URL'])\n"
    )
    # WHEN localstack/run.sh starts LocalStack, runs its init hook, then the check
    proc = subprocess.run(
        [
            "bash",
            str(ROOT / "localstack" / "run.sh"),
            "run",
            str(port),
            "--",
            sys.executable,
            "-c",
            check,
        ],
        cwd=ROOT,
        env=e2e_env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    # THEN the hook made the 4-shard stream and both buckets on that LocalStack
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert f"4 gamepipe-local-data,gamepipe-local-reports http://127.0.0.1:{port}" in proc.stdout
    # AND LocalStack was stopped when the script ended (its port is free again)
    with socket.socket() as s:
        assert s.connect_ex(("127.0.0.1", port)) != 0


def test_cloudformation_deploys_the_data_plane_and_roles_to_localstack(
    localstack_installed: None, e2e_env: dict[str, str]
) -> None:
    # GIVEN a fresh LocalStack without the init hook (CloudFormation makes the resources)
    from gamepipe.stack.procs import free_port

    port = free_port()
    check = (
        "import boto3\n"
        "s = boto3.client('kinesis').describe_stream_summary(StreamName='gamepipe-dev-events')\n"
        "print('shards', s['StreamDescriptionSummary']['OpenShardCount'])\n"
        "r = boto3.client('cloudformation').describe_stack_resources(StackName='gamepipe-dev')\n"
        "print('created', ','.join(sorted(x['LogicalResourceId'] for x in r['StackResources'])))\n"
    )
    # (LocalStack without Docker has no Lambda, no Glue or Athena in its free tier, and no
    # DynamoDB offline: it downloads Java 21 and DynamoDB Local on first use)
    script = (
        "infrastructure/deploy.sh --stage dev --resources-only"
        " --skip-type AWS::Glue::Database --skip-type AWS::Athena::WorkGroup"
        " --skip-type AWS::DynamoDB::Table"
        f' && {sys.executable} -c "{check}"'
    )
    # WHEN infrastructure/deploy.sh deploys what LocalStack can run of the dev template
    proc = subprocess.run(
        ["bash", str(ROOT / "localstack" / "run.sh"), "run", str(port), "--", "bash", "-c", script],
        cwd=ROOT,
        env={**e2e_env, "SKIP_INIT": "1"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    # THEN the stack's outputs are the stage-scoped names, the stream has the template's 4
    # shards, and the data plane and the roles of the functions not tied to Athena exist
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "StreamArn: arn:aws:kinesis:us-east-1:000000000000:stream/gamepipe-dev-events" in (
        proc.stdout
    )
    assert "DataBucketName: gamepipe-dev-data-000000000000-us-east-1" in proc.stdout
    assert "shards 4" in proc.stdout
    assert (
        "created APIHandlerRole,CompactLakeRole,ConsumeEventsRole,DataBucket,"
        "EventsStream,LogsBucket,ReportsBucket"
    ) in proc.stdout


def test_init_hook_defaults_are_the_local_stage_names() -> None:
    from chalicelib.names import resource_names

    hook = (ROOT / "localstack/init/ready.d/10_gamepipe_resources.py").read_text()
    local = resource_names("local")
    names = (local.stream, local.data_bucket, local.reports_bucket, local.glue_database,
             local.applications_table)  # fmt: skip
    for name in names:
        assert f'"{name}"' in hook
