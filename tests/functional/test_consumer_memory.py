"""A 10,000-record batch (Lambda's maximum) stays under 512 MB RSS.

Measured in a fresh subprocess as its peak RSS (``VmHWM``: a memory bound, not a timing
assertion). Not ``getrusage``'s ru_maxrss: Linux carries the parent's high-water mark
across fork + exec, so under a big pytest process the child would report the parent's size.
The batch is built here and handed over as a file, as Lambda hands the handler its event:
building 50k synthetic events would otherwise set the child's high-water mark first.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.helpers_consumer import kinesis_event, synthetic_lines

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = """
import json, os, sys

def hwm_kb():
    with open("/proc/self/status") as fh:
        return next(int(l.split()[1]) for l in fh if l.startswith("VmHWM:"))
from moto import mock_aws
import boto3
from chalicelib.consumer import handle_kinesis_event
from chalicelib.glue_catalog import Catalog
from chalicelib.settings import Settings

with open(sys.argv[1]) as fh:
    event = json.load(fh)
settings = Settings()
with mock_aws():
    s3 = boto3.client("s3", region_name="us-east-1")
    s3.create_bucket(Bucket=settings.data_bucket)
    catalog = Catalog(boto3.client("glue", region_name="us-east-1"), settings)
    before = hwm_kb()
    out = handle_kinesis_event(event, settings, s3=s3, catalog=catalog)
    peak = hwm_kb()
print(json.dumps({"records": len(event["Records"]), "out": out, "before_kb": before,
                  "peak_kb": peak}))
"""


def test_ten_thousand_record_batch_peak_rss_under_512_mb(tmp_path: Path) -> None:
    # GIVEN a 10,000-record batch of 5 events each (50k events, ~16 MB of JSON)
    lines = synthetic_lines(50_000, users=20_000)
    records = [b"\n".join(lines[i : i + 5]) for i in range(0, len(lines), 5)]
    batch = tmp_path / "batch.json"
    batch.write_text(json.dumps(kinesis_event(records)))
    env = {**os.environ, "PYTHONPATH": str(ROOT), "AWS_DEFAULT_REGION": "us-east-1",
           "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}  # fmt: skip
    env = {k: v for k, v in env.items() if not k.startswith("AWS_ENDPOINT_URL")}
    # WHEN a fresh process consumes it (moto S3 + Glue in-process)
    proc = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(batch)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        timeout=240,
    )
    assert proc.returncode == 0, proc.stderr.decode()[-2000:]
    result = json.loads(proc.stdout.decode().strip().splitlines()[-1])
    # THEN it succeeded and the process never went above 512 MB resident
    assert result["records"] == 10_000
    assert result["out"] == {"batchItemFailures": []}
    assert result["peak_kb"] < 512 * 1024, result
