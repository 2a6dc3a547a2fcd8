"""Build the local event-source mappings from the app's own decorators (stream, batch, window)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from chalicelib import aws
from chalicelib.settings import Settings
from gamepipe.runtime.kinesis_poller import KinesisPoller
from gamepipe.runtime.lambda_host import invoker
from gamepipe.runtime.on_failure import s3_on_failure


def kinesis_sources(app: Any) -> list[Any]:
    """The app's ``on_kinesis_record`` configurations (chalice KinesisEventConfig objects)."""
    return [e for e in app.event_sources if type(e).__name__ == "KinesisEventConfig"]


def make_poller(
    app: Any,
    settings: Settings,
    checkpoint_dir: Path,
    *,
    function_name: str | None = None,
    max_retries: int = 3,
    batch_size: int | None = None,
    batch_window: float | None = None,
    kinesis: Any = None,
    s3: Any = None,
) -> KinesisPoller:
    """A poller for one Kinesis-triggered function, configured exactly as its decorator says."""
    sources = kinesis_sources(app)
    if function_name:
        sources = [s for s in sources if s.name == function_name]
    if not sources:
        raise LookupError(f"no on_kinesis_record function {function_name or ''} in the app")
    src = sources[0]
    s3 = s3 or aws.client("s3")
    poller = KinesisPoller(
        kinesis or aws.client("kinesis"),
        src.stream,
        invoker(app, src.name),
        checkpoint_path=checkpoint_dir / f"{src.name}.json",
        # overrides are for experiments and tests; the decorator is what gets deployed
        batch_size=batch_size or src.batch_size,
        batch_window=src.maximum_batching_window_in_seconds
        if batch_window is None
        else batch_window,
        starting_position=src.starting_position,
        max_retries=max_retries,
        function_name=src.name,
    )
    # the template's DestinationConfig.OnFailure: the data bucket (Lambda picks the keys)
    poller.on_failure = s3_on_failure(s3, settings.data_bucket, poller.esm_uuid)
    return poller
