"""The demo on real LocalStack in host mode (no Docker), over real HTTP, against the oracle.

LocalStack runs from its own Python 3.13 venv (``localstack/.venv``, created on first use by
``localstack/run.sh install``, ~40-60 s, cached inside the checkout). Glue/Athena metadata
come from the moto sidecar. Select with ``-m localstack``.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.helpers_runtime import assert_all_stopped, gamepipe_cmd, oracle_answers

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.localstack


@pytest.fixture(scope="module")
def localstack_installed() -> None:
    """Install LocalStack's venv once (a no-op when cached)."""
    from gamepipe.stack import localstack

    localstack.ensure_installed()


def test_demo_localstack_answers_equal_oracle(
    localstack_installed: None, tmp_path: Path, e2e_env: dict[str, str]
) -> None:
    # GIVEN the seed's workload with some invalid events
    answers, truth, run_dir = tmp_path / "answers.json", tmp_path / "truth.ndjson", tmp_path / "run"
    # WHEN the demo runs with LocalStack for S3/Kinesis and moto for Glue/Athena
    proc = subprocess.run(
        gamepipe_cmd(
            "demo",
            "--target",
            "localstack",
            "--users",
            "100",
            "--events",
            "1000",
            "--seed",
            "5",
            "--bad-fraction",
            "0.03",
            "--answers-json",
            str(answers),
            "--truth",
            str(truth),
            "--run-dir",
            str(run_dir),
        ),
        cwd=ROOT,
        env=e2e_env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    # THEN it exits 0 and its endpoints were LocalStack's (S3, Kinesis) and moto's (Glue)
    assert proc.returncode == 0, proc.stderr[-3000:]
    demo = json.loads((run_dir / "demo.json").read_text())
    where = demo["locations"]
    assert where["AWS_ENDPOINT_URL_GLUE"] != where["AWS_ENDPOINT_URL"]
    assert ":000000000000:stream/" in where["stream"]  # LocalStack's default account
    # AND the answers equal the oracle's
    assert json.loads(answers.read_text()) == oracle_answers(truth)
    # AND LocalStack, moto and chalice local are stopped
    assert set(demo["pids"]) == {"moto", "localstack", "api"}
    assert_all_stopped(demo["pids"])
