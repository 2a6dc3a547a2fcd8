"""``gamepipe stack up|down|status|env|deploy``: a long-running local stack other commands
attach to, and the CloudFormation deploy."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from gamepipe.stack import procs, state
from gamepipe.stack.targets import TARGETS


@click.group()
def stack() -> None:
    """Start/stop a local stack (emulator, API, consumer) that stays up between commands."""


@stack.command()
@click.option(
    "--target",
    # A deployed stack is not started here: commands find it with --target aws --stage S.
    type=click.Choice([t for t in TARGETS if t != "aws"]),
    default="embedded",
    show_default=True,
)
@click.option("--shards", default=4, show_default=True)
@click.option("--stage", default="local", show_default=True)
@click.option("--api/--no-api", default=True, help="Also run chalice local on a free port.")
@click.option(
    "--consumer/--no-consumer", default=True, help="Also run `gamepipe consume --follow`."
)
def up(target: str, shards: int, stage: str, api: bool, consumer: bool) -> None:
    """Start the stack in the background and record it in .gamepipe/stack.json."""
    from gamepipe.stack.launch import launch

    if state.running(state.load()):
        raise click.ClickException("a stack is already up (gamepipe stack status / down)")
    stack = launch(target, state.state_dir() / "stack", stage=stage, shards=shards, api=api)
    try:
        if consumer:
            stack.spawn_consumer(state.state_dir() / "checkpoints")
        stack.save()
    except BaseException:
        stack.stop()
        raise
    click.echo(f"stack up ({target}); state in {state.state_file()}")
    click.echo("gamepipe query/report/compact/consume/invoke/generate now use it")
    _print_status(stack.record())


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
    state.state_file().unlink(missing_ok=True)


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
    """Print `export` lines for a stack (for other tools; gamepipe finds a local stack itself)."""
    if target == "aws":
        import shlex

        from gamepipe.stack.deploy import deployed_env

        for key, value in sorted(deployed_env(stage).items()):
            click.echo(f"export {key}={shlex.quote(value)}")
        return
    info = state.load()
    if not info:
        raise click.ClickException("no stack (gamepipe stack up)")
    for key, value in sorted(info.get("env", {}).items()):
        click.echo(f"export {key}={shlex.quote(value)}")
    if info.get("api_url"):
        click.echo(f"export GAMEPIPE_API_URL={shlex.quote(info['api_url'])}")


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
    """Package with the stage's generated merge template; deploy it (AWS or LocalStack)."""
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
