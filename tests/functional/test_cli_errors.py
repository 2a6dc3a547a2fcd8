"""Mistakes give one short message, the command that fixes it, exit code != 0, no traceback.

The real ``gamepipe`` group runs through click's CliRunner; what is missing is set up for
real: no AWS configuration at all (environment and HOME), a closed port, an empty moto.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from chalicelib import aws
from gamepipe.cli import main
from gamepipe.errors import UserError, explain
from gamepipe.stack.procs import free_port


@pytest.fixture(autouse=True)
def restored_environ() -> Iterator[None]:
    """Commands attach to stacks and load stage variables into os.environ: undo that after."""
    saved = dict(os.environ)
    aws.reset()
    yield
    os.environ.clear()
    os.environ.update(saved)
    aws.reset()


@pytest.fixture
def no_aws_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No AWS_* variable, no ~/.aws, no instance metadata: what a fresh machine has."""
    for name in [n for n in os.environ if n.startswith("AWS_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


def run(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


def assert_short_error(result: Result, *expected: str, exit_code: int = 1) -> None:
    """Exit code, no traceback, at most a few lines, and each expected phrase in them."""
    assert isinstance(result.exception, SystemExit), result.exception  # not an uncaught error
    assert result.exit_code == exit_code, result.output
    assert "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) <= 4, result.output
    for phrase in expected:
        assert phrase in result.output


def test_no_stack_and_no_region(no_aws_config: None) -> None:
    # GIVEN no local stack and no AWS configuration WHEN querying
    result = run("query", "q1")
    # THEN one message says so and names the command that starts a stack
    assert_short_error(result, "no AWS region", "gamepipe stack up")


def test_no_credentials(no_aws_config: None, monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN a region but no credentials anywhere
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    # WHEN querying THEN the message says what is missing and how to fix it
    assert_short_error(run("query", "q1"), "no AWS credentials", "gamepipe stack up")


@pytest.mark.parametrize(
    "args", [["query", "q1"], ["report"], ["compact"], ["consume", "--once"]], ids=" ".join
)
def test_endpoint_unreachable(
    args: list[str], no_aws_config: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN an emulator endpoint on a port where nothing listens
    closed = f"http://127.0.0.1:{free_port()}"
    monkeypatch.setenv("AWS_ENDPOINT_URL", closed)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")
    # WHEN a command talks to AWS THEN it names the endpoint and the variable it came from
    assert_short_error(run(*args), f"cannot reach {closed}", "AWS_ENDPOINT_URL")


def test_glue_database_missing(moto_aws: None) -> None:
    # GIVEN an account with nothing in it WHEN querying
    result = run("query", "q1")
    # THEN the missing database is named, with the command that creates it
    assert_short_error(result, "Glue: Database gamepipe_local not found", "gamepipe stack up")


def test_bucket_missing(moto_aws: None) -> None:
    # GIVEN no data bucket WHEN compacting
    result = run("compact")
    # THEN the missing bucket is named, with the command that creates it
    assert_short_error(result, "S3 bucket gamepipe-local-data does not exist", "gamepipe stack up")


def test_stream_missing(moto_aws: None) -> None:
    # GIVEN no stream WHEN running the trigger THEN the stream is named, with the fix
    result = run("consume", "--once")
    assert_short_error(result, "gamepipe-local-events", "gamepipe stack up")


@pytest.mark.parametrize(
    ("args", "option"),
    [
        (["report", "--date", "2024-13-01"], "--date"),
        (["query", "q1", "--as-of", "yesterday"], "--as-of"),
        (["compact", "--dt", "2024-02-30"], "--dt"),
    ],
    ids=lambda v: v if isinstance(v, str) else " ".join(v),
)
def test_bad_date(args: list[str], option: str, no_aws_config: None) -> None:
    # GIVEN a date that is not YYYY-MM-DD WHEN given THEN click's usage error (exit 2) names it
    assert_short_error(run(*args), f"Invalid value for '{option}'", exit_code=2)


def test_generate_without_target_or_stack(no_aws_config: None) -> None:
    # GIVEN no stack WHEN generating without --target THEN the fix is named
    result = run("generate", "--events", "1")
    assert_short_error(result, "gamepipe stack up", "--target", exit_code=2)


def test_explain_finds_a_known_error_in_the_chain_and_leaves_bugs_alone() -> None:
    from botocore.exceptions import NoRegionError

    # GIVEN a known mistake wrapped in another error, and a plain bug
    try:
        try:
            raise NoRegionError()
        except NoRegionError as exc:
            raise RuntimeError("while querying") from exc
    except RuntimeError as wrapped:
        chained = wrapped
    # THEN the known one is explained, the bug is not (it keeps its traceback)
    assert explain(chained) is not None and "no AWS region" in str(explain(chained))
    assert explain(KeyError("bug")) is None
    assert explain(UserError("fix it like so")) == "fix it like so"


def test_stack_up_starts_local_stacks_only() -> None:
    # GIVEN --target aws THEN refused before anything starts: a local consumer must not
    # compete with the deployed one on its stream (commands find a deployed stack by stage)
    result = run("stack", "up", "--target", "aws")
    assert_short_error(result, "'aws' is not one of 'embedded', 'localstack'", exit_code=2)
