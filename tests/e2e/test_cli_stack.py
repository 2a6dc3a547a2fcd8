"""The CLI finds its stack: after `gamepipe stack up`, every command works with nothing exported;
without a stack or any AWS configuration, a command fails in a few lines without a traceback.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from tests.helpers_runtime import assert_all_stopped, gamepipe_cmd, oracle_answers

ROOT = Path(__file__).resolve().parents[2]


def bare_env(e2e_env: dict[str, str], home: Path) -> dict[str, str]:
    """The test's env without any AWS_* variable or AWS config file: nothing exported."""
    env = {k: v for k, v in e2e_env.items() if not k.startswith("AWS_")}
    return {**env, "HOME": str(home), "AWS_EC2_METADATA_DISABLED": "true"}


def gamepipe(
    env: dict[str, str], *args: str, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        gamepipe_cmd(*args), cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout
    )


def test_no_stack_no_aws_config_is_one_short_error(tmp_path: Path, e2e_env: dict[str, str]) -> None:
    # GIVEN no stack and no AWS configuration WHEN querying
    proc = gamepipe(bare_env(e2e_env, tmp_path), "query", "q1")
    # THEN a few lines, no traceback, exit code != 0, naming the command that fixes it
    output = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert "Traceback" not in output and len(output.strip().splitlines()) <= 3, output
    assert "gamepipe stack up" in output


def test_commands_use_the_running_stack_with_nothing_exported(
    tmp_path: Path, e2e_env: dict[str, str]
) -> None:
    # GIVEN a stack started with nothing exported (no consumer: `consume --once` drains below)
    env = bare_env(e2e_env, tmp_path)
    up = gamepipe(env, "stack", "up", "--no-consumer")
    assert up.returncode == 0, up.stderr[-3000:]
    state = json.loads((Path(env["GAMEPIPE_STATE_DIR"]) / "stack.json").read_text())
    try:
        # WHEN events are sent to the stack's API (no --target), the stream is drained,
        # and the question and the reports are asked for, each with nothing exported
        truth = tmp_path / "truth.ndjson"
        steps = [
            ("generate", "--events", "300", "--seed", "3", "--truth", str(truth), "--quiet"),
            ("consume", "--once", "--timeout", "120"),
            ("query", "q7", "--format", "json"),
            ("report", "--out", str(tmp_path / "reports")),
            ("apps", "list", "--format", "json"),
        ]
        done = {}
        for args in steps:
            done[args[0]] = proc = gamepipe(env, *args)
            assert proc.returncode == 0, f"{args}: {proc.stderr[-3000:]}"
        # THEN the query answered from the stack's lake: the oracle's answer
        rows = json.loads(done["query"].stdout)
        assert rows == [{"players_attacked": oracle_answers(truth)["q7"]}]
        # AND the commands said which stack they used, and the report was published there
        assert "using the local stack (embedded)" in done["query"].stderr
        assert "published s3://" in done["report"].stdout
        # AND the stack's application (whose key `generate` used unasked) is listed
        (app,) = json.loads(done["apps"].stdout)
        assert app["application_id"] == state["application_id"] and app["status"] == "active"
    finally:
        gamepipe(env, "stack", "down")
    assert_all_stopped(state["pids"])
