"""``gamepipe stack up|down|status|env``: a long-running local stack other commands attach to."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Any

import click

from gamepipe.stack import procs, state
from gamepipe.stack.targets import TARGETS, Target


@click.group()
def stack() -> None:
    """Start/stop a local stack (emulator, API, consumer) that stays up between commands."""


@stack.command()
@click.option("--target", type=click.Choice(TARGETS), default="embedded", show_default=True)
@click.option("--shards", default=4, show_default=True)
@click.option("--stage", default="local", show_default=True)
@click.option("--api/--no-api", default=True, help="Also run chalice local on a free port.")
@click.option(
    "--consumer/--no-consumer", default=True, help="Also run `gamepipe consume --follow`."
)
def up(target: str, shards: int, stage: str, api: bool, consumer: bool) -> None:
    """Start the stack in the background and record it in .gamepipe/stack.json."""
    from chalicelib import aws
    from chalicelib.settings import Settings
    from gamepipe.runtime.lambda_host import stage_environment
    from gamepipe.stack.api import start_api
    from gamepipe.stack.resources import create_resources

    current = state.load()
    if state.running(current):
        raise click.ClickException("a stack is already up (gamepipe stack status / down)")
    run_dir = state.STATE_DIR / "stack"
    tgt = Target(name=target, state_dir=run_dir)
    info: dict[str, Any] = {"target": target, "stage": stage, "state_dir": str(run_dir)}
    try:
        env = tgt.start()
        os.environ.update(env)
        os.environ.update(stage_environment(stage=stage))
        aws.reset()
        created = create_resources(Settings.from_env(), shards=shards)
        info.update(resources=created)
        if api:
            api_proc, url = start_api(env, run_dir, stage=stage)
            tgt._own("api", api_proc, int(url.rsplit(":", 1)[1]))
            info["api_url"] = url
        if consumer:
            proc = procs.spawn(
                [sys.executable, "-m", "gamepipe.cli", "consume", "--follow", "--stage", stage],
                env={**os.environ, **env},
                log_path=run_dir / "logs" / "consumer.log",
            )
            tgt._own("consumer", proc, 0)
    except BaseException:
        tgt.stop()
        raise
    info.update(
        env=env,
        pids=dict(tgt.pids),
        order=list(tgt.pids),
        ports=dict(tgt.ports),
        started_at=time.time(),
    )
    state.save(info)
    click.echo(f"stack up ({target}); state in {state.STATE_FILE}")
    _print_status(info)


@stack.command()
def down() -> None:
    """Stop every process the stack started (by pid) and forget it."""
    info = state.load()
    if not info:
        click.echo("no stack state; nothing to stop")
        return
    # stop in reverse start order: consumer and API before the emulators they talk to
    pids = info.get("pids", {})
    for name in reversed(info.get("order") or list(pids)):
        pid = pids[name]
        if procs.alive(pid):
            procs.stop_pid(pid)
            click.echo(f"stopped {name} (pid {pid})")
    state.STATE_FILE.unlink(missing_ok=True)


@stack.command()
def status() -> None:
    """Show the stack's processes, ports and endpoints."""
    info = state.load()
    if not info:
        click.echo("no stack (gamepipe stack up)")
        sys.exit(1)
    _print_status(info)
    if not state.running(info):
        sys.exit(1)


@stack.command(name="env")
@click.option(
    "--target",
    type=click.Choice(["local", "aws"]),
    default="local",
    show_default=True,
    help="local: the running local stack; aws: a deployed stack's CloudFormation outputs.",
)
@click.option("--stage", default="dev", show_default=True, help="Deployed stage (--target aws).")
def env_cmd(target: str, stage: str) -> None:
    """Print `export` lines for a stack: eval "$(gamepipe stack env [--target aws])"."""
    if target == "aws":
        from gamepipe.stack.deploy import print_stack_env

        print_stack_env(stage)
        return
    info = state.load()
    if not info:
        raise click.ClickException("no stack (gamepipe stack up)")
    for key, value in sorted(info.get("env", {}).items()):
        click.echo(f"export {key}={value}")
    if info.get("api_url"):
        click.echo(f"export GAMEPIPE_API_URL={info['api_url']}")


def _print_status(info: dict[str, Any]) -> None:
    click.echo(f"target: {info.get('target')}  stage: {info.get('stage')}")
    for name, pid in info.get("pids", {}).items():
        port = info.get("ports", {}).get(name) or ""
        mark = "up" if procs.alive(pid) else "DOWN"
        click.echo(f"  {name:<10} pid {pid:<8} {('port ' + str(port)) if port else '':<11} {mark}")
    if info.get("api_url"):
        click.echo(f"  API: {info['api_url']}/v1/events")
    for key, value in sorted(info.get("env", {}).items()):
        if key.startswith("AWS_ENDPOINT_URL"):
            click.echo(f"  {key}={value}")
    click.echo(f"  logs: {Path(info.get('state_dir', '.')) / 'logs'}")


@stack.command()
@click.option("--stage", default="dev", show_default=True, help="Chalice stage to package.")
@click.option("--stack-name", default=None, help="CloudFormation stack (default gamepipe-STAGE).")
@click.option("--resources-only", is_flag=True, help="Only the data plane (works on LocalStack).")
@click.option(
    "--skip-type", multiple=True, help="Resource type to leave out, e.g. AWS::Glue::Database."
)
@click.option(
    "--artifacts-bucket",
    default=None,
    help="S3 bucket for deployment.zip (default: gamepipe-STAGE-artifacts-ACCOUNT-REGION).",
)
@click.option(
    "--dry-run", is_flag=True, help="Write the template to build/infrastructure and stop."
)
def deploy(
    stage: str,
    stack_name: str | None,
    resources_only: bool,
    skip_type: tuple[str, ...],
    artifacts_bucket: str | None,
    dry_run: bool,
) -> None:
    """Package with infrastructure/merge.json and deploy via CloudFormation (AWS or LocalStack)."""
    import json

    from chalicelib import aws
    from gamepipe.stack import deploy as dep

    out_dir = dep.ROOT / "build" / "package" / stage
    region = aws.session().region_name or "us-east-1"
    template = json.loads(dep.package(stage, out_dir, region).read_text())
    if resources_only:
        template = dep.resources_only(template, skip_type, roles=True)
    (out_dir / "template.json").write_text(json.dumps(template, indent=2))
    click.echo(f"template: {out_dir / 'template.json'}")
    if dry_run:
        return
    if not resources_only:
        bucket = artifacts_bucket or dep.artifacts_bucket(
            aws.client("s3"), aws.client("sts"), stage, region
        )
        dep.upload_code(template, out_dir, aws.client("s3"), bucket)
    outputs = dep.deploy_stack(
        aws.client("cloudformation"), stack_name or dep.stack_name(stage), template
    )
    for key, value in sorted(outputs.items()):
        click.echo(f"{key}: {value}")
