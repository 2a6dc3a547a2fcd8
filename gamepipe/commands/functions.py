"""``gamepipe consume`` (the local Kinesis trigger) and ``gamepipe invoke`` (any function).

Both run the app's Lambda functions in this process (``gamepipe.runtime``), against the
running local stack when there is one.
"""

from __future__ import annotations

import json
import logging
import threading
from pathlib import Path
from typing import Any

import click

from gamepipe.commands.stack_env import attach_local_stack
from gamepipe.stack import state


def _prepare(stage: str) -> tuple[Any, dict[str, Any] | None]:
    """Attach to the running local stack (if any), then load the app with the stage's env."""
    import os

    from gamepipe.runtime.lambda_host import load_app

    stack = attach_local_stack()
    endpoint = os.environ.get("AWS_ENDPOINT_URL") or "AWS (no AWS_ENDPOINT_URL set)"
    click.echo(f"endpoint: {endpoint}", err=True)
    return load_app(stage=stage), stack


@click.command()
@click.option("--once", "mode", flag_value="once", default=True, help="Drain the stream and exit.")
@click.option("--follow", "mode", flag_value="follow", help="Keep polling until Ctrl-C.")
@click.option("--timeout", default=300.0, show_default=True, help="--once: give up after (s).")
@click.option("--stage", default="local", show_default=True, help="Chalice stage for the env.")
@click.option(
    "--function", "function_name", default=None, help="Kinesis function (default: the one)."
)
@click.option("--max-retries", default=3, show_default=True, help="Retries before dead-letter.")
@click.option("--batch-size", type=int, default=None, help="Override the decorator's batch size.")
@click.option("--batch-window", type=float, default=None, help="Override its batching window (s).")
@click.option("--schedules/--no-schedules", default=False, help="--follow: also run @app.schedule.")
@click.option(
    "--checkpoint-dir",
    type=click.Path(path_type=Path),
    default=None,
    help="Per-shard checkpoints (default: the local stack's, else .gamepipe/checkpoints).",
)
def consume(
    mode: str,
    timeout: float,
    stage: str,
    function_name: str | None,
    max_retries: int,
    batch_size: int | None,
    batch_window: float | None,
    schedules: bool,
    checkpoint_dir: Path | None,
) -> None:
    """Feed the Kinesis stream to the app's on_kinesis_record function, as Lambda would."""
    from chalicelib.settings import Settings
    from gamepipe.runtime.mapping import make_poller
    from gamepipe.runtime.schedule import run_schedules

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    app, stack = _prepare(stage)
    settings = Settings.from_env()
    # the stack's own trigger keeps its checkpoints there: resume where it stopped
    default_dir = (stack or {}).get("checkpoint_dir") or state.state_dir() / "checkpoints"
    poller = make_poller(
        app,
        settings,
        checkpoint_dir or Path(default_dir),
        function_name=function_name,
        max_retries=max_retries,
        batch_size=batch_size,
        batch_window=batch_window,
    )
    if mode == "once":
        stats = poller.drain(timeout=timeout)
        click.echo(json.dumps(stats.__dict__))
        return
    stop = threading.Event()
    if schedules:
        threading.Thread(
            target=run_schedules, args=(app, stop), kwargs={"region": settings.region}, daemon=True
        ).start()
    try:
        poller.follow(stop)
    except KeyboardInterrupt:
        stop.set()
    click.echo(json.dumps(poller.stats.__dict__))


@click.command()
@click.argument("name")
@click.option("--event", "event_json", default="{}", help="The event as JSON (or @file.json).")
@click.option("--stage", default="local", show_default=True)
def invoke(name: str, event_json: str, stage: str) -> None:
    """Invoke any of the app's Lambda functions in-process with an event; print the result."""
    from gamepipe.runtime.lambda_host import function_names, invoker

    if event_json.startswith("@"):
        event_json = Path(event_json[1:]).read_text()
    app, _ = _prepare(stage)
    if name not in function_names(app):
        raise click.BadParameter(f"{name!r}; functions: {', '.join(function_names(app))}")
    result = invoker(app, name)(json.loads(event_json))
    click.echo(json.dumps(result, indent=2, default=str))
